"""GET /api/openapi.json is generated from the route table and the use cases' typed models, is a
valid OpenAPI 3.1 document, and documents every /api route; /api/docs renders it from vendored,
same-origin assets only."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import requests
import schemathesis
from pydantic import TypeAdapter
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from questions.core.schema import GameRef
from questions.core.usecase import Auth, query
from questions.game.schema import Leaderboard
from questions.web import openapi
from questions.web.routes import ROUTES, Route

NOT_OPERATIONS = {"/api/openapi.json", "/api/docs"}  # the document and its viewer
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # answered by Flask for every rule


def flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def operation(document: dict, route: Route) -> dict:
    return document["paths"][route.path][route.method.lower()]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


# ---------------------------------------------------------------- coverage of the url map

def test_every_api_route_in_the_url_map_is_documented_with_its_method(app, document):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in NOT_OPERATIONS:
            continue
        for method in rule.methods - IGNORED_METHODS:
            served.add((method.lower(), flask_to_openapi(rule.rule)))
    assert served, "no /api routes found in the url map"

    documented = {(method, path) for path, item in document["paths"].items() for method in item}

    assert sorted(served - documented) == [], "served but not documented"
    assert sorted(documented - served) == [], "documented but not served"


def test_the_document_and_its_viewer_are_not_operations(document):
    assert not NOT_OPERATIONS & set(document["paths"])


# ---------------------------------------------------------------- generated from the declarations

@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_operation_states_its_declaration(document, route):
    op = operation(document, route)
    use_case = route.use_case

    assert op["operationId"] == use_case.name
    assert op["summary"] == use_case.summary
    # beyond the route's own: 401 for a malformed Authorization header, 500
    assert set(op["responses"]) == {str(route.status), "401", "500", *map(str, route.error_statuses)}

    success = op["responses"][str(route.status)]["content"]
    if route.media_type == "application/json":
        expected = TypeAdapter(use_case.response).json_schema(
            mode="serialization", ref_template=openapi.REF)
        if isinstance(use_case.response, type):
            expected = {"$ref": openapi.REF.format(model=use_case.response.__name__)}
        else:
            expected.pop("$defs", None)
        assert success == {"application/json": {"schema": expected}}
    else:
        assert sorted(success) == sorted(route.media_types)
    for status in route.error_statuses:
        assert op["responses"][str(status)]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Errors"}

    path_params = [p["name"] for p in op["parameters"] if p["in"] == "path"]
    assert path_params == route.path_params

    body_fields = set(use_case.request.model_fields) - set(route.path_params)
    if use_case.mutable and body_fields:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert set(schema["properties"]) == body_fields
        required = {name for name, field in use_case.request.model_fields.items()
                    if field.is_required()} - set(route.path_params)
        assert set(schema.get("required", [])) == required
        assert op["requestBody"]["required"] == bool(required)
    else:
        assert "requestBody" not in op

    if use_case.auth in (Auth.HOST, Auth.PLAYER):
        assert op["security"] == [{"bearer": []}]
        assert op["x-role"] == use_case.auth.value
        assert {"401", "403"} <= set(op["responses"])
    elif use_case.auth is Auth.OPTIONAL:
        assert op["security"] == [{"bearer": []}, {}]
        assert "x-role" not in op
    else:
        assert "security" not in op and "x-role" not in op
    if use_case.rate_limit:
        assert "Retry-After" in op["responses"]["429"]["headers"]


def test_bearer_security_scheme(document):
    assert document["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}


def test_document_follows_the_route_table_not_a_hand_written_copy(monkeypatch, client):
    @query(Auth.HOST)
    def probe_game(ctx, request: GameRef) -> Leaderboard:
        """A route that exists only in this test."""

    monkeypatch.setattr(openapi, "ROUTES", [*ROUTES, Route("GET", "/api/games/{code}/probe", probe_game)])

    doc = client.get("/api/openapi.json").get_json()

    op = doc["paths"]["/api/games/{code}/probe"]["get"]
    assert op["operationId"] == "probe_game"
    assert op["x-role"] == "host"
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Leaderboard"}
    assert set(op["responses"]) == {"200", "401", "403", "404", "429", "500"}  # 429: reads are limited


def test_servers_names_the_address_it_was_fetched_from(client):
    doc = client.get("/api/openapi.json", base_url="http://callit.example:8080").get_json()
    assert doc["servers"] == [{"url": "http://callit.example:8080"}]


# ---------------------------------------------------------------- a valid OpenAPI 3.1 document

def iter_schemas(doc: dict):
    """Every Schema Object in the document (components, parameters, bodies, responses, headers)."""
    yield from doc["components"]["schemas"].items()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                yield f"{where} parameter {param['name']}", param["schema"]
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                yield f"{where} body {media}", content["schema"]
            for status, response in op["responses"].items():
                for media, content in response.get("content", {}).items():
                    yield f"{where} {status} {media}", content["schema"]
                for name, header in response.get("headers", {}).items():
                    yield f"{where} {status} header {name}", header["schema"]


def iter_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


def test_document_is_valid_against_the_openapi_3_1_meta_schema(document):
    assert document["openapi"].startswith("3.1.")
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []


def test_every_schema_is_a_valid_json_schema_2020_12(document):
    invalid = {}
    for where, schema in iter_schemas(document):
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            invalid[where] = str(exc)
        for pattern in iter_patterns(schema):
            re.compile(pattern)  # schemathesis generates from it with Python's re
    assert invalid == {}


def iter_patterns(node):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from iter_patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_patterns(value)


def test_every_reference_resolves(document):
    for ref in set(iter_refs(document)):
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"unresolvable {ref}"
            node = node[part]


def test_schemathesis_loads_every_operation(document):
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()
    results = list(schema.get_all_operations())
    failed = [str(result.err()) for result in results if not isinstance(result, Ok)]
    assert failed == []
    assert len(results) == len(ROUTES)


def test_responses_of_a_played_game_match_the_document(client, document):
    """A whole game through the API, each answer checked against its documented schema."""
    def check(response, method: str, path: str):
        op = document["paths"][path][method]
        status = str(response.status_code)
        assert status in op["responses"], f"{method.upper()} {path}: undocumented {status}"
        content = op["responses"][status]["content"]
        assert response.mimetype in content, f"{method.upper()} {path}: {response.mimetype}"
        if response.mimetype == "application/json":
            schema = {**content["application/json"]["schema"], "components": document["components"]}
            jsonschema_rs.validate(schema, response.get_json())
        return response

    def call(method, path, path_template, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.open(path, method=method.upper(), headers=headers, **kwargs)
        return check(response, method, path_template).get_json()

    question = call("post", "/api/questions", "/api/questions", json={"body": "Who wins?"})
    game = call("post", "/api/games", "/api/games", json={"question_ids": [question["id"]]})
    code, host = game["code"], game["host_token"]
    base = f"/api/games/{code}"
    player = call("post", f"{base}/players", "/api/games/{code}/players", json={"name": "Ana"})
    call("post", f"{base}/players", "/api/games/{code}/players", json={"name": "ana"})  # 422
    call("get", f"{base}/rounds/current", "/api/games/{code}/rounds/current")  # 404: none yet
    call("post", f"{base}/questions", "/api/games/{code}/questions", host, json={"body": "First?"})
    rnd = call("post", f"{base}/rounds", "/api/games/{code}/rounds", host,
               json={"contenders": ["Serral", "Maru"]})
    answers = [{"question_id": q["id"], "answer": "Maru"} for q in rnd["questions"]]
    call("put", f"{base}/rounds/current/picks", "/api/games/{code}/rounds/current/picks",
         player["token"], json={"answers": answers})
    call("get", f"{base}/rounds/current", "/api/games/{code}/rounds/current", player["token"])
    call("get", f"{base}/state", "/api/games/{code}/state", player["token"])
    call("get", f"{base}/state", "/api/games/{code}/state", host)
    call("post", f"{base}/rounds/current/lock", "/api/games/{code}/rounds/current/lock", host)
    call("get", f"{base}/rounds/current/picks", "/api/games/{code}/rounds/current/picks", host)
    call("post", f"{base}/rounds/current/score", "/api/games/{code}/rounds/current/score", host,
         json={"answers": answers})
    call("get", f"{base}/leaderboard", "/api/games/{code}/leaderboard")
    call("get", f"{base}/players?limit=1&offset=1", "/api/games/{code}/players")
    call("get", f"{base}/players?limit=0", "/api/games/{code}/players")  # 400
    call("get", "/api/games/QQQQ/players", "/api/games/{code}/players")  # 404
    call("get", f"{base}", "/api/games/{code}")
    call("post", f"{base}/end", "/api/games/{code}/end", host)
    call("post", f"{base}/end", "/api/games/{code}/end", host)  # 200 again: ending is idempotent
    pack = call("post", "/api/packs", "/api/packs", json={"name": "StarCraft II"})
    call("post", "/api/packs", "/api/packs", json={"name": "StarCraft II"})  # 409
    call("post", "/api/packs/starcraft-ii/questions", "/api/packs/{slug}/questions",
         json={"question_id": question["id"]})
    call("get", "/api/packs", "/api/packs")
    call("get", "/api/packs/starcraft-ii", "/api/packs/{slug}")
    call("get", "/api/packs/nope", "/api/packs/{slug}")  # 404
    call("post", "/api/games", "/api/games", json={"pack": pack["slug"]})
    exported = client.get("/api/packs/starcraft-ii/export?format=json")
    assert check(exported, "get", "/api/packs/{slug}/export").get_json()["packs"][0]["questions"]
    check(client.get("/api/packs/starcraft-ii/export?format=csv"), "get", "/api/packs/{slug}/export")
    client_csv = client.get(f"{base}/results.csv")
    check(client_csv, "get", "/api/games/{code}/results.csv")
    assert client_csv.get_data(as_text=True).startswith("\ufeffrank,name,score,round 1")  # BOM first


# ---------------------------------------------------------------- /api/docs

class AssetCollector(HTMLParser):
    """Every URL a page makes the browser fetch or point at, and the spec URL it renders."""

    URL_ATTRS = {"src", "href", "srcset", "data", "poster", "action", "data-spec-url"}

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name in self.URL_ATTRS and value:
                self.urls.append((tag, name, value))
            if name.startswith("on"):
                self.inline_scripts.append(f"{tag} {name}={value}")
        if tag == "style":
            self.inline_scripts.append("<style>")
        self._in_script = tag == "script" and "src" not in attrs

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])

    def handle_endtag(self, tag):
        self._in_script = False


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url.startswith("/")


def test_docs_page_loads_only_same_origin_vendored_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"

    collector = AssetCollector()
    collector.feed(page.get_data(as_text=True))
    urls = {value for _tag, _attr, value in collector.urls}
    assert collector.inline_scripts == []  # the CSP would block them anyway
    assert sorted(url for url in urls if not same_origin(url)) == []
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in urls
    assert "/static/vendor/swagger-ui/swagger-ui.css" in urls
    assert "/api/openapi.json" in urls  # data-spec-url: the generated document

    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").mimetype == "text/javascript"
    assert client.get("/static/vendor/swagger-ui/swagger-ui.css").mimetype == "text/css"


def test_docs_page_csp_allows_only_its_own_origin(client):
    csp = client.get("/api/docs").headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    for name in ("script-src", "style-src", "connect-src", "default-src"):
        assert directives[name] == ["'self'"], name


def test_docs_script_turns_off_the_external_validator_badge(client):
    script = client.get("/static/js/api-docs.js").get_data(as_text=True)
    assert re.search(r"validatorUrl\s*:\s*null", script)


def test_live_docs_and_document(live_server):
    page = requests.get(f"{live_server.url}/api/docs", timeout=10)
    assert page.status_code == 200
    collector = AssetCollector()
    collector.feed(page.text)
    for _tag, _attr, url in collector.urls:
        assert same_origin(url), url
        assert requests.get(f"{live_server.url}{url}", timeout=10).status_code == 200, url
    doc = requests.get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    assert doc["servers"] == [{"url": live_server.url}]
    assert OPENAPI_31_VALIDATOR.is_valid(doc)
