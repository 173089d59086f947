"""Host controls (issue 11) on the HTML pages without JavaScript: forms post, the host page,
the phones and the projector show the result; destructive actions ask first."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest


class Browser:
    def __init__(self, app):
        self.client = app.test_client()

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:500])
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict, status: int = 303):
        response = self.client.post(path, data=data)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:800])
        return response


class Night:
    """A host and two phones (Ana, Troll) in one game, made through the forms."""

    def __init__(self, app):
        self.app = app
        self.host, self.ana, self.troll = Browser(app), Browser(app), Browser(app)
        q = self.host.client.post("/api/questions", json={"body": "Who wins?"}).get_json()
        self.q = q["id"]
        created = self.host.post("/", {"question_ids": [str(q["id"])]})
        self.code = created.headers["Location"].rstrip("/").split("/")[-1]
        for browser, name in ((self.ana, "Ana"), (self.troll, "Troll")):
            browser.post("/join", {"code": self.code, "name": name})
        self.ids = {p["name"]: p["id"] for p in
                    self.host.client.get(f"/api/games/{self.code}").get_json()["players"]}

    def act(self, action: str, data: dict | None = None, status: int = 303):
        return self.host.post(f"/host/{self.code}/{action}", data or {}, status)

    def on_player(self, name: str, action: str, data: dict | None = None, status: int = 303):
        return self.host.post(f"/host/{self.code}/players/{self.ids[name]}/{action}", data or {}, status)

    def page(self, who: str, status: int = 200) -> str:
        browser = getattr(self, who)
        return browser.get(f"/host/{self.code}" if who == "host" else f"/play/{self.code}"
                           if who != "screen" else f"/screen/{self.code}", status)

    @property
    def screen(self):
        return self.host


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def night(app):
    return Night(app)


def test_cancel_and_reopen_from_the_host_page(night):
    night.act("rounds", {"contenders": "Serral\nMaru"})
    night.ana.post(f"/play/{night.code}/picks", {f"q{night.q}": "Maru"})
    night.act("lock")
    assert "picks are locked" in text(night.page("ana"))
    night.act("reopen")
    assert "make your calls" in text(night.page("ana"))
    night.act("cancel")
    assert "Round 1 cancelled" in text(night.page("ana"))
    assert "Round cancelled" in text(night.page("screen"))
    host = text(night.page("host"))
    assert "Round 1 was cancelled" in host and "Start round 2" in host
    refused = night.act("cancel", status=409).get_data(as_text=True)
    assert "Round 1 is already cancelled" in text(refused)


def test_a_timed_round_shows_its_countdown_everywhere(night):
    night.act("rounds", {"contenders": "Serral\nMaru", "seconds": "90"})
    for who in ("host", "ana", "screen"):
        html = night.page(who)
        assert re.search(r'data-locks-at="[^"]+Z" data-server-time="[^"]+Z"', html), who
        assert re.search(r"Picks lock in (1:30|1:29)", text(html)), who
    night.act("extend", {"seconds": "30"})
    assert re.search(r"Picks lock in (2:00|1:59)", text(night.page("ana")))


def test_a_bad_timer_is_refused_and_what_was_typed_stays(night):
    response = night.act("rounds", {"contenders": "Serral\nMaru", "seconds": "5"}, status=400)
    html = response.get_data(as_text=True)
    assert "Seconds" in text(html) and 'value="5"' in html and "Serral" in html


def test_rename_from_the_host_page_follows_the_join_rules(night):
    night.on_player("Troll", "rename", {"name": "Nice Name"})
    assert "Nice Name" in text(night.page("screen")) and "Troll" not in text(night.page("screen"))
    assert "Playing as Nice Name" in text(night.page("troll"))
    refused = night.on_player("Troll", "rename", {"name": "ana"}, status=422).get_data(as_text=True)
    assert "Name is already taken" in refused
    assert 'value="ana"' in refused  # what the host typed stays, in that player's form


def test_a_removed_phone_is_told_and_cannot_come_back_under_any_name(app, night):
    night.act("rounds", {"contenders": "Serral\nMaru"})
    night.troll.post(f"/play/{night.code}/picks", {f"q{night.q}": "Maru"}, status=303)
    night.on_player("Troll", "remove")

    for _ in range(2):  # and on every reload
        assert "The host removed you from this game" in night.page("troll", status=403)
    refused = night.troll.post("/join", {"code": night.code, "name": "Innocent"}, status=403)
    assert "You were removed from this game" in refused.get_data(as_text=True)
    assert "Troll" not in text(night.page("screen"))
    # the name is free for someone else
    Browser(app).post("/join", {"code": night.code, "name": "Troll"})
    assert "Troll" in text(night.page("screen"))


class Details(HTMLParser):
    """The action of every POST form, and whether it sits inside a <details class="confirm">."""

    def __init__(self):
        super().__init__()
        self.depth, self.forms = [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self.depth.append("confirm" in (attrs.get("class") or ""))
        if tag == "form" and attrs.get("method") == "post":
            self.forms[attrs["action"]] = any(self.depth)

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth.pop()


def test_destructive_actions_ask_first_without_javascript(night):
    night.act("rounds", {"contenders": "Serral\nMaru"})
    parser = Details()
    parser.feed(night.page("host"))
    base = f"/host/{night.code}"
    for action in ("cancel", "end", f"players/{night.ids['Troll']}/remove"):
        assert parser.forms[f"{base}/{action}"] is True, action
    for action in ("lock", "extend", f"players/{night.ids['Troll']}/rename"):
        assert parser.forms[f"{base}/{action}"] is False, action


def test_host_controls_in_german(app, night):
    for browser in (night.host, night.ana, night.troll):
        browser.client.get("/language/de?next=/")
    night.host.client.get(f"/language/de?next=/screen/{night.code}")  # the projector's own choice
    night.act("rounds", {"contenders": "Serral\nMaru", "seconds": "90"})
    host = text(night.page("host"))
    for german in ("Spieler umbenennen oder entfernen", "Troll entfernen", "Mehr Zeit:", "+1 Min.",
                   "Runde abbrechen", "Runde 1 abbrechen? Ihre Tipps bringen dann keine Punkte.",
                   "Ja, Spiel beenden"):
        assert german in host, german
    for who in ("ana", "screen"):
        assert re.search(r"Die Tipps werden gesperrt in (1:30|1:29)", text(night.page(who))), who
    night.act("lock")
    assert "Tipps wieder öffnen (zu früh gesperrt)" in text(night.page("host"))
    night.act("cancel")
    assert "Runde 1 abgebrochen" in text(night.page("ana"))
    screen = night.page("screen")
    assert "Runde abgebrochen. Diesmal keine Punkte." in text(screen)
    assert '<span class="badge cancelled">abgebrochen</span>' in screen
    assert "Runde 1 wurde abgebrochen: Niemand hat darin Punkte bekommen." in text(night.page("host"))
    refused = night.act("cancel", status=409).get_data(as_text=True)
    assert "Runde 1 ist schon abgebrochen" in text(refused)
    refused = night.act("reopen", status=409).get_data(as_text=True)
    assert "Runde 1 ist abgebrochen, nicht gesperrt" in text(refused)

    night.on_player("Troll", "remove")
    assert "Der Host hat dich aus diesem Spiel entfernt" in night.page("troll", status=403)
    refused = night.troll.post("/join", {"code": night.code, "name": "Innocent"}, status=403)
    assert "Du wurdest aus diesem Spiel entfernt" in refused.get_data(as_text=True)


def test_a_german_phone_says_where_its_player_stands(night):
    night.ana.client.get("/language/de?next=/")
    night.act("rounds", {"contenders": "Serral\nMaru"})
    night.ana.post(f"/play/{night.code}/picks", {f"q{night.q}": "Maru"})
    night.troll.post(f"/play/{night.code}/picks", {f"q{night.q}": "Serral"})
    night.act("lock")
    night.act("score", {f"q{night.q}": "Maru"})
    assert "Du bist 1. von 2" in text(night.page("ana"))
    assert "You're 2nd of 2" in text(night.page("troll"))  # the other phone is in English
