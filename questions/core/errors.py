"""Failures a use case can report. Every adapter turns them into its own form
(JSON ``{"errors": [...]}``, a message on the page, a Socket.IO refusal)."""
from sqlalchemy import exc as sa_exc


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


DATABASE_UNAVAILABLE = "The database is not answering right now; try again in a moment."


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
    messages = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        field = loc[-1] if loc else ""
        label = field.replace("_", " ").capitalize() if field else "Request"
        kind = error.get("type", "")
        if kind == "missing":
            message = f"{label} is required"
        elif kind.startswith("custom_") or kind == "value_error" and not field:
            message = error["msg"]
        elif kind in ("string_type", "string_sub_type"):
            message = f"{label} must be a string"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"{label} must be an integer"
        elif kind in ("list_type",):
            message = f"{label} must be a list"
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            message = f"{label} must be an object"
        elif kind == "extra_forbidden":
            message = f"Unknown field: {field}"
        elif kind == "string_too_long":
            message = f"{label} must be at most {error['ctx']['max_length']} characters"
        elif kind == "too_long":
            message = f"{label} must have at most {error['ctx']['max_length']} items"
        elif kind == "too_short":
            message = f"{label} must have at least {error['ctx']['min_length']} items"
        else:
            message = f"{label}: {error['msg']}" if field else error["msg"]
        if message not in messages:
            messages.append(message)
    return messages
