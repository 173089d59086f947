"""The OpenAPI 3.1 document, generated from the route table and the use cases' typed models."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from ..core.access import MAX_CODE_LENGTH
from ..core.schema import Errors
from ..core.usecase import Auth
from ..game.packs import MAX_SLUG
from .routes import ROUTES, Route

REF = "#/components/schemas/{model}"
STATUS_TEXT = {200: "OK", 201: "Created", 400: "Invalid request", 401: "Missing or invalid token",
               403: "Not allowed for this token", 404: "Not found", 409: "Conflicts with the game's state",
               413: "Request body too large", 422: "Name is already taken", 429: "Too many requests",
               500: "Internal server error"}
ANY_ROUTE_ERRORS = (401, 500)
# longer values are never found (404): see access.find_game and packs.find_pack
PATH_PARAM_LENGTH = {"code": MAX_CODE_LENGTH, "slug": MAX_SLUG}


def _schema(annotation: Any, mode: JsonSchemaMode, defs: dict) -> dict:
    """JSON Schema of a type; named models go to components and are referenced."""
    schema = TypeAdapter(annotation).json_schema(mode=mode, ref_template=REF,
                                                schema_generator=GenerateJsonSchema)
    defs.update(schema.pop("$defs", {}))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        defs[annotation.__name__] = schema
        return {"$ref": REF.format(model=annotation.__name__)}
    return schema


def _body_schema(route: Route, defs: dict) -> dict | None:
    """The request model without the fields that come from the path."""
    model = route.use_case.request
    _schema(model, "validation", defs)
    schema = defs.pop(model.__name__)
    for name in route.path_params:
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    if not schema.get("required"):
        schema.pop("required", None)
    if not schema.get("properties"):
        return None
    schema["title"] = f"{model.__name__}Body"
    return schema


def _path_schema(route: Route, name: str) -> dict:
    """A code or slug is any short string (an unknown one is simply not found); any other path
    parameter (an id) has its field's own schema."""
    if name in PATH_PARAM_LENGTH:
        return {"type": "string", "minLength": 1, "maxLength": PATH_PARAM_LENGTH[name]}
    schema = route.use_case.request.model_json_schema()["properties"][name]
    schema.pop("title", None)
    return schema


def _parameters(route: Route, body: dict | None) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True, "schema": _path_schema(route, name)}
              for name in route.path_params]
    if not route.use_case.mutable and body:
        for name, prop in body["properties"].items():
            params.append({"name": name, "in": "query", "required": name in body.get("required", []),
                           "schema": prop})
    return params


def _operation(route: Route, defs: dict) -> dict:
    use_case = route.use_case
    body = _body_schema(route, defs)
    op: dict[str, Any] = {
        "operationId": use_case.name,
        "summary": use_case.summary,
        "description": (use_case.fn.__doc__ or "").strip(),
        "tags": [route.path.split("/")[2]],
        "x-mutable": use_case.mutable,
        "parameters": _parameters(route, body),
        "responses": {},
    }
    if use_case.mutable and body:
        op["requestBody"] = {"required": bool(body.get("required")),
                             "content": {"application/json": {"schema": body}}}
    content = {media_type: {"schema": _schema(annotation, "serialization", defs)}
               for media_type, annotation in route.media_types.items()}
    op["responses"][str(route.status)] = {"description": STATUS_TEXT.get(route.status, "OK"),
                                          "content": content}
    # Any route answers 401 to a malformed Authorization header (json_api.bearer_token), and 500.
    for status in sorted({*route.error_statuses, *ANY_ROUTE_ERRORS}):
        op["responses"][str(status)] = {
            "description": STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Errors")}}}}
        if status == 429:
            op["responses"][str(status)]["headers"] = {"Retry-After": {
                "description": "Seconds until the limit resets", "schema": {"type": "integer"}}}
    if use_case.auth in (Auth.HOST, Auth.PLAYER):
        op["security"] = [{"bearer": []}]
        op["x-role"] = use_case.auth.value
    elif use_case.auth is Auth.OPTIONAL:
        op["security"] = [{"bearer": []}, {}]
    return op


def document(server_url: str | None = None) -> dict:
    defs: dict = {}
    paths: dict = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, defs)
    _schema(Errors, "serialization", defs)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Callit API", "version": "1.0.0",
                 "description": "Live prediction game for meetups. Every error answers "
                                "`{\"errors\": [\"...\"]}`. Host and player routes take "
                                "`Authorization: Bearer <token>` from game creation or joining."},
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
