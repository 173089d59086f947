"""/healthz: 200 when the database answers, 503 with a reason when it does not — JSON either way."""
import pytest

from questions.config import Settings

from .conftest import SECRET_KEY, free_port


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("broken_url", [
    pytest.param(lambda: f"postgresql://postgres@127.0.0.1:{free_port()}/nothing", id="postgres-no-listener"),
    pytest.param(lambda: "sqlite:////nonexistent-dir/for/callit.sqlite3", id="sqlite-unopenable"),
])
def test_database_down_is_503_with_a_reason(make_app, tmp_path, broken_url):
    settings = Settings.from_env({"DATABASE_URL": broken_url(), "SECRET_KEY": SECRET_KEY,
                                  "INSTANCE_DIR": str(tmp_path)}, async_mode="threading", testing=True)
    app = make_app(settings)

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert isinstance(body["database"], str) and body["database"] not in ("", "ok")


def test_healthz_only_answers_get(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json() == {"errors": ["Method POST is not allowed here"]}


def test_database_down_is_503_on_the_api_and_the_pages(make_app, tmp_path):
    """Not a 500: the caller is told the database is unavailable, and when to try again."""
    settings = Settings.from_env({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x",
                                  "SECRET_KEY": SECRET_KEY, "INSTANCE_DIR": str(tmp_path)},
                                 async_mode="threading", testing=True, db_timeout_seconds=1)
    client = make_app(settings, WTF_CSRF_ENABLED=False).test_client()

    api = client.post("/api/games/ABCD/players", json={"name": "Ana"})
    assert api.status_code == 503 and api.mimetype == "application/json"
    assert api.get_json()["errors"] and api.headers["Retry-After"]

    page = client.get("/screen/ABCD")  # a page reading the database outside any use case
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "database" in page.get_data(as_text=True)

    form = client.post("/join/ABCD", data={"name": "Ana"})
    assert form.status_code == 503 and "database" in form.get_data(as_text=True)
