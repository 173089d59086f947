"""The same game with JavaScript off everywhere: forms post, every page renders the current
state, and a Refresh link stands in for live updates."""
import re

import pytest
from playwright.sync_api import Page, expect

from .helpers import expect_leaderboard

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"


def refresh(page: Page) -> None:
    """What a person without live updates does: follow the page's Refresh link."""
    page.bring_to_front()
    link = page.get_by_role("link", name="Refresh")
    expect(link).to_be_visible()
    link.click()


def test_full_game_without_javascript(callit, new_context):
    ids = callit.add_questions(WIN, EXPAND)
    laptop = new_context("desktop", javascript=False)
    host = laptop.new_page()
    code = callit.host_game(host, ids.values(), title="Unplugged night")
    expect(host.locator("#connection")).to_have_text("Live updates need JavaScript")
    screen = laptop.new_page()
    screen.goto(callit.at(f"/screen/{code}"))
    join_url = callit.at(f"/join/{code}")
    expect(screen.get_by_role("img", name=f"QR code for {join_url}")).to_be_visible()

    phones = {name: new_context("phone", javascript=False).new_page() for name in ("Ana", "Ben")}
    ana, ben = phones.values()
    callit.join(ana, join_url, "Ana")
    ben.goto(callit.at("/"))
    ben.get_by_label("Room code").fill(code)
    callit.join(ben, None, "Ben")
    expect(ben.locator("#lobby .players li")).to_have_text(["Ana", "Ben"])
    expect(ana.locator("#lobby .players li")).to_have_text(["Ana"])  # rendered before Ben came
    refresh(ana)
    expect(ana.locator("#lobby .players li")).to_have_text(["Ana", "Ben"])

    refresh(host)
    expect(host.locator("#players li")).to_have_text(["Ana", "Ben"])
    callit.start_round(host, "Serral", "Maru")

    for phone in phones.values():
        expect(phone.locator("#lobby")).to_be_visible()  # nothing changes by itself...
        refresh(phone)  # ...until the page is fetched again
        expect(phone.get_by_role("heading", name=re.compile("^Round 1: make your calls"))).to_be_visible()
    callit.pick(ana, {WIN: "Serral", EXPAND: "Maru"})
    callit.pick(ben, {WIN: "Maru", EXPAND: "Maru"})
    expect(ana.get_by_role("button", name="Update my picks")).to_be_visible()
    callit.pick(ana, {EXPAND: "Serral"})  # a change of mind before the lock
    refresh(screen)
    expect(screen.locator("#screen-round")).to_contain_text("2 of 2 have picked")

    refresh(host)
    callit.lock(host)
    expect(host.locator("#picks tbody tr")).to_have_text([
        re.compile(r"^\s*Ana\s*Serral\s*Serral\s*$"), re.compile(r"^\s*Ben\s*Maru\s*Maru\s*$")])
    refresh(ana)
    expect(ana.locator("#waiting")).to_contain_text(f"{EXPAND} — Serral")

    callit.score(host, {WIN: "Serral", EXPAND: "Maru"})
    expect_leaderboard(host.locator("#host-leaderboard"), (1, "Ana", 1), (1, "Ben", 1))
    for name, phone in phones.items():
        refresh(phone)
        expect(phone.locator("#results")).to_contain_text("Round 1 results")
        expect_leaderboard(phone.locator("main"), (1, "Ana", 1), (1, "Ben", 1))
        expect(phone.locator("tr.me")).to_contain_text(name)

    callit.end(host)
    refresh(screen)
    expect(screen.get_by_role("heading", name="Final standings")).to_be_visible()
    expect_leaderboard(screen.locator("#screen-leaderboard"), (1, "Ana", 1), (1, "Ben", 1))
    for phone in phones.values():
        refresh(phone)
        expect(phone.get_by_role("heading", name="Game over")).to_be_visible()
