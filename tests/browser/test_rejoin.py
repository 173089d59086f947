"""Getting back in: a player on a new browser (another phone, cleared cookies) types their taken
name, asks the host, and once the host allows it is that same player, with points and picks;
the old browser is signed out and says so."""
import re

import pytest
from playwright.sync_api import expect

from .helpers import GAME_URL, choice, expect_leaderboard, settle

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_rejoin_from_another_browser_through_the_hosts_allow(callit, new_context, screenshot,
                                                              javascript):
    ids = callit.add_questions(WIN, EXPAND)
    laptop = new_context("desktop")
    host = laptop.new_page()
    code = callit.host_game(host, ids.values(), title="Back-in night")
    screen = laptop.new_page()
    screen.goto(callit.at(f"/screen/{code}"))
    settle(screen)

    old_phone = new_context("phone").new_page()
    callit.join(old_phone, callit.at(f"/join/{code}"), "Ana")
    callit.start_round(host, "Serral", "Maru")
    callit.pick(old_phone, {WIN: "Serral"})
    callit.lock(host)
    callit.score(host, {WIN: "Serral", EXPAND: "Maru"})
    callit.start_round(host, "Serral", "Maru")
    callit.pick(old_phone, {WIN: "Maru"})

    # A new browser: the name is taken, and the page offers to ask the host.
    new_phone = new_context("phone", javascript=javascript).new_page()
    new_phone.goto(callit.at(f"/join/{code}"))
    new_phone.get_by_label("Your name").fill("ana")
    new_phone.get_by_role("button", name="Join game").click()
    expect(new_phone.get_by_role("alert")).to_contain_text("Name is already taken")
    new_phone.get_by_role("button", name="That's me — ask the host to let me back in").click()
    expect(new_phone.get_by_role("heading", name="Asking the host…")).to_be_visible()

    # The host and the screen see it; the host allows it.
    expect(host.locator("#rejoins")).to_contain_text("Ana wants back in")
    expect(screen.locator("#screen-rejoins")).to_contain_text("Ana wants back in")
    screenshot(host, "host-rejoin")
    host.bring_to_front()
    host.get_by_role("button", name="Allow Ana back in").click()
    expect(host.locator("#rejoins")).to_have_count(0)
    expect(screen.locator("#screen-rejoins")).to_have_count(0)

    # The new browser is Ana: same points (1) and the pick of the open round.
    if not javascript:
        new_phone.get_by_role("link", name="Check again").click()
    expect(new_phone).to_have_url(GAME_URL)
    settle(new_phone)
    expect(new_phone.locator("#me")).to_contain_text("Playing as Ana")
    if javascript:
        expect(choice(new_phone, WIN, "Maru")).to_have_attribute("data-state", "saved")
    else:
        expect(new_phone.get_by_role("group", name=WIN).get_by_role("radio", name="Maru")).to_be_checked()
    expect(host.locator("#players li")).to_have_text(["Ana"])  # nobody new

    # The old browser is signed out and says so, by itself.
    expect(old_phone.get_by_role("heading", name="You're playing on another device now")).to_be_visible()
    old_phone.reload()  # it has forgotten the dead token: it may join again, under another name
    expect(old_phone.get_by_role("button", name="Join game")).to_be_visible()

    callit.lock(host)
    callit.score(host, {WIN: "Maru", EXPAND: "Maru"})
    if not javascript:
        new_phone.reload()
    expect_leaderboard(new_phone.locator("#main"), (1, "Ana", 2))


def test_the_host_can_deny(callit, new_context):
    ids = callit.add_questions(WIN)
    host = new_context("desktop").new_page()
    code = callit.host_game(host, ids.values())
    callit.join(new_context("phone").new_page(), callit.at(f"/join/{code}"), "Bea")

    stranger = new_context("phone").new_page()
    stranger.goto(callit.at(f"/join/{code}"))
    stranger.get_by_label("Your name").fill("Bea")
    stranger.get_by_role("button", name="Join game").click()
    stranger.get_by_role("button", name=re.compile("^That's me")).click()
    host.bring_to_front()
    host.get_by_role("button", name="Deny Bea").click()
    expect(stranger.get_by_role("heading", name="The host said no")).to_be_visible()
    expect(stranger.get_by_role("link", name="Join with another name")).to_be_visible()
