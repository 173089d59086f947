"""The reveal on a phone (issue 12): after the lock the split, after scoring "You called 1 of 3
— you're 19th of 28 (▲6)", and a player outside the top 10 still sees their own line."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from questions.web.pages import ordinal

from .helpers import settle
from .test_projector import CONTENDERS, Room, engine  # noqa: F401 - the engine fixture

pytestmark = pytest.mark.browser


def test_a_phone_outside_the_top_10_sees_the_split_its_standing_and_its_own_line(
        callit, engine, new_context, screenshot):  # noqa: F811 - the fixture
    room = Room(callit, engine, 27, "phones")
    phone = new_context("phone").new_page()
    callit.join(phone, callit.at(f"/join/{room.code}"), "Zed")
    room.add_players([])
    zed = room.players[-1]

    # round 1: Zed calls nothing right; round 2: one of three
    for answers, zeds in ((["Serral", "Maru", "Clem"], ["Clem", "Clem", "Serral"]),
                          (["Maru", "Maru", "Serral"], ["Maru", "Clem", "Clem"])):
        room.host_call("/rounds", {"contenders": CONTENDERS})
        room.pick(1.0, exclude=zed)
        room.pick_as(zed, zeds)
        room.host_call("/rounds/current/lock")
        phone.reload()
        settle(phone)
        waiting = phone.locator("#waiting")
        for q, counts in room.stored_split().items():
            votes = sum(counts.values())
            for contender, count in counts.items():
                share = waiting.locator(f".shares[data-question='{q}'] li[data-contender='{contender}']")
                expect(share.locator(".tally")).to_have_text(f"{count} · {round(100 * count / votes)}%")
        room.score(answers)

    phone.reload()
    settle(phone)
    board = requests.get(callit.at(f"/api/games/{room.code}/leaderboard"), timeout=10).json()["standings"]
    mine = next(s for s in board if s["player_id"] == zed)
    assert mine["rank"] > 10, mine  # the case this test is about
    move = mine["previous_rank"] - mine["rank"]
    moved = f" (▲{move})" if move > 0 else f" (▼{-move})" if move < 0 else ""
    expect(phone.locator("#results .lead")).to_have_text(re.compile(
        rf"^You called 1 of 3 right this round\. You're {ordinal(mine['rank'])} of 28{re.escape(moved)}"))
    rows = phone.locator("table.standings tbody tr")
    expect(rows).to_have_count(12)  # the top 10, a gap, and Zed's own line
    expect(rows.nth(11)).to_have_class(re.compile(r"\bme\b"))
    expect(rows.nth(11)).to_contain_text("Zed (you)")
    expect(rows.nth(11).locator("td.num").first).to_have_text(str(mine["rank"]))
    expect(phone.locator("table.standings + .more")).to_have_text("and 17 more")
    screenshot(phone, "phone-results", full_page=True)

    room.host_call("/end")
    phone.reload()
    settle(phone)
    expect(phone.get_by_role("heading", name="Game over")).to_be_visible()
    expect(phone.locator("table.standings tr.me")).to_contain_text("Zed (you)")
