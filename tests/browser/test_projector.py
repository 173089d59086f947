"""The projector screen never scrolls (issue 12): at 720p, 1080p and 4K, with 0 to 2,000
players, in every phase, the page fits the viewport, the room code and the top of the
leaderboard are in view, and what it shows (who picked, the crowd split, who called it) is
what the database holds.

Big lobbies are written straight into the test's database (players and picks are rows; 2,000
HTTP joins would only test the join route again); the rounds move on through the API, and the
screen is loaded again after each step, as a projector left on would be refreshed live."""
from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, func, select

from questions.core.access import hash_token, new_token
from questions.core.models import Game, Pick, Player, Round, RoundQuestion
from questions.game.games import name_key

from .helpers import settle

pytestmark = pytest.mark.browser

VIEWPORTS = [(1280, 720), (1920, 1080), (3840, 2160)]
COUNTS = [0, 8, 30, 200, 2000]
QUESTIONS = ["Who will win?",
             "Who builds the first expansion, and does it survive the first push of the match "
             "before the five-minute mark?",
             "Who loses the first unit?"]
CONTENDERS = ["Serral", "Maru", "Clem"]
SHOWN_NAMES, SHOWN_STANDINGS = 20, 10

# Everything the screen shows must be inside the viewport (not merely "not scrolling"):
# any visible element of the page whose box leaves it is named.
OUTSIDE = """() => Array.from(document.querySelectorAll("body *"))
    .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden"
                  && !el.closest(".sr-only"))
    .filter(el => { const r = el.getBoundingClientRect();
                    return r.width > 1 && (r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5
                                           || r.top < -0.5 || r.left < -0.5); })
    .map(el => el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
                                           ? "." + el.className : "") + ": " + el.textContent.trim().slice(0, 40))"""
# Text smaller than wanted, among the visible text of the page's main part.
SMALL_TEXT = """(least) => Array.from(document.querySelectorAll("main *"))
    .filter(el => el.getClientRects().length && !el.closest(".sr-only")
                  && Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim()))
    .map(el => [el.textContent.trim().slice(0, 30), parseFloat(getComputedStyle(el).fontSize)])
    .filter(([, size]) => size < least)"""


class Room:
    """A game on the browser server whose players and picks are written straight to its
    database; the rounds move on through the API as the host's would."""

    def __init__(self, callit, engine, players: int, tag: str, questions=QUESTIONS,
                 contenders=CONTENDERS):
        self.callit, self.engine, self.contenders = callit, engine, list(contenders)
        ids = callit.add_questions(*questions)
        self.qids = list(ids.values())
        self.code, self.host = callit.api_game(self.qids, title=f"Projector {tag}")
        with engine.begin() as conn:
            self.game_id = conn.scalar(select(Game.id).where(Game.code == self.code,
                                                             Game.status == "open"))
        self.random = random.Random(players)
        self.players: list[int] = []
        self.add_players([self.name(n) for n in range(players)])

    @staticmethod
    def name(n: int) -> str:
        # every fifth name is as long as a name may be (24 characters): it must not push the layout
        return f"Wolfeschlegelsteinh {n:04}" if n % 5 == 3 else f"Player {n}"

    def add_players(self, names: list[str]) -> None:
        """Players written straight to the database (none: just read who is in now)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [{"game_id": self.game_id, "name": name, "name_key": name_key(name),
                 "token_hash": hash_token(new_token()), "joined_at": now} for name in names]
        with self.engine.begin() as conn:
            if rows:
                conn.execute(Player.__table__.insert(), rows)
            self.players = list(conn.scalars(select(Player.id).where(Player.game_id == self.game_id)
                                             .order_by(Player.id)))

    def host_call(self, path: str, json: dict | None = None) -> dict:
        return self.callit.api_host(self.code, self.host, path, json)

    def round_id(self) -> int:
        with self.engine.begin() as conn:
            return conn.scalar(select(Round.id).where(Round.game_id == self.game_id)
                               .order_by(Round.number.desc()).limit(1))

    def pick(self, share: float, exclude: int | None = None) -> int:
        """Picks for the first ``share`` of the players (but ``exclude``), a contender per
        question each, at random; returns how many players picked."""
        pickers = [p for p in self.players[:round(len(self.players) * share)] if p != exclude]
        self._insert_picks([(player, q, self.random.choice(self.contenders))
                            for player in pickers for q in self.qids])
        return len(pickers)

    def pick_as(self, player: int, answers: list[str]) -> None:
        self._insert_picks([(player, q, a) for q, a in zip(self.qids, answers, strict=True)])

    def _insert_picks(self, picks: list[tuple[int, int, str]]) -> None:
        round_id, now = self.round_id(), datetime.now(UTC).replace(tzinfo=None)
        if picks:
            with self.engine.begin() as conn:
                conn.execute(Pick.__table__.insert(), [
                    {"round_id": round_id, "player_id": player, "question_id": q, "answer": answer,
                     "picked_at": now} for player, q, answer in picks])

    def stored_split(self) -> dict[int, dict[str, int]]:
        split = {q: dict.fromkeys(self.contenders, 0) for q in self.qids}
        with self.engine.begin() as conn:
            for q, answer, count in conn.execute(
                    select(Pick.question_id, Pick.answer, func.count()).where(Pick.round_id == self.round_id())
                    .group_by(Pick.question_id, Pick.answer)):
                split[q][answer] = count
        return split

    def stored_answers(self) -> dict[int, str]:
        with self.engine.begin() as conn:
            return dict(conn.execute(select(RoundQuestion.question_id, RoundQuestion.answer)
                                     .where(RoundQuestion.round_id == self.round_id())).all())

    def score(self, answers: list[str]) -> None:
        self.host_call("/rounds/current/score", {"answers": [
            {"question_id": q, "answer": a} for q, a in zip(self.qids, answers, strict=True)]})


@pytest.fixture(scope="module")
def engine(migrated_db):
    engine = create_engine(migrated_db)
    yield engine
    engine.dispose()


def check_fits(page: Page, phase: str, players: int) -> None:
    """At every viewport: no scrolling, nothing outside the viewport, the code and the first
    leaderboard row in view, body text big enough at 1080p."""
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        label = f"{phase}, {players} players, {width}x{height}"
        sizes = page.evaluate("""() => [
            document.documentElement.scrollWidth, document.documentElement.scrollHeight,
            document.body.scrollWidth, document.body.scrollHeight, innerWidth, innerHeight]""")
        assert max(sizes[0], sizes[2]) <= sizes[4], f"{label}: scrolls sideways: {sizes}"
        assert max(sizes[1], sizes[3]) <= sizes[5], f"{label}: scrolls down: {sizes}"
        outside = page.evaluate(OUTSIDE)
        assert not outside, f"{label}: outside the viewport: {outside[:8]}"
        expect(page.locator("#join-panel .code")).to_be_in_viewport(ratio=1)
        expect(page.locator("#join-panel .code")).to_have_text(re.compile(r"^[A-Z]{4}$"))
        if phase != "lobby" and players:
            expect(page.locator("#screen-leaderboard tbody tr").first).to_be_in_viewport(ratio=1)
        if (width, height) == (1920, 1080):
            small = page.evaluate(SMALL_TEXT, 28)
            assert not small, f"{label}: text under 28px: {small}"


def load(page: Page, callit, code: str) -> None:
    page.goto(callit.at(f"/screen/{code}"))
    settle(page)


@pytest.mark.parametrize("players", COUNTS)
def test_the_screen_fits_every_viewport_in_every_phase(players, callit, engine, new_context, screenshot):
    page = new_context("desktop").new_page()
    room = Room(callit, engine, players, f"{players}")
    shots = players == 30  # the README's screenshots: a room of 30

    # lobby: code, QR, join URL, how many are in, the newest names and "+N more"
    load(page, callit, room.code)
    check_fits(page, "lobby", players)
    expect(page.get_by_role("img", name=re.compile("^QR code for "))).to_be_in_viewport(ratio=1)
    expect(page.locator("#join-panel")).to_contain_text(callit.at(f"/join/{room.code}"))
    expect(page.locator("#screen-players h2")).to_have_text(f"Players ({players})")
    newest = [Room.name(n) for n in reversed(range(players))][:SHOWN_NAMES]
    expect(page.locator("#screen-players .names li")).to_have_text(newest or ["Waiting for players…"])
    if players > SHOWN_NAMES:
        expect(page.locator("#screen-players .more")).to_have_text(f"+{players - SHOWN_NAMES} more")
        expect(page.locator("#screen-players .more")).to_be_in_viewport(ratio=1)
    else:
        expect(page.locator("#screen-players .more")).to_have_count(0)
    if shots:
        page.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(page, "screen-lobby")

    # round 1 is played, so round 2's board has movement to show
    room.host_call("/rounds", {"contenders": CONTENDERS})
    room.pick(1.0)
    room.host_call("/rounds/current/lock")
    room.score(["Serral", "Maru", "Clem"])

    # open: the questions, "k of n have picked" with a progress bar; the join panel in a corner
    room.host_call("/rounds", {"contenders": CONTENDERS})
    picked = room.pick(0.77)
    asking = [Room.name(n) for n in (3, 0) if n < players]  # the longest name first
    for name in asking:  # players who lost their phone ask to get back in: the screen says so
        response = requests.post(callit.at(f"/api/games/{room.code}/rejoin-requests"),
                                 json={"name": name}, timeout=10)
        assert response.status_code == 202, response.text
    load(page, callit, room.code)
    check_fits(page, "open", players)
    if asking:
        expect(page.locator("#screen-rejoins")).to_have_text(
            f"{asking[0]} and 1 more want back in — the host decides" if len(asking) == 2
            else f"{asking[0]} wants back in — the host decides")
    expect(page.locator("#screen-round .picked-count")).to_contain_text(f"{picked} of {players} have picked")
    bar = page.locator("progress.picked-bar")
    expect(bar).to_have_attribute("value", str(picked))
    expect(bar).to_be_in_viewport(ratio=1)
    expect(page.locator("#screen-round .screen-questions li")).to_have_count(len(QUESTIONS))
    expect(page.locator(".join-corner img.qr")).to_be_in_viewport(ratio=1)
    expect(page.locator("#screen-leaderboard td.move")).to_have_count(0)  # no board before round 1's
    if shots:
        page.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(page, "screen-round")

    # locked: the crowd split, per question a bar per contender with count and percentage
    room.host_call("/rounds/current/lock")
    load(page, callit, room.code)
    check_fits(page, "locked", players)
    for q, counts in room.stored_split().items():
        votes = sum(counts.values())
        for contender, count in counts.items():
            share = page.locator(f".split[data-question='{q}'] li[data-contender='{contender}']")
            percent = round(100 * count / votes) if votes else 0
            expect(share.locator(".tally")).to_have_text(f"{count} · {percent}%")
            expect(share.locator("svg .fill")).to_have_attribute("width", str(percent))
            expect(share).to_be_in_viewport(ratio=1)
    if shots:
        page.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(page, "screen-split")

    # scored: the right answers and how many called each; the top 10 with who moved
    room.score(["Maru", "Maru", "Serral"])
    load(page, callit, room.code)
    check_fits(page, "scored", players)
    split = room.stored_split()
    for q, answer in room.stored_answers().items():
        item = page.locator(f".answers li[data-question='{q}']")
        expect(item.locator(".right")).to_have_text(answer)
        expect(item.locator(".called")).to_have_text(str(split[q][answer]))
    board = requests.get(callit.at(f"/api/games/{room.code}/leaderboard?limit={SHOWN_STANDINGS}"),
                         timeout=10).json()
    rows = page.locator("#screen-leaderboard tbody tr")
    if players:
        expect(rows).to_have_count(min(players, SHOWN_STANDINGS))
        for row, standing in zip(rows.all(), board["standings"], strict=True):
            before, now = standing["previous_rank"], standing["rank"]
            move = ("new" if before is None else f"▲{before - now}" if before > now
                    else f"▼{now - before}" if before < now else "=")
            expect(row.locator("td.move span[aria-hidden]")).to_have_text(move)
            expect(row.locator("td.name")).to_have_text(standing["name"])
    if players > SHOWN_STANDINGS:
        expect(page.locator("#screen-leaderboard .more")).to_have_text(f"and {players - SHOWN_STANDINGS} more")
        expect(page.locator("#screen-leaderboard .more")).to_be_in_viewport(ratio=1)
    if shots:
        page.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(page, "screen-scored")

    # ended: the podium, then the top 10
    room.host_call("/end")
    load(page, callit, room.code)
    check_fits(page, "ended", players)
    podium = page.locator(".podium li .name")
    expect(podium).to_have_text([s["name"] for s in board["standings"][:3]])
    if shots:
        page.set_viewport_size({"width": 1920, "height": 1080})
        screenshot(page, "screen-podium")


LONG_QUESTIONS = [f"Question {n}: " + "will the underdog take a map off the favourite " * (10 if n == 1 else 2)
                  for n in range(1, 8)]
LONG_CONTENDERS = [f"{name} the Unbelievably Long-Named Champion"[:40]
                   for name in ("Serral", "Maru", "Clem", "Reynor", "Dark", "herO", "Cure", "Oliveira")]


def test_the_most_a_round_can_hold_still_fits(callit, engine, new_context):
    """Eight contenders with 40-character names, seven questions (one of 500 characters) and
    names of 24 characters: the screen still fits, saying how many questions it leaves out."""
    page = new_context("desktop").new_page()
    room = Room(callit, engine, 30, "crowded", questions=[q[:500] for q in LONG_QUESTIONS],
                contenders=LONG_CONTENDERS)
    room.add_players([f"{'W' * 20}{n:04}" for n in range(12)])
    for _round in (1, 2):
        room.host_call("/rounds", {"contenders": LONG_CONTENDERS})
        room.pick(0.9)
        load(page, callit, room.code)
        check_fits(page, "open", 42)
        expect(page.locator("#screen-round .more")).to_have_text("+3 more questions on your phones")
        room.host_call("/rounds/current/lock")
        load(page, callit, room.code)
        check_fits(page, "locked", 42)
        expect(page.locator("#screen-round .more")).to_have_text("+4 more questions on your phones")
        room.score([LONG_CONTENDERS[n] for n in range(len(room.qids))])
        load(page, callit, room.code)
        check_fits(page, "scored", 42)
    room.host_call("/end")
    load(page, callit, room.code)
    check_fits(page, "ended", 42)


ROW_ANIMATIONS = """() => document.getAnimations()
    .filter(a => a.effect && a.effect.target && a.effect.target.tagName === "TR").length"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_bars_grow_and_rows_move_unless_asked_for_less_motion(motion, callit, engine, new_context):
    room = Room(callit, engine, 8, f"motion {motion}")
    room.host_call("/rounds", {"contenders": CONTENDERS})
    room.pick(1.0)
    room.host_call("/rounds/current/lock")
    page = new_context("desktop", reduced_motion=motion).new_page()
    load(page, callit, room.code)
    grow = page.locator(".split .fill").first.evaluate("el => getComputedStyle(el).animationName")
    assert grow == ("grow" if motion == "no-preference" else "none")

    # scoring reorders the board live: the rows glide to their new places, or simply appear
    room.score(["Serral", "Maru", "Clem"])
    expect(page.locator(".answers")).to_be_visible()
    moving = page.evaluate(ROW_ANIMATIONS)
    assert (moving > 0) if motion == "no-preference" else (moving == 0), moving


def test_without_javascript_the_screen_refreshes_itself(callit, engine, new_context):
    """Nobody presses Refresh on a projector: without JavaScript the page reloads itself."""
    room = Room(callit, engine, 3, "unplugged")
    page = new_context("desktop", javascript=False).new_page()
    load(page, callit, room.code)
    expect(page.locator("#screen-players h2")).to_have_text("Players (3)")
    room.add_players(["Latecomer"])
    expect(page.locator("#screen-players h2")).to_have_text("Players (4)", timeout=15_000)
    expect(page.locator("#screen-players .names li").first).to_have_text("Latecomer")
