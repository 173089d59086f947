"""Host controls (issue 11) in real browsers: the host cancels a round, reopens an early lock,
renames and removes a player and runs a 10-second timed round; two phones and the projector
follow live; the removed phone says so and cannot come back under another name."""
import re
import time

import pytest
from playwright.sync_api import expect

from .helpers import assert_same_document, confirm, mark_document

pytestmark = pytest.mark.browser

QUESTION = "Who takes game one?"


def test_host_controls_live_on_phones_and_screen(callit, new_context, screenshot):
    ids = callit.add_questions(QUESTION)
    laptop = new_context("desktop")
    host = laptop.new_page()
    code = callit.host_game(host, ids.values(), title="Controls night")
    screen = laptop.new_page()
    screen.goto(callit.at(f"/screen/{code}"))
    expect(screen.locator("#connection")).to_have_text("● Live")
    ana, troll = new_context("phone").new_page(), new_context("phone").new_page()
    for phone, name in ((ana, "Ana"), (troll, "Troll")):
        phone.goto(callit.at(f"/join/{code}"))
        callit.join(phone, None, name)
        expect(phone.locator("#connection")).to_have_text("● Live")
    for page in (screen, ana, troll):
        mark_document(page)

    # cancel: asked first, then phones and screen say so, and round 2 can start at once
    callit.start_round(host, "Serral", "Maru")
    callit.pick(troll, {QUESTION: "Maru"})
    host.bring_to_front()
    cancel = host.locator("#round details.confirm")
    cancel.locator("summary").click()
    expect(cancel).to_contain_text("Cancel round 1? Its picks will score nothing.")
    cancel.get_by_role("button", name="Yes, cancel the round").click()
    expect(ana.get_by_role("heading", name=re.compile("^Round 1 cancelled"))).to_be_visible()
    expect(screen.locator("#screen-round")).to_contain_text("Round cancelled")
    expect(host.locator("#start-round")).to_contain_text("Round 1 was cancelled")

    # reopen a lock pressed too early: the phones can pick again
    callit.start_round(host, "Serral", "Maru")
    callit.pick(ana, {QUESTION: "Maru"})
    callit.lock(host)
    expect(ana.get_by_role("heading", name=re.compile("picks are locked"))).to_be_visible()
    host.get_by_role("button", name="Reopen picks (locked too early)").click()
    expect(ana.get_by_role("heading", name=re.compile("^Round 2: make your calls"))).to_be_visible()
    callit.pick(ana, {QUESTION: "Serral"})

    # rename the troll: the projector and the phone itself follow
    host.bring_to_front()
    host.locator("#manage-players details.manage > summary").click()
    host.get_by_label("New name for Troll").fill("Nice Name")
    host.locator("form[data-key^='rename-']").filter(has=host.get_by_label("New name for Troll")) \
        .get_by_role("button", name="Rename").click()
    expect(host.locator("#players li")).to_have_text(["Ana", "Nice Name"])
    expect(screen.locator("#screen-leaderboard")).to_contain_text("Nice Name")
    expect(troll.locator("#me .name")).to_have_text("Nice Name")

    # remove them: their phone says so; the screen and the leaderboard lose them
    expect(host.get_by_label("New name for Nice Name")).to_be_visible()  # still unfolded
    confirm(host, "Remove Nice Name", "Yes, remove Nice Name")
    expect(troll.get_by_role("heading", name="The host removed you from this game")).to_be_visible()
    expect(screen.locator("#screen-leaderboard")).not_to_contain_text("Nice Name")
    expect(host.locator("#players li")).to_have_count(1)
    screenshot(troll, "phone-removed")
    troll.reload()
    expect(troll.get_by_role("heading", name="The host removed you from this game")).to_be_visible()
    troll.goto(callit.at(f"/join/{code}"))
    troll.get_by_label("Your name").fill("Innocent")
    troll.get_by_role("button", name="Join").click()
    expect(troll.get_by_role("alert")).to_contain_text("You were removed from this game")

    # a 10-second timed round: everyone counts down on the server's clock, and it locks by itself
    callit.lock(host)
    callit.score(host, {QUESTION: "Serral"})
    host.get_by_label("Contenders").fill("Serral\nMaru")
    host.get_by_label(re.compile("^Timer in seconds")).fill("10")
    host.get_by_role("button", name="Start round").click()
    for page in (host, screen, ana):
        expect(page.locator(".countdown")).to_contain_text(re.compile(r"Picks lock in 0:(0\d|10)"))
    screenshot(screen, "screen-countdown")
    started = time.monotonic()
    callit.pick(ana, {QUESTION: "Serral"})
    expect(ana.get_by_role("heading", name=re.compile("^Round 3: picks are locked"))).to_be_visible(timeout=15_000)
    expect(screen.locator("#screen-round")).to_contain_text("Picks are locked")
    expect(host.locator("#mark")).to_contain_text("mark the right answers")
    assert time.monotonic() - started < 12.5
    for page in (screen, ana):
        assert_same_document(page)  # all of it live, no reloads


def test_what_the_host_typed_in_one_form_survives_sending_another(callit, new_context):
    """Sending one of the host's forms swaps the answer in; what was typed in the others (the
    next round's contenders, say, typed while a cancel or a rename is being answered) stays."""
    ids = callit.add_questions(QUESTION)
    host = new_context("desktop").new_page()
    code = callit.host_game(host, ids.values())
    phone = new_context("phone").new_page()
    phone.goto(callit.at(f"/join/{code}"))
    callit.join(phone, None, "Troll")
    host.bring_to_front()
    expect(host.locator("#players li")).to_have_text(["Troll"])

    host.get_by_label("Contenders").fill("Serral\nMaru")  # typed, not sent
    host.locator("#manage-players details.manage > summary").click()
    host.get_by_label("New name for Troll").fill("Nice Name")
    host.locator("form[data-key^='rename-']").filter(has=host.get_by_label("New name for Troll")) \
        .get_by_role("button", name="Rename").click()
    expect(host.locator("#players li")).to_have_text(["Nice Name"])  # the rename's answer is in
    expect(host.get_by_label("Contenders")).to_have_value("Serral\nMaru")
    host.get_by_role("button", name="Start round").click()
    expect(phone.get_by_role("heading", name=re.compile("^Round 1: make your calls"))).to_be_visible()
