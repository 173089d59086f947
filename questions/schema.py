"""Shared pieces of the typed request/response models."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, StringConstraints, WithJsonSchema


def _iso_utc(value: datetime) -> str:
    return value.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

GameCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1,
                                            max_length=12)]


class Request(BaseModel):
    """Base of request models: unknown fields are refused, strings are not coerced from numbers."""
    model_config = ConfigDict(extra="forbid", strict=False)


class NoInput(Request):
    pass


class GameRef(Request):
    code: GameCode


class Errors(BaseModel):
    errors: list[str]
