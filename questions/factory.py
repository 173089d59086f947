"""``create_app``: builds the app and registers its shared parts exactly once."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs

from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_socketio import SocketIO
from flask_sqlalchemy.session import _app_ctx_id
from flask_wtf.csrf import CSRFError
from sqlalchemy import event, text
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from . import cli, warmup
from .collector import Collector
from .config import PROJECT_ROOT, Settings
from .core.context import utcnow
from .core.errors import ServiceError, as_service_error
from .core.events import EventSink, SocketIOEvents
from .core.extensions import csrf, db, migrate
from .core.i18n import _
from .core.usecase import UseCase
from .database import Deadline, deadline, end_idle_sessions, engine_options, ping_after_idle
from .game import picks
from .group_commit import GroupCommit
from .limiter import DatabaseCounter, FallbackCounter, Limiter, RedisCounter
from .messagequeue import client_manager
from .runtime import Runtime, ThrottledEvents
from .runtime import runtime as runtime_of_app
from .socketio_internals import JsonPacket
from .web import host_keys_pages, i18n, json_api, pages, rejoin_pages, sockets
from .web.socket_guard import SocketGuard

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, events: EventSink | None = None,
               clock: Callable[[], datetime] = utcnow) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"), instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url, settings.db_timeout_seconds,
                                                 settings.db_pool_wait_seconds),
        SQLALCHEMY_BINDS=_host_bind(settings) | _reads_bind(settings),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a meetup night is long; the token is bound to the session anyway
        TESTING=settings.testing,
    )
    app.session_interface = HttpsAwareSessions(always_secure=settings.secure_cookies)
    app.json = UnsortedJSON(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    with app.app_context():
        if settings.database_url.startswith("sqlite"):
            event.listen(db.engine, "connect", _sqlite_connect)
            event.listen(db.engine, "begin", _sqlite_begin)
        else:
            for bind, engine in db.engines.items():
                ping_after_idle(engine)
                if bind != HOST_BIND:  # the host's few stay open: see open_host_lane
                    end_idle_sessions(engine)

    manager = client_manager(settings.redis_url, settings.redis_channel)
    # async_handlers=False: a phone's events run in the greenthread that reads its socket, one
    # after another, instead of each in a new greenthread (18 µs, a twentieth of a pick's
    # CPU). Its pongs wait meanwhile: a handler is bounded by DB_TIMEOUT_SECONDS, well within
    # the ping timeout.
    socketio = SocketIO(app, async_mode=settings.async_mode, client_manager=manager,
                        max_http_buffer_size=settings.max_body_bytes, serializer=JsonPacket,
                        ping_interval=settings.ping_interval_seconds,
                        ping_timeout=settings.ping_timeout_seconds, async_handlers=False,
                        logger=False, engineio_logger=False)
    collector = Collector()  # app.py ticks it (start_collector_task); tests only count
    SocketGuard(socketio.server, settings, collector=collector).install()
    events = events or ThrottledEvents(SocketIOEvents(socketio, manager), socketio, THROTTLED_EVENTS,
                                       merge=FOLDED_EVENTS)
    app.extensions["callit"] = Runtime(settings=settings, events=events,
                                       clock=clock, socketio=socketio, limiter=_limiter(settings),
                                       host_db=_bind_session(app, HOST_BIND),
                                       reads_db=_bind_session(app, READS_BIND), pick_writer=_pick_writer(app),
                                       collector=collector)
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    api = json_api.blueprint()
    csrf.exempt(api)  # the API authenticates with bearer tokens, never cookies
    app.register_blueprint(api)
    app.register_blueprint(pages.bp)
    app.register_blueprint(rejoin_pages.bp)
    app.register_blueprint(host_keys_pages.bp)
    i18n.init_app(app)
    sockets.register(app, socketio)
    cli.register(app)
    _register_error_handlers(app)
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app)  # type: ignore[method-assign]  # outside Flask-SocketIO's
    app.add_url_rule("/healthz", "healthz", healthz)
    app.before_request(count_read)
    return app


class HttpsAwareSessions(SecureCookieSessionInterface):
    """The session cookie (it holds host and player tokens) is ``Secure`` whenever the request
    came over HTTPS: directly, or through a proxy's ``X-Forwarded-Proto`` with ``TRUST_PROXY``
    (ProxyFix sets the scheme). ``SECURE_COOKIES`` makes it ``Secure`` always."""

    def __init__(self, always_secure: bool = False):
        self.always_secure = always_secure

    def get_cookie_secure(self, app) -> bool:
        return self.always_secure or super().get_cookie_secure(app) or request.is_secure

    def get_signing_serializer(self, app):
        """Flask builds the serializer anew for every request, and Flask-SocketIO opens the
        session for every Socket.IO event: a tenth of a pick's CPU. Built again only when the
        keys change."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self.__dict__.get("_serializer")
        if kept is None or kept[0] != keys:
            kept = self._serializer = (keys, super().get_signing_serializer(app))
        return kept[1]


class UnsortedJSON(DefaultJSONProvider):
    """JSON answers keep the models' field order (``id`` first), not alphabetical order."""
    sort_keys = False


# seconds between two sends of these events to one room (see ThrottledEvents)
THROTTLED_EVENTS = {"picks_updated": 0.25}
# throttled events that carry changes: how two are folded into one
FOLDED_EVENTS = {"picks_updated": picks.merge_picks_updated}


def _limiter(settings: Settings) -> Limiter:
    in_database = DatabaseCounter(lambda: db.engine)
    counter = (FallbackCounter(RedisCounter(settings.redis_url), in_database) if settings.redis_url
               else in_database)
    return Limiter({"join": settings.rate_limit_join_per_minute,
                    "create": settings.rate_limit_create_per_minute,
                    "bank": settings.rate_limit_bank_per_minute}, counter,
                   reads_per_minute=settings.rate_limit_read_per_minute,
                   unknown_codes_per_minute=settings.rate_limit_unknown_code_per_minute)


def count_read() -> None:
    """Every GET but static files and health probes counts against the address's read limit;
    every request is something arriving (the collector waits for quiet)."""
    runtime = runtime_of_app()
    runtime.collector.touched()
    if request.method == "GET" and request.endpoint not in ("static", "healthz"):
        runtime.limiter.read(request.remote_addr)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """The security headers on every answer, set in one place: outside Flask-SocketIO's
    middleware, so also on what Flask never sees (Socket.IO's polling answers carry player names
    and questions as text/plain). API answers and live panels are never cached: they are state."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        extra = dict(SECURITY_HEADERS)
        if (environ.get("PATH_INFO", "").startswith("/api/")
                or parse_qs(environ.get("QUERY_STRING", "")).get("partial", [""])[0]):
            extra["Cache-Control"] = "no-store"

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(name, value) for name, value in extra.items()
                                       if name.lower() not in present]
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, start)


HOST_BIND = "host"
PICK_LANES = 2
READS_BIND = "reads"


def _pick_writer(app: Flask) -> GroupCommit | None:
    """Picks arriving together stored in one transaction (PostgreSQL); SQLite writes one at a
    time anyway."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return None
    # two lanes: the database stores one batch while this process prepares the next
    return GroupCommit(engine, picks.write_picks, key=lambda write: write.key, alone=picks.stored_alone,
                       lanes=PICK_LANES)


def open_host_lane(app: Flask) -> None:
    """Open a connection of the host's lane now, before anyone asks (the server calls this once,
    on start). A host clicks every few minutes, and each click used to find its connection
    closed by PostgreSQL's idle timeout and open a new one (a new backend: several milliseconds
    of the click, which every phone waits for); the lane's connections (``host_pool_size``,
    doubled) are too few to need closing, so they are kept open and pinged after a pause."""
    if HOST_BIND not in app.config["SQLALCHEMY_BINDS"]:
        return
    with app.app_context(), db.engines[HOST_BIND].connect():
        pass


def host_engine(app: Flask):
    """The engine the host's commands run on: their own lane (``Context.host_db``), else, where
    there is none (SQLite), the app's one engine."""
    with app.app_context():
        return db.engines[HOST_BIND] if HOST_BIND in app.config["SQLALCHEMY_BINDS"] else db.engine


def warm_host_lane(app: Flask) -> int:
    """Compile the host's commands' statements into the cache of the engine they run on (the
    host's lane, else the app's one engine), so the first command of a night does not compile
    them while every phone waits (questions/warmup.py); answers how many. The server calls
    this once, on start, after ``open_host_lane``. Reads and changes nothing in the database:
    it connects only so that the dialect has learnt the server's version first, as it would
    have before any statement of a request was compiled."""
    engine = host_engine(app)
    with engine.connect():
        pass
    return warmup.compile_into(engine, warmup.statements_reached(
        [UseCase.__call__, *warmup.host_commands()]))  # the wrapper authorizes the host


def _host_bind(settings: Settings) -> dict:
    """A second engine on the same database for the host's commands (``Context.host_db``).
    Not on SQLite: one writer at a time there, and a second connection's open read would keep
    an old snapshot."""
    if settings.database_url.startswith("sqlite") or settings.host_pool_size <= 0:
        return {}
    options = engine_options(
        settings.database_url, settings.db_timeout_seconds, settings.db_pool_wait_seconds)
    return {HOST_BIND: {**options, "url": settings.database_url,
                        "pool_size": 2 * settings.host_pool_size}}  # no overflow: see engine_options


def _reads_bind(settings: Settings) -> dict:
    """An engine whose connections run each statement on its own (autocommit), for reads
    (``Context.reads_db``): a read sends no BEGIN and no ROLLBACK, two of a phone's three round
    trips when it connects or picks. At PostgreSQL's READ COMMITTED every statement takes a
    fresh snapshot inside a transaction too, so reads see what they saw before. Not on SQLite,
    whose reads keep one snapshot per transaction."""
    if settings.database_url.startswith("sqlite"):
        return {}
    options = engine_options(
        settings.database_url, settings.db_timeout_seconds, settings.db_pool_wait_seconds)
    return {READS_BIND: {**options, "url": settings.database_url, "isolation_level": "AUTOCOMMIT",
                         "pool_size": 20}}  # a crowd connecting reads here


def _bind_session(app: Flask, bind: str):
    """A session per app context on a bind's engine, removed with the context (like db.session)."""
    if bind not in app.config["SQLALCHEMY_BINDS"]:
        return None
    with app.app_context():
        engine = db.engines[bind]
    session = scoped_session(sessionmaker(bind=engine), scopefunc=_app_ctx_id)

    def remove(_exc) -> None:
        # most contexts (a pick answered from what the process keeps) never made one: then
        # ``remove`` would only look it up again and raise and catch a KeyError
        if session.registry.has():
            session.remove()
    app.teardown_appcontext(remove)
    return session


def _sqlite_connect(dbapi_connection, _record):
    # SQLAlchemy's pysqlite recipe (SQLite dialect docs: "Serializable isolation / Savepoints /
    # Transactional DDL"): the driver begins no transaction of its own (it would only do so
    # before the first write, so reads ran outside it, a SAVEPOINT's release committed and DDL
    # committed first); _sqlite_begin begins one whenever SQLAlchemy does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn):
    # A command's transaction (execution option ``writes``, set by the use-case wrapper) takes
    # the write lock at once, waiting its turn (busy_timeout): a WAL transaction that read first
    # and then writes after another one committed would fail at once (SQLITE_BUSY_SNAPSHOT).
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writes") else "BEGIN")


# a probe gets its answer within 2 s even when the database and Redis are both frozen
HEALTH_DEADLINE_SECONDS = 1.2


def healthz():
    """200 ``ok``; 200 ``degraded`` with ``"redis": "down"`` (the app still serves: joins and
    picks work, rate limits count in the database, live updates between processes pause and
    clients resync when Redis is back, so a load balancer must not take every process out);
    503 ``error`` when the database cannot answer."""
    redis_up = _redis_up()
    redis = {} if redis_up is None else {"redis": "ok" if redis_up else "down"}
    try:
        with deadline(HEALTH_DEADLINE_SECONDS):
            db.session.execute(text("SELECT 1"))
    except (Exception, Deadline) as exc:  # any failure to reach the database is the answer itself
        _discard_session()
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return jsonify(status="error", database=reason, **redis), 503
    return jsonify(status="ok" if redis_up is not False else "degraded", database="ok", **redis)


def _redis_up() -> bool | None:
    """None without Redis; else whether it answers a ping (within the limiter's timeout)."""
    counter = getattr(runtime_of_app().limiter, "counter", None)
    ping = getattr(counter, "ping", None)
    return None if ping is None else ping()


def _discard_session() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        db.session.close()


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/") or request.path == "/healthz"


def _register_error_handlers(app: Flask) -> None:
    def respond(status: int, messages: list[str]):
        messages = [i18n.t(message) for message in messages]  # in the reader's language
        if wants_json():
            return jsonify(errors=messages), status
        return render_template("error.html", status=status, messages=messages), status

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        body, status = respond(exc.status, exc.messages)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return body, status, {"Retry-After": str(retry_after)}
        return body, status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return respond(400, [_("This form has expired. Reload the page and try again.")])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            404: _("Not found"),
            405: _("Method %(method)s is not allowed here", method=request.method),
            413: _("Request body is too large (limit %(limit)s bytes)",
                   limit=request.max_content_length or app.config["MAX_CONTENT_LENGTH"]),
        }
        status = exc.code or 500
        response = respond(status, [messages.get(status, exc.description or exc.name)])
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _discard_session()
        explicit = as_service_error(exc)
        if explicit is not None:  # e.g. a page read the database while it was down: 503
            log.warning("%s %s: %s", request.method, request.path, str(exc).strip().splitlines()[0])
            return service_error(explicit)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return respond(500, [_("Internal server error")])
