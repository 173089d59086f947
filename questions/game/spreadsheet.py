"""CSV cells that spreadsheets open safely, and back.

A cell starting with ``=``, ``+``, ``-`` or ``@`` is run as a formula by Excel and LibreOffice
(``=HYPERLINK(...)`` in a player's name or a question): on the way out such a cell gets a leading
apostrophe, which spreadsheets show as plain text; on the way in that apostrophe is dropped again,
so an exported file imports as the same text."""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_unescape(text: str) -> str:
    """The inverse of ``csv_safe`` for a cell it wrote."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_STARTS else text
