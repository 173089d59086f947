"""Hostile and unusual input: oversized and pathological JSON, wrong content types, any script of
the world's writing (and markup, and SQL) stored and shown back exactly — escaped on every page —,
CSRF on every form, and session cookies a script cannot read."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests
from markupsafe import escape
from sqlalchemy import func, select

from questions.core.extensions import db
from questions.core.models import Game, Player, Question
from questions.core.usecase import Auth
from questions.web.routes import ROUTES, Route

MUTATING = [r for r in ROUTES if r.use_case.mutable]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def assert_json_errors(response, status: int) -> list[str]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"errors"} and body["errors"]
    assert all(isinstance(message, str) and message for message in body["errors"])
    return body["errors"]


class Api:
    """A game through the JSON API: host, one player, an open round."""

    def __init__(self, client):
        self.client = client
        self.q1 = self.call("POST", "/api/questions", json={"body": "Who wins?"}).get_json()["id"]
        game = self.call("POST", "/api/games", json={"question_ids": [self.q1]}).get_json()
        self.code, self.host = game["code"], game["host_token"]
        joined = self.call("POST", f"/api/games/{self.code}/players", json={"name": "Ana"}).get_json()
        self.player, self.player_id = joined["token"], joined["id"]
        assert self.call("POST", f"/api/games/{self.code}/rounds", self.host,
                         json={"contenders": ["Serral", "Maru"]}).status_code == 201

    def call(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def path(self, route: Route) -> str:
        return route.path.replace("{code}", self.code).replace("{player_id}", str(self.player_id))

    def token(self, route: Route) -> str | None:
        return {Auth.HOST: self.host, Auth.PLAYER: self.player}.get(route.use_case.auth)

    def state(self):
        state = self.call("GET", f"/api/games/{self.code}/state", self.host).get_json()
        state.pop("server_time")  # the clock moves on; that is no change of state
        return (state,
                self.call("GET", f"/api/games/{self.code}/rounds/current/picks", self.host).get_json(),
                self.call("GET", "/api/questions").get_json())


def send(api: Api, route: Route, data, content_type="application/json"):
    return api.call(route.method, api.path(route), api.token(route), data=data, content_type=content_type)


# ---------------------------------------------------------------- size and shape of JSON

@pytest.mark.parametrize("route", MUTATING, ids=route_id)
def test_oversized_body_is_json_413_and_changes_nothing(app, client, route):
    api = Api(client)
    before = api.state()
    limit = app.config["MAX_CONTENT_LENGTH"]
    payload = json.dumps({"body": "x" * limit, "name": "y", "answers": []})

    messages = assert_json_errors(send(api, route, payload), 413)

    assert "too large" in messages[0]
    assert api.state() == before


@pytest.mark.parametrize("route", MUTATING, ids=route_id)
@pytest.mark.parametrize("payload", [
    pytest.param("[" * 20000 + "]" * 20000, id="deep-list"),
    pytest.param('{"a":' * 10000 + "1" + "}" * 10000, id="deep-object"),
    pytest.param(json.dumps({"answers": [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}), id="nested-answers"),
    pytest.param(json.dumps({f"k{i}": i for i in range(4000)}), id="many-keys"),
    pytest.param(json.dumps({"question_ids": list(range(6000)), "answers": [{}] * 6000}), id="long-lists"),
    pytest.param('{"question_ids": [' + "9" * 5000 + "]}", id="5000-digit-number"),
    pytest.param('{"question_ids": [NaN, Infinity, -Infinity, 1e999]}', id="non-finite-numbers"),
    pytest.param('{"name": "a", "name": "b", "body": null}', id="duplicate-keys"),
    pytest.param('"just a string"', id="not-an-object"),
    pytest.param("\ufeff{}", id="byte-order-mark"),
    pytest.param(b'{"name": "\xff\xfe"}', id="invalid-utf8"),
])
def test_pathological_json_is_json_400_and_changes_nothing(client, route, payload):
    api = Api(client)
    before = api.state()
    assert len(payload) < 64 * 1024

    response = send(api, route, payload)

    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/json"
        assert response.get_json()["errors"]
    if response.status_code < 300:  # e.g. lock/end take no body: an ignorable one may succeed
        body_fields = set(route.use_case.request.model_fields) - set(route.path_params)
        assert not body_fields, response.get_json()
    else:
        assert api.state() == before


@pytest.mark.parametrize("route", [r for r in MUTATING if r.use_case.request.model_fields.keys()
                                   - set(r.path_params)], ids=route_id)
@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "text/json", None])
def test_wrong_content_type_is_json_400(client, route, content_type):
    api = Api(client)
    before = api.state()
    body = json.dumps({"body": "Is this JSON?", "name": "Zed", "question_ids": [api.q1],
                       "contenders": ["A", "B"], "answers": [{"question_id": api.q1, "answer": "Maru"}]})

    response = api.call(route.method, api.path(route), api.token(route), data=body,
                        headers={} if content_type is None else {"Content-Type": content_type})

    assert assert_json_errors(response, 400) == ["Request body must be JSON (Content-Type: application/json)"]
    assert api.state() == before


def test_json_suffix_media_types_and_charset_are_accepted(client):
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = client.post("/api/questions", data=json.dumps({"body": f"Via {content_type}?"}),
                               content_type=content_type)
        assert response.status_code == 201, response.get_json()


# ---------------------------------------------------------------- text from every script

NAMES = [
    "Zoë", "李小龍", "محمد علي", "שָׁלוֹם", "Ελένη", "Ağaoğlu", "ﷺ", "e\u0301clair",   # combining accent
    "👩‍👩‍👧‍👦 family", "🇯🇵🇧🇷", "🏳️‍🌈", "\u202eevil\u202c", "a\u200db", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001F600" * 24,
]


@pytest.mark.parametrize("name", NAMES, ids=lambda n: n.encode("unicode_escape").decode()[:30])
def test_unicode_names_are_accepted_and_round_trip_exactly(client, name):
    api = Api(client)
    base = f"/api/games/{api.code}"

    joined = api.call("POST", f"{base}/players", json={"name": name})

    assert joined.status_code == 201, joined.get_json()
    assert joined.get_json()["name"] == name
    player_id = joined.get_json()["id"]
    state = api.call("GET", f"{base}/state", joined.get_json()["token"]).get_json()
    assert state["you"]["name"] == name
    assert {"id": player_id, "name": name, "score": 0} in state["game"]["players"]
    assert name in [s["name"] for s in api.call("GET", f"{base}/leaderboard").get_json()["standings"]]
    assert name in api.call("GET", f"{base}/results.csv").get_data(as_text=True)
    screen = client.get(f"/screen/{api.code}").get_data(as_text=True)
    assert str(escape(name)) in screen


def test_unicode_everywhere_else_round_trips(client):
    body, title = "Qui gagne ? 🏆 — ¿Quién? 谁会赢？ من سيفوز؟", "Soirée StarCraft 🎮 ليلة"
    question = client.post("/api/questions", json={"body": body}).get_json()
    assert question["body"] == body
    game = client.post("/api/games", json={"question_ids": [question["id"]], "title": title}).get_json()
    assert game["title"] == title
    contenders = ["Serral 🇫🇮", "Maru 🇰🇷", "مارو"]
    host = {"Authorization": f"Bearer {game['host_token']}"}
    started = client.post(f"/api/games/{game['code']}/rounds", headers=host, json={"contenders": contenders})
    assert started.get_json()["contenders"] == contenders
    player = client.post(f"/api/games/{game['code']}/players", json={"name": "Ana"}).get_json()
    picked = client.put(f"/api/games/{game['code']}/rounds/current/picks",
                        headers={"Authorization": f"Bearer {player['token']}"},
                        json={"answers": [{"question_id": question["id"], "answer": "مارو"}]})
    assert picked.get_json()["picks"] == [{"question_id": question["id"], "answer": "مارو"}]


def test_names_equal_after_unicode_folding_are_one_name(client):
    api = Api(client)
    base = f"/api/games/{api.code}/players"
    assert client.post(base, json={"name": "Ｚｏë"}).status_code == 201  # fullwidth
    for same in ("zoë", "ZOË", "zoe\u0308"):
        assert_json_errors(client.post(base, json={"name": same}), 422)


@pytest.mark.parametrize("text", ["a\u2028b", "a\u2029b", "a\x00b", "a\x1bb", "a\x85b", "a\ud800b"],
                         ids=["line-separator", "paragraph-separator", "nul", "escape", "next-line",
                              "lone-surrogate"])
def test_text_that_is_not_one_line_of_text_is_400_not_500(app, client, text):
    api = Api(client)
    before = api.state()
    base = f"/api/games/{api.code}"
    for path, key, token in (("/api/questions", "body", None), (f"{base}/players", "name", None),
                             (f"{base}/questions", "body", api.host)):
        raw = json.dumps({key: text})  # \\u escapes: the lone surrogate reaches the server as one
        assert_json_errors(api.call("POST", path, token, data=raw, content_type="application/json"), 400)
    raw = json.dumps({"question_ids": [api.q1], "title": text})
    assert_json_errors(client.post("/api/games", data=raw, content_type="application/json"), 400)
    assert api.state() == before


@pytest.mark.parametrize("code", ["%00", "A%00B", "%ED%A0%80", "%F0%9F%98%80", "x" * 200, "%20", "..%2F..",
                                  "ABCD%0A", "'%20OR%20'1'='1"])
def test_odd_codes_in_the_path_are_404_not_500(client, code):
    for suffix in ("", "/state", "/leaderboard", "/results.csv"):
        response = client.get(f"/api/games/{code}{suffix}")
        assert_json_errors(response, 404)
    assert_json_errors(client.post(f"/api/games/{code}/players", json={"name": "Ana"}), 404)


def test_question_id_beyond_the_database_integer_is_400_not_500(make_app):
    """Was a 500: an id beyond the database's INTEGER reached the driver (> 2**31-1 on
    PostgreSQL, > 2**63-1 on SQLite)."""
    app = make_app(PROPAGATE_EXCEPTIONS=False, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    api = Api(client)
    for big in (2**31, 2**63, -(2**63) - 1, 10**30):
        assert_json_errors(client.post("/api/games", json={"question_ids": [big]}), 400)
        assert_json_errors(api.call("POST", f"/api/games/{api.code}/questions", api.host,
                                    json={"question_id": big}), 400)
    # the forms take any run of digits
    assert client.post("/", data={"question_ids": "9" * 30}).status_code == 400
    host = {"Authorization": f"Bearer {api.host}"}
    assert client.post(f"/api/games/{api.code}/questions", headers=host, json={"question_id": 2**31 - 1}
                       ).status_code == 400  # the biggest id there can be: "Unknown question id"


# ---------------------------------------------------------------- markup and SQL, shown literally

SCRIPT = "<script>alert(1)</script>"
PAYLOADS = {
    "question": f"{SCRIPT} wins?",
    "added": "<img src=x onerror=alert(2)> first?",
    "title": f'{SCRIPT}"><svg onload=alert(3)>',
    "name": "<script>x</script>",
    "name2": '"><i onclick=x>',
    "contender1": "<b>Serral</b></textarea><script>",
    "contender2": "Maru' onmouseover='x",
}


def _escaped(text: str) -> str:
    return str(escape(text))


class Forms:
    """A game played through the HTML pages (CSRF off): host and player each in their browser."""

    def __init__(self, app):
        self.host = app.test_client()
        self.player = app.test_client()
        self.player2 = app.test_client()
        q = self.host.post("/api/questions", json={"body": PAYLOADS["question"]}).get_json()
        self.question_id = q["id"]
        created = self.host.post("/", data={"question_ids": [str(q["id"])], "title": PAYLOADS["title"]})
        assert created.status_code == 303, created.get_data(as_text=True)[:500]
        self.code = created.headers["Location"].rstrip("/").split("/")[-1]
        for browser, name in ((self.player, PAYLOADS["name"]), (self.player2, PAYLOADS["name2"])):
            joined = browser.post("/join", data={"code": self.code, "name": name})
            assert joined.status_code == 303, joined.get_data(as_text=True)[:500]
        self.host_post("questions", {"body": PAYLOADS["added"]})
        self.host_post("rounds", {"contenders": f"{PAYLOADS['contender1']}\n{PAYLOADS['contender2']}"})
        state = self.host.get(f"/api/games/{self.code}").get_json()
        self.question_ids = [q["id"] for q in state["round"]["questions"]]
        picked = self.player.post(f"/play/{self.code}/picks",
                                  data={f"q{qid}": PAYLOADS["contender1"] for qid in self.question_ids})
        assert picked.status_code == 303, picked.get_data(as_text=True)[:500]

    def host_post(self, action, data):
        response = self.host.post(f"/host/{self.code}/{action}", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]

    def pages(self) -> dict[str, str]:
        pages = {}
        for label, browser, path in (("/questions", self.host, "/questions"), ("/", self.host, "/"),
                                     ("/host", self.host, f"/host/{self.code}"),
                                     ("/play", self.player, f"/play/{self.code}"),
                                     ("/screen", self.host, f"/screen/{self.code}")):
            for partial in ("", "?partial=1"):
                if partial and label in ("/questions", "/"):
                    continue
                response = browser.get(path + partial)
                assert response.status_code == 200, (label, response.status_code)
                pages[label + partial] = response.get_data(as_text=True)
        return pages


def assert_shown_escaped(page: str, label: str, texts: list[str]) -> None:
    for text in texts:
        assert _escaped(text) in page, f"{label}: {text!r} is not shown (escaped)"
    for raw in ("<script>", "<img src=x", "<svg onload", "<i onclick", "<b>Serral", "' onmouseover='"):
        assert raw not in page, f"{label}: raw {raw!r} in the page"


def test_markup_in_every_text_is_escaped_on_every_page(app):
    forms = Forms(app)
    pages = forms.pages()
    c1, c2 = PAYLOADS["contender1"], PAYLOADS["contender2"]
    expected = {
        "/questions": [PAYLOADS["question"], PAYLOADS["added"]],
        "/": [PAYLOADS["question"], PAYLOADS["added"]],
        "/host": [PAYLOADS["title"], PAYLOADS["name"], PAYLOADS["name2"], PAYLOADS["question"],
                  PAYLOADS["added"], c1, c2],
        "/play": [PAYLOADS["title"], PAYLOADS["question"], PAYLOADS["added"], c1, c2],
        "/screen": [PAYLOADS["title"], PAYLOADS["name"], PAYLOADS["name2"], c1, c2],
    }
    for label, page in pages.items():
        base = label.split("?")[0]
        texts = [t for t in expected[base] if label == base or t != PAYLOADS["title"]]  # partials: no <title>
        assert_shown_escaped(page, label, texts)

    # and after the round is locked and scored (answers and points on show)
    forms.host_post("lock", {})
    forms.host_post("score", {f"q{qid}": c1 for qid in forms.question_ids})
    for label, page in forms.pages().items():
        assert_shown_escaped(page, label, [])
    for label in ("/screen", "/host", "/play"):
        assert _escaped(c1) in forms.pages()[label]


def test_markup_typed_into_a_refused_form_is_escaped_when_shown_back(app):
    client = app.test_client()
    page = client.post("/join", data={"code": "<script>", "name": SCRIPT * 2}).get_data(as_text=True)
    assert "<script>alert" not in page and SCRIPT not in page
    page = client.post("/questions", data={"body": SCRIPT + "\n" + SCRIPT}).get_data(as_text=True)
    assert SCRIPT not in page


SQLISH = ["'; DROP TABLE questions; --", "Robert'); DROP TABLE players;--", "' OR '1'='1",
          "1; SELECT * FROM games", "%", "_", "\\", "%_%' ESCAPE '\\", '"quoted" `ticks`']


def test_sql_like_text_is_stored_literally(app, client):
    api = Api(client)
    base = f"/api/games/{api.code}"
    for text in SQLISH:
        assert client.post("/api/questions", json={"body": text}).get_json()["body"] == text
        joined = client.post(f"{base}/players", json={"name": text[:24]})
        assert joined.status_code == 201, (text, joined.get_json())
        assert joined.get_json()["name"] == text[:24]
    bodies = [q["body"] for q in client.get("/api/questions").get_json()]
    names = [p["name"] for p in client.get(base).get_json()["players"]]
    for text in SQLISH:
        assert text in bodies and text[:24] in names
    with app.app_context():  # nothing was dropped or widened
        assert db.session.scalar(select(func.count()).select_from(Game)) == 1
        assert db.session.scalar(select(func.count()).select_from(Player)) == len(SQLISH) + 1
        assert db.session.scalar(select(func.count()).select_from(Question)) == len(SQLISH) + 1


# ---------------------------------------------------------------- CSRF and cookies

class FormCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag in ("input", "textarea") and self.forms and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("radio", "checkbox") and attrs.get("name") in self.forms[-1]["fields"]:
                return
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")


def post_forms(html: str) -> list[dict]:
    collector = FormCollector()
    collector.feed(html)
    return collector.forms


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


class CsrfGame:
    """A game made through the real forms with CSRF on; ``forms`` are all the POST forms seen on
    each page, in each stage of a round."""

    def __init__(self, app):
        self.host, self.player = app.test_client(), app.test_client()
        q = self.host.post("/api/questions", json={"body": "Who wins?"}).get_json()
        home = self.host.get("/").get_data(as_text=True)
        self.forms: dict[str, dict] = {}
        self.collect("/", home, self.host)
        self.collect("/questions", self.host.get("/questions").get_data(as_text=True), self.host)
        created = self.host.post("/", data={"csrf_token": csrf_token(home), "question_ids": [str(q["id"])]})
        assert created.status_code == 303, created.get_data(as_text=True)[:300]
        self.code = created.headers["Location"].rstrip("/").split("/")[-1]
        self.collect("/host lobby", self.host_page(), self.host)
        join = self.player.get(f"/join/{self.code}").get_data(as_text=True)
        self.collect("/join", join, self.player)
        joined = self.player.post("/join", data={"csrf_token": csrf_token(join), "code": self.code,
                                                 "name": "Ana"})
        assert joined.status_code == 303
        self.submit("/host lobby", "rounds", {"contenders": "Serral\nMaru"})
        self.collect("/host open", self.host_page(), self.host)
        self.collect("/play open", self.player.get(f"/play/{self.code}").get_data(as_text=True), self.player)
        self.submit("/host open", "lock", {})
        self.collect("/host locked", self.host_page(), self.host)

    def host_page(self) -> str:
        return self.host.get(f"/host/{self.code}").get_data(as_text=True)

    def collect(self, page: str, html: str, browser) -> None:
        for form in post_forms(html):
            self.forms.setdefault(form["action"], {**form, "page": page, "browser": browser})

    def submit(self, page: str, action: str, fields: dict) -> None:
        html = self.host_page()
        response = self.host.post(f"/host/{self.code}/{action}",
                                  data={"csrf_token": csrf_token(html), **fields})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]

    def state(self):
        return (self.host.get(f"/api/games/{self.code}").get_json(),
                self.host.get("/api/questions").get_json())


def test_every_post_form_route_is_csrf_protected(make_app):
    app = make_app()  # CSRF on, as served
    game = CsrfGame(app)
    post_rules = {rule.rule for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("pages.") and "POST" in rule.methods}
    covered = set()
    assert game.forms

    for action, form in game.forms.items():
        browser = form["browser"]
        matched = app.url_map.bind("localhost").match(urlsplit(action).path, method="POST")
        covered.add(next(r.rule for r in app.url_map.iter_rules() if r.endpoint == matched[0]
                         and "POST" in r.methods and set(r.arguments) == set(matched[1])))
        fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
        for label, data in (("without a token", fields), ("with a forged token", {**fields, "csrf_token": "forged"})):
            before = game.state()
            response = browser.post(action, data=data)
            assert response.status_code == 400, f"{action} {label}: {response.status_code}"
            assert response.mimetype == "text/html"
            assert "This form has expired" in response.get_data(as_text=True)
            assert game.state() == before, f"{action} {label} changed the state"

    # POST routes no page has a form for (e.g. /join/<code>) are refused all the same
    for rule in sorted(post_rules - covered):
        url = rule.replace("<code>", game.code).replace("<action>", "end")
        assert "<" not in url, f"{rule}: add its arguments here"
        before = game.state()
        response = game.player.post(url, data={"code": game.code, "name": "Sneaky"})
        assert response.status_code == 400, f"{url} without a token: {response.status_code}"
        assert game.state() == before


def test_a_token_from_another_session_is_refused(make_app):
    app = make_app()
    game = CsrfGame(app)
    stranger = app.test_client()
    token = csrf_token(stranger.get("/").get_data(as_text=True))
    before = game.state()
    response = game.host.post(f"/host/{game.code}/end", data={"csrf_token": token})
    assert response.status_code == 400
    assert game.state() == before


def test_api_is_not_subject_to_csrf_but_needs_bearer_tokens(make_app):
    client = make_app().test_client()
    assert client.post("/api/questions", json={"body": "No CSRF token needed?"}).status_code == 201


def session_cookie_header(response) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")][1:]
    return {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


def test_session_cookie_after_joining_by_form_is_httponly_and_samesite_lax(client):
    api = Api(client)
    browser = client.application.test_client()
    response = browser.post("/join", data={"code": api.code, "name": "Cookie"})
    assert response.status_code == 303

    attributes = cookie_attributes(session_cookie_header(response))
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"


def test_session_cookie_after_creating_a_game_by_form_is_httponly_and_samesite_lax(client):
    q = client.post("/api/questions", json={"body": "Cookie?"}).get_json()
    browser = client.application.test_client()
    response = browser.post("/", data={"question_ids": [str(q["id"])]})
    assert response.status_code == 303
    attributes = cookie_attributes(session_cookie_header(response))
    assert "httponly" in attributes and attributes["samesite"] == "Lax"


# ---------------------------------------------------------------- the real server

def test_live_oversized_and_chunked_bodies_are_413_json(live_server):
    url = f"{live_server.url}/api/questions"
    big = json.dumps({"body": "x" * 1_000_000})
    response = requests.post(url, data=big, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413 and response.json()["errors"]

    def chunks():
        yield b'{"body": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    response = requests.post(url, data=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413, response.text[:200]
    assert response.json()["errors"]

    def small():  # a chunked body within the limit is read, not taken for an empty one
        yield b'{"body": '
        yield b'"Sent in chunks?"}'

    response = requests.post(url, data=small(), headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 201, response.text[:200]
    assert response.json()["body"] == "Sent in chunks?"
    assert requests.get(f"{live_server.url}/healthz", timeout=10).status_code == 200


def test_live_socket_with_hostile_auth_is_refused_not_crashed(live_server):
    import socketio

    log_start = len(live_server.log())
    for auth in ({"token": "\ud800"}, {"code": "\x00"}, {"code": "A" * 10_000}, {"code": ["x"]},
                 {"token": {"$ne": None}}, "not a dict"):
        client = socketio.Client(reconnection=False)
        try:
            client.connect(live_server.url, transports=["websocket"], auth=auth, wait_timeout=15)
        except socketio.exceptions.ConnectionError:
            pass
        finally:
            if client.connected:
                client.disconnect()
    assert requests.get(f"{live_server.url}/healthz", timeout=10).status_code == 200
    assert "Traceback" not in live_server.log()[log_start:]
