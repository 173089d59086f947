"""Shared pieces of the typed request/response models."""
from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from .i18n import Message, _


def iso_utc(value: datetime) -> str:
    """Stored timestamps are naive UTC (see ``context.utcnow``): ISO 8601 with a ``Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat() + "Z"


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# Not length-checked here: a code that cannot exist is simply not found (404, see access.find_game),
# as the route table documents for every route with a ``{code}`` in its path.
GameCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]


def invalid(message: str) -> PydanticCustomError:
    """A validation failure whose message is shown to the user as it is."""
    # the message itself rides in the context: pydantic's "msg" would be a plain copy of it
    return PydanticCustomError("custom_invalid", "{message}", {"message": message})


# Control characters and line/paragraph separators make text span lines (or hide in it);
# lone surrogates (JSON "\\ud800") are not text at all and no database can store them.
NOT_ONE_LINE = ("Cc", "Zl", "Zp", "Cs")
# ``one_line``'s rule as a JSON Schema pattern, exactly: optional surrounding whitespace (what
# ``str.strip`` removes), then 1..max characters that start and end visibly and hold no
# control character or line break. ``maxLength`` would count the whitespace that is trimmed.
_SPACE = r"[\t\n\u000b\u000c\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_LINE_CHAR = r"[^\u0000-\u001f\u007f-\u009f\u2028\u2029]"
_VISIBLE_CHAR = r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def text_pattern(max_length: int) -> str:
    return (f"^{_SPACE}*{_VISIBLE_CHAR}(?:{_LINE_CHAR}{{0,{max_length - 2}}}{_VISIBLE_CHAR})?"
            f"{_SPACE}*$")


def one_line(label: str, max_length: int, required: bool = True) -> tuple[BeforeValidator, WithJsonSchema]:
    """Rules for a trimmed single-line string, with messages that name the field; when not
    ``required`` it may be empty. ``Annotated[str, *one_line("Name", 24)]``: a type checker
    sees a plain ``str``."""
    label = label if isinstance(label, Message) else Message(label)  # shown translated

    def clean(value):
        if not isinstance(value, str):
            raise invalid(_("%(label)s must be a string", label=label))
        value = value.strip()
        if not value and required:
            raise invalid(_("%(label)s is required", label=label))
        if len(value) > max_length:
            raise invalid(_("%(label)s must be at most %(count)s characters", label=label,
                            count=max_length))
        # printable excludes every category refused (and more): most values skip the walk
        if not value.isprintable() and any(unicodedata.category(ch) in NOT_ONE_LINE for ch in value):
            raise invalid(_("%(label)s must be a single line of text", label=label))
        return value
    pattern = text_pattern(max_length) if required else f"^{_SPACE}*$|{text_pattern(max_length)}"
    return BeforeValidator(clean), WithJsonSchema({
        "type": "string", "pattern": pattern,
        "description": f"One line of text, trimmed; {1 if required else 0} to {max_length} "
                       "characters once trimmed"})


class Request(BaseModel):
    """Base of request models: unknown fields are refused, strings are not coerced from numbers."""
    model_config = ConfigDict(extra="forbid", strict=False)


class NoInput(Request):
    pass


class GameRef(Request):
    code: GameCode


class Errors(BaseModel):
    errors: list[str]


class Download(BaseModel):
    """A file a use case produces; the web adapter sends it as an attachment of this type."""
    filename: str
    media_type: str
    content: str
