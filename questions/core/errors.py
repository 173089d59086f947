"""Failures a use case can report. Every adapter turns them into its own form
(JSON ``{"errors": [...]}``, a message on the page, a Socket.IO refusal)."""
from sqlalchemy import exc as sa_exc

from .i18n import Message, _


class ServiceError(Exception):
    status = 400

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = list(messages)


class Invalid(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    """More than a limit allows (an imported file's size or rows)."""
    status = 413


class Unprocessable(ServiceError):
    status = 422


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, *messages: str, retry_after: int | None = None):
        super().__init__(*messages)
        self.retry_after = retry_after  # seconds; sent as the Retry-After header


class Unavailable(ServiceError):
    """The database (or another service the answer needs) cannot be reached right now."""
    status = 503

    def __init__(self, *messages: str, retry_after: int | None = 2):
        super().__init__(*messages)
        self.retry_after = retry_after


DATABASE_UNAVAILABLE = _("The database is not answering right now; try again in a moment.")


def is_database_outage(exc: BaseException) -> bool:
    """The database could not be reached or did not answer in time (503), as opposed to a bug
    in a query (500). Deadlocks and lock or statement timeouts are OperationalErrors too: all
    say "try again", none says "your request is wrong"."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                        sa_exc.DisconnectionError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def as_service_error(exc: BaseException) -> ServiceError | None:
    """The explicit error a failure means to the caller, if it is one we can name."""
    if isinstance(exc, ServiceError):
        return exc
    if is_database_outage(exc):
        return Unavailable(DATABASE_UNAVAILABLE)
    return None


def validation_messages(exc) -> list[str]:
    """Readable messages from a pydantic ``ValidationError``: 'Body is required', not 'Field required'."""
    messages: list[str] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        field = loc[-1] if loc else ""
        # a translatable label: the catalog holds those of the request fields (game/schema.py)
        label = Message(field.replace("_", " ").capitalize()) if field else _("Request")
        kind = error.get("type", "")
        ctx = error.get("ctx") or {}
        if kind == "missing":
            message = _("%(label)s is required", label=label)
        elif kind.startswith("custom_") or kind == "value_error" and not field:
            message = ctx.get("message") or error["msg"]  # our own Message, kept by ``invalid``
        elif kind in ("string_type", "string_sub_type"):
            message = _("%(label)s must be a string", label=label)
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = _("%(label)s must be an integer", label=label)
        elif kind in ("list_type",):
            message = _("%(label)s must be a list", label=label)
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            message = _("%(label)s must be an object", label=label)
        elif kind == "extra_forbidden":
            message = _("Unknown field: %(field)s", field=field)
        elif kind == "string_too_long":
            message = _("%(label)s must be at most %(count)s characters", label=label,
                        count=ctx["max_length"])
        elif kind == "too_long":
            message = _("%(label)s must have at most %(count)s items", label=label, count=ctx["max_length"])
        elif kind == "too_short":
            message = _("%(label)s must have at least %(count)s items", label=label,
                        count=ctx["min_length"])
        elif kind == "greater_than_equal":  # a number below its range (a timer of 5 seconds)
            message = _("%(label)s must be at least %(limit)s", label=label, limit=ctx["ge"])
        elif kind == "less_than_equal":
            message = _("%(label)s must be at most %(limit)s", label=label, limit=ctx["le"])
        else:  # pydantic's own words (English only), after the field's name
            message = _("%(label)s: %(reason)s", label=label, reason=error["msg"]) if field else error["msg"]
        if message not in messages:
            messages.append(message)
    return messages
