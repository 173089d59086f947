"""Hosts on several devices, as pages: the host page makes a co-host link (shown, with its QR
code, in this host's own session until the other hosts are signed out); opening the link in any
browser makes it a host, then redirects to the host page, so the key leaves the address bar."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_babel import gettext

from ..core.errors import ServiceError
from ..game import hosts
from ..runtime import context, runtime
from .i18n import t
from .session_tokens import remember_token, token_for

bp = Blueprint("hostkeys", __name__)


def cohost_link(code: str) -> str | None:
    """The co-host link this browser made for ``code``, while it is still shown."""
    return session.get("cohost", {}).get(code.strip().upper())


def _show(code: str, url: str | None) -> None:
    links = dict(session.get("cohost", {}))
    if url is None:
        links.pop(code, None)
    else:
        links[code] = url
    session["cohost"] = links


@bp.route("/host/<code>/cohost")
def redeem(code: str):
    code, key = code.strip().upper(), request.args.get("key", "")
    try:
        place = hosts.my_place(context(token=key or None), {"code": code})
    except ServiceError:
        place = None
    if place is None or place.role != "host" or place.status != "open":
        abort(403, gettext("This host link no longer works: it was revoked, or its game has ended. "
                           "Ask a host of the game for a new one."))
    remember_token(session, "host", code, key)
    return redirect(url_for("pages.host", code=code), code=303)  # the key leaves the address bar


@bp.route("/host/<code>/cohost", methods=["POST"])
def make(code: str):
    code = code.strip().upper()
    try:
        made = hosts.add_host(context(token=token_for(session, "host", code)), {"code": code})
    except ServiceError as exc:
        abort(exc.status, "; ".join(t(message) for message in exc.messages))
    base = (runtime().settings.public_url or request.host_url).rstrip("/")
    _show(code, made.url if made.url.startswith("http") else base + made.url)
    return redirect(url_for("pages.host", code=code) + "#cohost", code=303)


@bp.route("/host/<code>/hosts/others", methods=["POST"])
def revoke(code: str):
    code = code.strip().upper()
    try:
        hosts.revoke_other_hosts(context(token=token_for(session, "host", code)), {"code": code})
    except ServiceError as exc:
        abort(exc.status, "; ".join(t(message) for message in exc.messages))
    _show(code, None)
    return redirect(url_for("pages.host", code=code), code=303)
