"""What a host, a phone and the projector do, as steps the browser tests share.

Everything goes through the pages as a person would (forms, buttons, labels), except setup
that no page offers in one step: bank questions and, where a test needs a host it does not
watch, a game made through the JSON API."""
from __future__ import annotations

import re
from pathlib import Path

import requests
from playwright.sync_api import Locator, Page, expect

AXE_PATH = Path(__file__).resolve().parent.parent / "vendor" / "axe.min.js"
GAME_URL = re.compile(r"/(host|play|screen)/([A-Z]{4})(\?.*)?$")
MARKER = "__callitSameDocument"
SUBMIT_PICKS = re.compile(r"^(Lock in|Update) my picks$")


class Callit:
    """The live server, and the steps of a game."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def at(self, path: str) -> str:
        return self.url + path

    # ---------------------------------------------------------------- setup through the API

    def add_questions(self, *bodies: str) -> dict[str, int]:
        """Bank questions (bodies need not be unique in the bank): body -> id."""
        ids = {}
        for body in bodies:
            response = requests.post(self.at("/api/questions"), json={"body": body}, timeout=10)
            assert response.status_code == 201, response.text
            ids[body] = response.json()["id"]
        return ids

    def api_game(self, question_ids, title: str | None = None) -> tuple[str, str]:
        """A game made through the API: (code, host token). Its host page is not reachable
        from a browser (the token is not in any session), so tests host it with ``api_host``."""
        response = requests.post(self.at("/api/games"), json={"question_ids": list(question_ids),
                                                               "title": title}, timeout=10)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["code"], body["host_token"]

    def api_host(self, code: str, token: str, path: str, json: dict | None = None) -> dict:
        response = requests.post(self.at(f"/api/games/{code}{path}"), json=json or {},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()

    # ---------------------------------------------------------------- the host, in a browser

    def host_game(self, page: Page, question_ids, title: str = "StarCraft night") -> str:
        """Create a game through the / form (the host token lands in this browser's session
        cookie) and return its code; the page is left on /host/{code}."""
        page.goto(self.at("/"))
        ticked = page.locator("input[name=question_ids]:checked")  # the page's default choice
        for _ in range(ticked.count()):
            ticked.first.uncheck()
        for question_id in question_ids:
            page.locator(f"input[name=question_ids][value='{question_id}']").check()
        page.get_by_label("Title").fill(title)
        page.get_by_role("button", name="Start a game").click()
        expect(page).to_have_url(GAME_URL)
        settle(page)
        return GAME_URL.search(page.url).group(2)

    @staticmethod
    def start_round(page: Page, *contenders: str) -> None:
        page.bring_to_front()
        page.get_by_label("Contenders").fill("\n".join(contenders))
        page.get_by_role("button", name="Start round").click()
        expect(page.locator("#round")).to_contain_text(" vs ".join(contenders))
        settle(page)

    @staticmethod
    def lock(page: Page) -> None:
        page.bring_to_front()
        page.get_by_role("button", name=re.compile("^Lock picks")).click()
        expect(page.locator("#mark")).to_contain_text("mark the right answers")
        settle(page)

    @staticmethod
    def score(page: Page, answers: dict[str, str]) -> None:
        """Mark the right contender per question (question body -> contender)."""
        page.bring_to_front()
        mark = page.locator("#mark")
        for body, contender in answers.items():
            mark.get_by_role("group", name=body).get_by_role("radio", name=contender).check()
        mark.get_by_role("button", name="Score the round").click()
        expect(page.locator("#mark")).to_contain_text("correct the answers")
        settle(page)

    @staticmethod
    def end(page: Page) -> None:
        page.bring_to_front()
        confirm(page, "End the game", "Yes, end the game")
        expect(page.get_by_role("heading", name="The game has ended")).to_be_visible()
        settle(page)

    # ---------------------------------------------------------------- a phone

    def join(self, page: Page, url: str | None, name: str) -> str:
        """Open ``url`` (a /join page; None: stay on the current page), join as ``name``;
        returns the game code from the /play URL the phone lands on."""
        if url:
            page.goto(url)
        page.get_by_label("Your name").fill(name)
        page.get_by_role("button", name=re.compile("^Join")).click()
        expect(page).to_have_url(GAME_URL)
        settle(page)
        return GAME_URL.search(page.url).group(2)

    @staticmethod
    def choose(page: Page, picks: dict[str, str]) -> None:
        """Tick one contender per question (body -> contender), without sending."""
        for body, contender in picks.items():
            radio = page.get_by_role("group", name=body).get_by_role("radio", name=contender)
            radio.check()
            expect(radio).to_be_checked()

    def pick(self, page: Page, picks: dict[str, str]) -> None:
        """Pick and wait until it is saved. With JavaScript each tap saves itself (the button
        then says "saved ✓"); without, the form's button sends them all ("Picks saved")."""
        page.bring_to_front()
        self.choose(page, picks)
        if page.locator("html.js").count():
            for body, contender in picks.items():
                expect(choice(page, body, contender)).to_have_attribute("data-state", "saved")
        else:
            page.get_by_role("button", name=SUBMIT_PICKS).click()
            expect(page.get_by_role("status").filter(has_text="Picks saved")).to_be_visible()
        settle(page)


def confirm(page: Page, action: str, yes: str, scope: Locator | None = None) -> None:
    """A destructive host action: unfold its question (templates/_confirm.html), then confirm."""
    scope = scope or page.locator("#live")
    question = scope.locator("details.confirm").filter(has=page.locator("summary", has_text=action))
    question.locator("summary").click()
    question.get_by_role("button", name=yes).click()


def choice(page: Page, body: str, contender: str) -> Locator:
    """The button (label) of one contender in one question on a phone."""
    group = page.get_by_role("group", name=body)
    return group.locator("label.choice").filter(has=page.get_by_role("radio", name=contender))


# -------------------------------------------------------------------- assertions

def settle(page: Page) -> None:
    """Wait until the page has loaded and, if it is a live page running its script, until it
    is connected and its panel is up to date (live.js keeps ``aria-busy`` on the panel from
    load until the first fetch after connecting, and during every later fetch)."""
    page.wait_for_load_state("load")
    if page.locator("html.js [data-live]").count():
        expect(page.locator("#connection")).to_have_text("● Live")
        expect(page.locator("[data-live]")).not_to_have_attribute("aria-busy", "true")


def mark_document(page: Page) -> None:
    """Tag the current document; ``assert_same_document`` fails if the page has since been
    reloaded or has navigated (the tag lives only as long as the document)."""
    page.evaluate(f"window.{MARKER} = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate(f"window.{MARKER} === true"), f"{page.url} was reloaded or navigated"


def leaderboard_rows(*rows: tuple[int, str, int]) -> list[re.Pattern]:
    """Row patterns for ``expect(table.locator("tbody tr")).to_have_text(...)``."""
    return [re.compile(rf"^\s*{rank}\s*{MOVEMENT}\s*{re.escape(name)}(\s*\(you\))?\s*{points}\s*$")
            for rank, name, points in rows]


# the movement cell once two rounds are scored (pages.movement): its sign, then its spoken label
MOVEMENT = r"(?:[▲▼]\d+\s*(?:up|down) \d+|=\s*same place|new\s*new on the board)?"


def expect_leaderboard(scope: Locator, *rows: tuple[int, str, int]) -> None:
    expect(scope.locator("table.leaderboard tbody tr")).to_have_text(leaderboard_rows(*rows))


def run_axe(page: Page, *, tags: list[str] | None = None, rules: dict | None = None) -> list[dict]:
    """axe-core's violations on the page as it is now (needs a context made with ``axe=True``)."""
    options = {"resultTypes": ["violations"]}
    if tags:
        options["runOnly"] = {"type": "tag", "values": tags}
    if rules:
        options["rules"] = rules
    return page.evaluate(
        """async (options) => (await axe.run(document, options)).violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}))""",
        options)


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"[{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
                     for v in violations)
