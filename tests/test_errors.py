"""Every failure has a readable answer: JSON ``{"errors": [...]}`` under /api, a page elsewhere."""
from sqlalchemy import func, select

from questions.core.extensions import db
from questions.core.models import Question


def assert_json_errors(response, status: int) -> list[str]:
    assert response.status_code == status
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"errors"}
    assert body["errors"] and all(isinstance(m, str) and m for m in body["errors"])
    return body["errors"]


def question_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Question))


def test_unknown_api_path_is_json_404(client):
    assert assert_json_errors(client.get("/api/nope"), 404) == ["Not found"]
    assert assert_json_errors(client.post("/api/questions/1/nope", json={}), 404) == ["Not found"]


def test_unknown_page_is_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not found" in response.get_data(as_text=True)


def test_wrong_method_is_json_405_with_allow_header(client):
    response = client.delete("/api/questions")
    assert assert_json_errors(response, 405) == ["Method DELETE is not allowed here"]
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_body_over_64_kib_is_json_413(app, client):
    payload = '{"body": "' + "x" * (64 * 1024) + '"}'
    response = client.post("/api/questions", data=payload, content_type="application/json")
    messages = assert_json_errors(response, 413)
    assert "too large" in messages[0]
    assert question_count(app) == 0


def test_deeply_nested_json_is_400_not_500(app, client):
    for payload in ("[" * 5000 + "]" * 5000, '{"body": ' + "[" * 5000 + "]" * 5000 + "}"):
        assert len(payload) < 64 * 1024
        response = client.post("/api/questions", data=payload, content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)[:200]
        assert_json_errors(response, 400)
    assert question_count(app) == 0


def test_unexpected_exception_is_json_500_without_details(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/test-explode", "api_explode", explode)
    app.add_url_rule("/test-explode", "page_explode", explode)
    client = app.test_client()

    response = client.get("/api/test-explode")
    assert assert_json_errors(response, 500) == ["Internal server error"]
    assert "secret internals" not in response.get_data(as_text=True)

    page = client.get("/test-explode")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "Something went wrong" in page.get_data(as_text=True)


def test_failure_inside_a_command_is_500_and_stores_nothing(make_app):
    def broken_clock():
        raise RuntimeError("clock is broken")

    app = make_app(clock=broken_clock, PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().post("/api/questions", json={"body": "Stored?"})

    assert assert_json_errors(response, 500) == ["Internal server error"]
    assert question_count(app) == 0
    assert app.extensions["callit"].events.sent == []


def test_invalid_authorization_header_is_json_401(client):
    response = client.get("/api/questions", headers={"Authorization": "Basic abc"})
    assert assert_json_errors(response, 401) == ["Authorization header must be 'Bearer <token>'"]
