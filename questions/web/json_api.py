"""JSON adapter: turns each declared route into a Flask view over its use case."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from pydantic import TypeAdapter
from werkzeug.exceptions import RequestEntityTooLarge

from ..core.errors import Invalid, Unauthorized
from ..core.i18n import _
from ..core.schema import Download
from ..runtime import context
from . import openapi
from .routes import ROUTES, Route


def bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_("Authorization header must be 'Bearer <token>'"))
    return token.strip()


def raw_body() -> bytes:
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # eventlet de-chunks the body but does not set ``wsgi.input_terminated``, so werkzeug would
        # read nothing ("Body is required"); read it here, no further than the size limit
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        raw = request.environ["wsgi.input"].read(limit + 1)
        if len(raw) > limit:
            raise RequestEntityTooLarge()
        return raw
    return request.get_data(cache=False)


def json_body() -> dict:
    raw = raw_body()
    if not raw.strip():
        return {}
    if not request.mimetype or not (request.mimetype == "application/json"
                                    or request.mimetype.endswith("+json")):
        raise Invalid(_("Request body must be JSON (Content-Type: application/json)"))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Invalid(_("Request body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise Invalid(_("Request body must be a JSON object"))
    return data


def parse(route: Route, path_args: dict):
    if route.use_case.mutable:
        data = json_body()
    else:
        # only the query parameters the route declares; others (a cache-buster's ``?_=1``) are
        # ignored, as a GET without declared parameters documents no 400
        declared = set(route.use_case.request.model_fields) - set(route.path_params)
        data = {key: value for key, value in request.args.items() if key in declared}
    data.update(path_args)
    return data


class KeptJson:
    """The JSON of the last few objects a ``shared`` use case answered, by identity: while the
    kept listing or game summary is the same object, its bytes are too. The object is held with
    its bytes, so its id cannot be reused by another meanwhile."""

    def __init__(self, adapter: TypeAdapter, kept: int = 64):
        self.adapter, self.kept = adapter, kept
        self._json: dict[int, tuple[object, bytes]] = {}

    def dump_json(self, result) -> bytes:
        found = self._json.get(id(result))
        if found is not None and found[0] is result:
            return found[1]
        body = self.adapter.dump_json(result)
        if len(self._json) >= self.kept:
            self._json.pop(next(iter(self._json)))  # the oldest
        self._json[id(result)] = (result, body)
        return body


def make_view(route: Route):
    typed = TypeAdapter(route.use_case.response)
    adapter = KeptJson(typed) if route.use_case.shared else typed

    def view(**path_args):
        ctx = context(token=bearer_token())
        result = route.use_case(ctx, parse(route, path_args))
        if isinstance(result, Download):
            return Response(result.content, status=route.status, mimetype=result.media_type, headers={
                "Content-Disposition": f'attachment; filename="{result.filename}"'})
        if isinstance(route.media_type, str) and route.media_type != "application/json":
            return Response(result, status=route.status, mimetype=route.media_type)
        # serialised by pydantic-core in one call (fields in the models' order), not dumped to
        # Python objects first and then through the json module
        return Response(adapter.dump_json(result), status=route.status, mimetype="application/json")

    view.__name__ = route.use_case.name
    return view


def blueprint() -> Blueprint:
    bp = Blueprint("api", __name__)

    @bp.get("/api/openapi.json")
    def openapi_document():
        return jsonify(openapi.document(request.host_url.rstrip("/")))

    @bp.get("/api/docs")
    def api_docs():
        return render_template("api_docs.html")

    for route in ROUTES:
        bp.add_url_rule(route.flask_rule, endpoint=f"{route.method}_{route.use_case.name}",
                        view_func=make_view(route), methods=[route.method])
    return bp
