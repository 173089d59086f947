"""Messages that can be shown in the reader's language, without the use cases knowing any reader.

A use case says ``raise Invalid(_("Unknown pack: %(slug)s", slug=slug))``. ``_`` marks the text
for the catalog (``pybabel extract`` looks for ``_``) and returns a ``Message``: a plain English
``str`` (so logs, tests and API clients that ask for nothing see English), which also remembers its
template and values. The adapter that shows it (a JSON error, a page, a Socket.IO refusal) looks the
template up in the reader's language with ``translate``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

LANGUAGES = {"en": "English", "de": "Deutsch"}  # code -> the language's own name, for the switch
DEFAULT_LANGUAGE = "en"


class Message(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: dict[str, Any] | None = None) -> Message:
        params = params or {}
        message = super().__new__(cls, template % params if params else template)
        message.template, message.params = template, params
        return message


def _(template: str, **params: Any) -> Message:
    """Mark ``template`` for translation; ``%(name)s`` places are filled from ``params``."""
    return Message(template, params)


def translate(message: Any, gettext: Callable[[str], str]) -> str:
    """``message`` in the language ``gettext`` looks up; values that are messages themselves
    (a field's label) are translated too. Anything else is shown as it is."""
    if not isinstance(message, Message):
        return str(message)
    text = gettext(message.template)
    if not message.params:
        return text
    try:
        return text % {key: translate(value, gettext) for key, value in message.params.items()}
    except (KeyError, ValueError, TypeError):  # a translation with broken placeholders: English
        return str(message)
