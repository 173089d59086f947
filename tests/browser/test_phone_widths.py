"""Phone pages never get wider than the phone: every state of the phone's pages, at 320×640 and
390×844, with a 24-character name that has no space to break at (the longest allowed), keeps
``scrollWidth <= innerWidth``. A longer name is refused with the limit, not cut. A player who
joins after a round sees what comes next, not that round's results."""
import re

import pytest
import requests
from playwright.sync_api import Page, expect

from .helpers import GAME_URL, settle

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"
LONG = "Bartholomew_Featherstone"  # 24 characters, no space
CONTENDERS = ("Serral_the_Finnish_Zerg", "Maru_the_Korean_Terran")
VIEWPORTS = [{"width": 320, "height": 640}, {"width": 390, "height": 844}]


def fits(page: Page, state: str, live: bool = True) -> None:
    """``scrollWidth <= innerWidth``, where innerWidth is the phone's width: a mobile browser
    zooms a wider page out and then reports a wider ``window.innerWidth``, so it is compared
    with the viewport the page was given as well."""
    if live:
        settle(page)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    width = page.viewport_size["width"]
    assert scroll <= inner <= width, (
        f"{state}: the page is {scroll}px wide (innerWidth {inner}) on a {width}px phone")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_every_phone_state_fits_the_viewport_with_a_long_name(callit, new_context, viewport):
    ids = callit.add_questions(WIN, EXPAND)
    code, token = callit.api_game(ids.values(), title="A_title_without_any_spaces_in_it_at_all")
    rival = new_context("phone", viewport=viewport).new_page()
    callit.join(rival, callit.at(f"/join/{code}"), LONG[::-1])
    phone_context = new_context("phone", viewport=viewport)
    phone = phone_context.new_page()

    phone.goto(callit.at(f"/join/{code}"))
    fits(phone, "join")
    phone.get_by_label("Your name").fill(LONG + "_and_then_some_more")
    phone.get_by_role("button", name="Join game").click()
    expect(phone.get_by_role("alert")).to_contain_text("Name must be at most 24 characters")
    expect(phone.get_by_label("Your name")).to_have_value(LONG + "_and_then_some_more")  # not cut
    fits(phone, "join, name too long")
    phone.get_by_label("Your name").fill(LONG[::-1])
    phone.get_by_role("button", name="Join game").click()
    expect(phone.get_by_role("button", name=re.compile("^That's me"))).to_be_visible()
    fits(phone, "join, name taken")

    callit.join(phone, None, LONG)
    fits(phone, "lobby")
    callit.api_host(code, token, "/rounds", {"contenders": list(CONTENDERS)})
    expect(phone.get_by_role("group", name=WIN)).to_be_visible()
    fits(phone, "round open")
    callit.pick(phone, {WIN: CONTENDERS[0]})
    fits(phone, "a pick saved")
    phone_context.set_offline(True)
    phone.get_by_role("group", name=EXPAND).get_by_role("radio", name=CONTENDERS[1]).check()
    expect(phone.locator("label.choice[data-state=failed]")).to_contain_text("not saved — retrying")
    fits(phone, "a pick not saved", live=False)
    callit.api_host(code, token, "/rounds/current/lock")
    phone_context.set_offline(False)
    expect(phone.locator("#late-picks")).to_be_visible()
    fits(phone, "locked, with a late pick listed")
    callit.api_host(code, token, "/rounds/current/score",
                    {"answers": [{"question_id": ids[WIN], "answer": CONTENDERS[0]},
                                 {"question_id": ids[EXPAND], "answer": CONTENDERS[1]}]})
    expect(phone.locator("#results")).to_be_visible()
    fits(phone, "results and leaderboard")

    # A late joiner: the next round, not the last one's results.
    late = new_context("phone", viewport=viewport).new_page()
    callit.join(late, callit.at(f"/join/{code}"), "Zz" + LONG[2:])
    expect(late.get_by_role("heading", name="You're in — the next round starts soon")).to_be_visible()
    expect(late.locator("table.leaderboard")).to_contain_text(LONG)
    expect(late.locator("#results")).to_have_count(0)
    fits(late, "joined after a round")

    # Asking back in, from another browser, and the host's answer.
    other = new_context("phone", viewport=viewport).new_page()
    other.goto(callit.at(f"/join/{code}"))
    other.get_by_label("Your name").fill(LONG)
    other.get_by_role("button", name="Join game").click()
    other.get_by_role("button", name=re.compile("^That's me")).click()
    expect(other.get_by_role("heading", name="Asking the host…")).to_be_visible()
    fits(other, "asking the host")
    pending = requests_json(callit, f"/api/games/{code}/rejoin-requests")["requests"]
    callit.api_host(code, token, f"/rejoin-requests/{pending[0]['id']}/approve")
    expect(other).to_have_url(GAME_URL)
    fits(other, "back in")
    expect(phone.get_by_role("heading", name="You're playing on another device now")).to_be_visible()
    fits(phone, "signed out")

    callit.api_host(code, token, "/end")
    expect(other.get_by_role("heading", name="Game over")).to_be_visible()
    fits(other, "game over")


def requests_json(callit, path: str) -> dict:
    response = requests.get(callit.at(path), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
