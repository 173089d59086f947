"""Shared pieces of the typed request/response models."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import unicodedata

from pydantic import (BaseModel, BeforeValidator, ConfigDict, PlainSerializer, StringConstraints,
                      WithJsonSchema)
from pydantic_core import PydanticCustomError


def _iso_utc(value: datetime) -> str:
    return value.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

GameCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                            max_length=12)]


def invalid(message: str) -> PydanticCustomError:
    """A validation failure whose message is shown to the user as it is."""
    return PydanticCustomError("custom_invalid", message)


def Text(label: str, max_length: int):
    """A trimmed, required single-line string, with messages that name the field."""
    def clean(value):
        if not isinstance(value, str):
            raise invalid(f"{label} must be a string")
        value = value.strip()
        if not value:
            raise invalid(f"{label} is required")
        if len(value) > max_length:
            raise invalid(f"{label} must be at most {max_length} characters")
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise invalid(f"{label} must be a single line of text")
        return value
    return Annotated[str, BeforeValidator(clean),
                     WithJsonSchema({"type": "string", "minLength": 1, "maxLength": max_length})]


class Request(BaseModel):
    """Base of request models: unknown fields are refused, strings are not coerced from numbers."""
    model_config = ConfigDict(extra="forbid", strict=False)


class NoInput(Request):
    pass


class GameRef(Request):
    code: GameCode


class Errors(BaseModel):
    errors: list[str]
