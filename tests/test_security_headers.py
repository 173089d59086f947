"""Every response carries the security headers: a Content-Security-Policy that allows only this
origin (no inline script or style, no framing), nosniff, X-Frame-Options DENY and a same-origin
Referrer-Policy — pages, API answers, errors, static files and Socket.IO's own answers alike."""
from __future__ import annotations

import pytest
import requests
import websocket

ALLOWED_SOURCES = {"'self'", "'none'"}


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"{words[0]} given twice"
            directives[words[0]] = words[1:]
    return directives


def assert_secure_headers(headers, what: str) -> None:
    csp = parse_csp(headers.get("Content-Security-Policy", ""))
    assert csp, f"{what}: no Content-Security-Policy"
    for directive in ("default-src", "script-src", "style-src", "connect-src", "img-src", "object-src",
                      "base-uri", "form-action", "frame-ancestors"):
        assert directive in csp, f"{what}: CSP lacks {directive}"
    for directive, sources in csp.items():
        allowed = ALLOWED_SOURCES | ({"data:"} if directive == "img-src" else set())  # the QR code
        assert sources and set(sources) <= allowed, f"{what}: {directive} {' '.join(sources)}"
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "same-origin", what


@pytest.fixture
def game(client):
    """A game whose host and player pages are reachable from the client's session."""
    q = client.post("/api/questions", json={"body": "Who wins?"}).get_json()
    created = client.post("/", data={"question_ids": [str(q["id"])]})
    code = created.headers["Location"].rstrip("/").split("/")[-1]
    assert client.post("/join", data={"code": code, "name": "Ana"}).status_code == 303
    return code


def pages(code: str) -> list[str]:
    return ["/", "/questions", "/join", f"/join/{code}", f"/host/{code}", f"/play/{code}",
            f"/screen/{code}", f"/host/{code}?partial=1", f"/play/{code}?partial=1",
            f"/screen/{code}?partial=1", "/api/docs"]


def test_html_pages(client, game):
    for path in pages(game):
        response = client.get(path)
        assert response.status_code < 400, path  # /join/<code> sends a joined player on to /play
        assert_secure_headers(response.headers, path)


def test_api_answers_and_documents(client, game):
    for path in ("/api/questions", f"/api/games/{game}", f"/api/games/{game}/state",
                 f"/api/games/{game}/leaderboard", f"/api/games/{game}/results.csv",
                 "/api/openapi.json", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secure_headers(response.headers, path)
    assert client.get("/api/questions").headers["Cache-Control"] == "no-store"


def test_errors_and_redirects(make_app, game, client):
    cases = {
        "404 page": client.get("/no-such-page"),
        "404 json": client.get("/api/games/ZZZZ"),
        "401 json": client.get(f"/api/games/{game}/rounds/current/picks", headers={"Authorization": "Bearer x"}),
        "405 json": client.delete("/api/questions"),
        "413 json": client.post("/api/questions", data="x" * (65 * 1024), content_type="application/json"),
        "400 form": client.post("/questions", data={"body": ""}),
        "303 redirect": client.post("/join", data={"code": game, "name": "Bob"}),
        "static": client.get("/static/app.css"),
    }
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/api/test-explode", "explode", explode)
    cases["500 json"] = app.test_client().get("/api/test-explode")
    cases["400 csrf"] = app.test_client().post("/questions", data={"body": "No token?"})
    for what, response in cases.items():
        assert str(response.status_code) == what.split()[0] or what == "static", (what, response.status_code)
        assert_secure_headers(response.headers, what)


def test_live_server_headers_everywhere(live_server):
    """On the real server, including what Socket.IO answers in front of Flask (polling payloads
    carry names and questions as text/plain)."""
    for path in ("/", "/questions", "/api/questions", "/api/docs", "/static/js/live.js",
                 "/socket.io/?EIO=4&transport=polling", "/socket.io/?EIO=4&transport=nonsense", "/nope"):
        response = requests.get(f"{live_server.url}{path}", timeout=10)
        assert_secure_headers(response.headers, path)


def test_live_socketio_refuses_cross_origin_browsers(live_server):
    """Cross-site WebSocket hijacking: a page elsewhere can't open a socket with the player's cookie."""
    ws_url = f"ws://127.0.0.1:{live_server.port}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, origin="http://evil.example", timeout=10)
    assert refused.value.status_code == 400

    polling = requests.get(f"{live_server.url}/socket.io/?EIO=4&transport=polling",
                           headers={"Origin": "http://evil.example"}, timeout=10)
    assert polling.status_code == 400
    assert "evil.example" not in polling.headers.get("Access-Control-Allow-Origin", "")

    same = websocket.create_connection(ws_url, origin=live_server.url, timeout=10)
    try:
        assert same.recv().startswith("0{")  # Engine.IO's open packet
    finally:
        same.close()
