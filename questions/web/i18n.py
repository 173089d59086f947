"""The reader's language (Flask-Babel): which one, the switch that remembers it, and the strings
the pages' scripts show.

Pages follow the language chosen with the switch (a cookie, kept a year), else the browser's
``Accept-Language``, else English. The projector remembers its own choice (``/screen/...`` pages
read a cookie of their own), so a laptop can show the host page in one language and the projector
in another, and every phone has its own. The JSON API ignores the cookie: its messages stay English
(stable for API clients) unless the request's ``Accept-Language`` asks for another language."""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from babel.messages.extract import extract
from flask import Blueprint, Flask, abort, redirect, request
from flask_babel import Babel, get_locale, gettext

from ..config import PROJECT_ROOT
from ..core.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

TRANSLATIONS = PROJECT_ROOT / "translations"
SCRIPTS = PROJECT_ROOT / "static" / "js"
COOKIE, SCREEN_COOKIE = "lang", "lang-screen"
COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("language", __name__)


def cookie_name(path: str) -> str:
    return SCREEN_COOKIE if path.startswith("/screen/") else COOKIE


def select_language() -> str:
    browser = request.accept_languages.best_match(list(LANGUAGES))
    if not request.path.startswith("/api/"):
        chosen = request.cookies.get(cookie_name(request.path))
        if chosen in LANGUAGES:
            return chosen
    return browser or DEFAULT_LANGUAGE


def t(message: Any) -> str:
    """A use case's message (see core.i18n) in the reader's language."""
    return translate(message, gettext)


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def here() -> str:
    """Where the switch comes back to: this page, or for a form's answer the page it was sent
    from (its address only takes POST)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return "/"


def language_links() -> list[dict]:
    back = here()
    current = current_language()
    return [{"code": code, "name": name, "current": code == current,
             "url": f"/language/{code}?next={_quote(back)}"} for code, name in LANGUAGES.items()]


def _quote(path: str) -> str:
    return quote(path, safe="/")


@lru_cache(maxsize=1)
def script_messages() -> tuple[str, ...]:
    """Every text the scripts in static/js pass to ``_()``, read from their source once."""
    found: dict[str, None] = {}
    for path in sorted(SCRIPTS.glob("*.js")):
        with open(path, "rb") as source:
            for _line, message, _comments, _context in extract("javascript", source):
                if isinstance(message, str):
                    found[message] = None
    return tuple(found)


def script_strings() -> dict[str, str]:
    """The scripts' texts in the reader's language, for the page to hand them (JSON in the page)."""
    return {message: gettext(message) for message in script_messages()}


@bp.get("/language/<code>")
def switch(code: str):
    """Choose the language of this kind of page (the projector's, or every other) and go back."""
    if code not in LANGUAGES:
        abort(404)
    back = request.args.get("next", "/")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"  # only a page of this site: never an open redirect
    response = redirect(back, code=303)
    response.set_cookie(cookie_name(urlsplit(back).path), code, max_age=COOKIE_MAX_AGE,
                        samesite="Lax", httponly=True, secure=request.is_secure)
    return response


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_language, default_locale=DEFAULT_LANGUAGE)
    app.jinja_env.globals.update(t=t, current_language=current_language,
                                 language_links=language_links, script_strings=script_strings)
    app.register_blueprint(bp)
