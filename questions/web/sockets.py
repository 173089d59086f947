"""Socket.IO adapter: who joins which room, and the ``state`` a (re)connecting client gets.

``auth={}`` watches the question bank; ``auth={"code": C}`` watches game C read-only (the
projector); ``auth={"token": T}`` (or ``{"code": C, "as": "host"|"player"}`` with the browser's
session cookie) joins as that host or player and also receives its own picks in ``state``."""
from __future__ import annotations

import logging

from flask import session
from pydantic import TypeAdapter
from socketio.exceptions import ConnectionRefusedError  # not the builtin

from ..core import access
from ..core.errors import as_service_error
from ..core.events import BANK_ROOM, game_room, player_room, watch_room
from ..core.i18n import _
from ..game import games, picks
from ..runtime import runtime
from ..socketio_internals import RawJson
from .i18n import t
from .session_tokens import token_for

log = logging.getLogger(__name__)

# the game and token a socket's calls act for, set when it connects (in its WSGI environ)
JOINED = "callit.joined"

# Client events a connected phone may send instead of HTTP requests.
SOCKET_CALLS = {
    "get_state": games.get_state,
    "submit_picks": picks.submit_picks,  # replaces the player's picks
    "merge_picks": picks.merge_picks,    # adds to them (one tap, one pick)
}


def register(app, socketio) -> None:
    server = socketio.server

    def connect(sid, environ, auth=None):
        # on python-socketio's server, like the calls below: a phone connecting needs the app,
        # not a Flask request with its cookie session (made only for what needs one: a browser
        # naming its role, and a refusal's reason in the page's language)
        with app.app_context():
            try:
                return _connect(app, server, sid, environ, auth)
            except ConnectionRefusedError:
                raise
            except Exception as exc:  # noqa: BLE001 - every refusal carries its reason and status
                explicit = as_service_error(exc)
                if explicit is None:
                    log.exception("Socket.IO connect failed")
                    raise _refused(app, environ, 500, [_("Internal server error")]) from None
                raise _refused(app, environ, explicit.status, explicit.messages) from None

    server.on("connect", connect)

    for event, use_case in SOCKET_CALLS.items():
        # on python-socketio's server itself: a phone's call needs the app, not a Flask request
        # with its cookie session (Flask-SocketIO's wrapper builds both for every event: a tenth
        # of a pick's CPU); the socket remembers its game and token from its connect
        socketio.server.on(event, _call_handler(app, socketio.server, use_case))


def _connect(app, server, sid: str, environ: dict, auth) -> bool:
    auth = auth if isinstance(auth, dict) else {}
    code, token = auth.get("code"), auth.get("token")
    if not code and not token:
        server.enter_room(sid, BANK_ROOM)
        return True
    if not isinstance(code or "", str) or not isinstance(token or "", str):
        raise _refused(app, environ, 400, [_("code and token must be strings")])
    if not token and auth.get("as") in ("host", "player"):
        with app.request_context(environ):  # the browser's signed session cookie holds it
            token = token_for(session, auth["as"], code)
    ctx = runtime().context(token=token, client_ip=environ.get("REMOTE_ADDR"))
    if token and not code:  # its game, and what get_state needs of it, in one lookup
        code = access.code_for_token(ctx)
    state = games.get_state(ctx, {"code": code or ""})
    # its connection back to the pool before the state is sent (a send may wait): a crowd
    # connecting held one each meanwhile, and the pool opened and closed connections beyond
    # its size for them (a sixth of a connect's CPU). A query's session has nothing to commit.
    (ctx.reads_db if ctx.reads_db is not None else ctx.db).close()
    server.enter_room(sid, game_room(state.game.code))
    if state.you.role != "player":  # the host and screens also hear who joined and who picked
        server.enter_room(sid, watch_room(state.game.code))
    if state.you.player_id is not None:  # told there if the player is signed out (a rejoin)
        server.enter_room(sid, player_room(state.you.player_id))
    # what its calls act for, kept with the socket: in its WSGI environ, which python-socketio
    # holds for it (``get_environ``)
    environ[JOINED] = {"code": state.game.code, "token": token}
    # serialised by pydantic-core in one call, not dumped to Python objects first and then
    # through the json module; straight to the socket, which is this process's (not through
    # the message queue, a round trip to Redis)
    server.emit("state", RawJson(state.model_dump_json()), to=sid, ignore_queue=True)
    return True


def _refused(app, environ: dict, status: int, errors: list[str]) -> ConnectionRefusedError:
    """A refusal whose reason reaches the client: ``connect_error`` gets
    ``{"message": ..., "status": N, "errors": [...]}`` (a browser's Error shows the message),
    in the language of the page that connects (its request's headers and cookie)."""
    errors = _in_language_of(app, environ, errors)
    refusal = ConnectionRefusedError("; ".join(errors))
    refusal.error_args = {"message": "; ".join(errors), "status": status, "errors": errors}
    return refusal


def _call_handler(app, server, use_case):
    """A client event over a use case, for the game this socket joined; the ack carries the
    result as ``{"ok": true, "data": ...}`` or ``{"ok": false, "status": N, "errors": [...]}``."""
    adapter = TypeAdapter(use_case.response)

    def handler(sid, *args):
        environ = server.get_environ(sid)  # None once the socket is gone
        if len(args) > 1:  # python-socketio would call us with them and never ack
            return _failed(app, environ, 400, [_("%(event)s takes one argument (an object), not %(count)s",
                                                 event=use_case.name, count=len(args))])
        environ = environ or {}
        joined = environ.get(JOINED, {})
        data = dict(args[0]) if args and isinstance(args[0], dict) else {}
        data["code"] = joined.get("code", "")
        with app.app_context():
            try:
                ctx = runtime().context(token=joined.get("token"), client_ip=environ.get("REMOTE_ADDR"))
                result = use_case(ctx, data)
            except Exception as exc:  # noqa: BLE001 - a phone is always answered
                explicit = as_service_error(exc)
                if explicit is None:
                    log.exception("Socket.IO %s failed", use_case.name)
                    return _failed(app, environ, 500, [_("Internal server error")])
                return _failed(app, environ, explicit.status, explicit.messages)
            return {"ok": True, "data": adapter.dump_python(result, mode="json")}

    handler.__name__ = f"socket_{use_case.name}"
    return handler


def _failed(app, environ: dict | None, status: int, errors: list) -> dict:
    """A refusal's ack, in the language of the page that connected."""
    return {"ok": False, "status": status, "errors": _in_language_of(app, environ, errors)}


def _in_language_of(app, environ: dict | None, messages: list) -> list[str]:
    """Messages in the language of the page that connected (its request's headers and cookie);
    as written once its socket is gone (``environ`` None or empty)."""
    if not environ:
        with app.app_context():
            return [str(message) for message in messages]
    with app.request_context(environ):
        return [t(message) for message in messages]
