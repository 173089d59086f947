"""The session cookie holds host and player tokens: it is ``Secure`` whenever the request came
over HTTPS (behind a proxy with TRUST_PROXY, from ``X-Forwarded-Proto``), or always with
SECURE_COOKIES; over plain HTTP (a laptop on the meetup's LAN) it must not be, or no browser
would send it back."""
from dataclasses import replace

import pytest


def join_cookie(make_app, settings, headers=None, base_url="http://localhost"):
    app = make_app(settings, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    game = client.post("/api/questions", json={"body": "Cookie?"}).get_json()
    created = client.post("/api/games", json={"question_ids": [game["id"]]}).get_json()
    response = client.post(f"/join/{created['code']}", data={"name": "Ana"}, headers=headers or {},
                           base_url=base_url)
    assert response.status_code == 303, response.get_data(as_text=True)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    return {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize("trust_proxy, secure_setting, headers, base_url, secure", [
    (True, False, {"X-Forwarded-Proto": "https"}, "http://localhost", True),
    (True, False, {"X-Forwarded-Proto": "http"}, "http://localhost", False),
    (False, False, {"X-Forwarded-Proto": "https"}, "http://localhost", False),  # not trusted
    (False, False, {}, "https://localhost", True),  # served over HTTPS directly
    (False, True, {}, "http://localhost", True),    # SECURE_COOKIES
    (False, False, {}, "http://localhost", False),
])
def test_session_cookie_is_secure_over_https(make_app, settings, trust_proxy, secure_setting,
                                             headers, base_url, secure):
    settings = replace(settings, trust_proxy=trust_proxy, secure_cookies=secure_setting)
    attributes = join_cookie(make_app, settings, headers, base_url)
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes and "samesite=lax" in attributes
