"""Getting back in, as pages: a phone whose name is taken asks the host to let it be that player
again, then waits on a page that checks the answer (by itself with JavaScript, with a button
without). The request's secret stays in the browser's signed, HttpOnly session cookie."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from ..core.errors import ServiceError
from ..game import rejoin
from ..runtime import context
from .session_tokens import remember_token

bp = Blueprint("rejoin", __name__)


def _asked(code: str) -> dict | None:
    return session.get("rejoin", {}).get(code)


def _keep(code: str, asked: dict | None) -> None:
    requests = dict(session.get("rejoin", {}))
    if asked is None:
        requests.pop(code, None)
    else:
        requests[code] = asked
    session["rejoin"] = requests


@bp.route("/join/<code>/rejoin", methods=["POST"])
def ask(code: str):
    code, name = code.strip().upper(), request.form.get("name", "")
    try:
        asked = rejoin.ask_rejoin(context(), {"code": code, "name": name})
    except ServiceError as exc:
        return render_template("join.html", code=code, name=name, errors=exc.messages,
                               bad_field="name"), exc.status
    _keep(code, {"id": asked.id, "secret": asked.secret, "name": asked.name})
    return redirect(url_for("rejoin.wait", code=code), code=303)


@bp.route("/join/<code>/rejoin")
def wait(code: str):
    code = code.strip().upper()
    asked = _asked(code)
    if asked is None:
        return redirect(url_for("pages.join", code=code))
    try:
        answer = rejoin.get_rejoin(context(token=asked["secret"]), {"code": code, "id": asked["id"]})
    except ServiceError as exc:  # the game ended and its code was reused, say: start over
        _keep(code, None)
        return render_template("join.html", code=code, name=asked["name"], errors=exc.messages,
                               bad_field=None), exc.status
    if answer.status == "approved" and answer.token:
        _keep(code, None)
        remember_token(session, "player", code, answer.token)
        return redirect(url_for("pages.play", code=code), code=303)
    if answer.status != "pending":
        _keep(code, None)
    return render_template("rejoin.html", code=code, answer=answer)
