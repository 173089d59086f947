"""A phone that drops off the network (or is reloaded) comes back to the current round with its
own picks: the server is the only source of truth and the page catches up on reconnect."""
import pytest
from playwright.sync_api import Page, expect

from .helpers import assert_same_document, mark_document

pytestmark = pytest.mark.browser

WIN, EXPAND, SCOUT = "Who will win?", "First to expand?", "First to scout a building?"


def expect_picks(phone: Page, picks: dict[str, str]) -> None:
    for body, contender in picks.items():
        expect(phone.get_by_role("group", name=body).get_by_role("radio", name=contender)).to_be_checked()


def test_phone_offline_and_back_shows_current_round_with_its_picks(callit, new_context):
    ids = callit.add_questions(WIN, EXPAND)
    host = new_context("desktop").new_page()
    code = callit.host_game(host, ids.values())
    phone_context = new_context("phone")
    phone = phone_context.new_page()
    callit.join(phone, callit.at(f"/join/{code}"), "Kai")
    callit.start_round(host, "Serral", "Maru")
    callit.pick(phone, {WIN: "Maru", EXPAND: "Serral"})
    expect(phone.locator("#connection")).to_have_text("● Live")
    mark_document(phone)

    # Offline: the page says so; meanwhile the host adds a question to the open round.
    phone_context.set_offline(True)
    expect(phone.locator("#connection")).to_have_text("Reconnecting…")
    host.bring_to_front()
    host.get_by_label("Or a new one").fill(SCOUT)
    host.get_by_role("button", name="Add question").click()
    expect(host.locator("#round")).to_contain_text(SCOUT)
    expect(phone.get_by_role("group")).to_have_count(2)  # it cannot know yet
    callit.choose(phone, {EXPAND: "Maru"})  # changed, kept by the page until it can be sent

    # Back online: the round catches up (the new question) without a reload; the saved pick
    # and the change made offline (sent now) are both still ticked.
    phone_context.set_offline(False)
    expect(phone.locator("#connection")).to_have_text("● Live")
    expect(phone.get_by_role("group", name=SCOUT)).to_be_visible()
    expect_picks(phone, {WIN: "Maru", EXPAND: "Maru"})
    assert_same_document(phone)

    callit.pick(phone, {SCOUT: "Serral"})
    saved = {WIN: "Maru", EXPAND: "Maru", SCOUT: "Serral"}

    # A reload renders the same round with the saved picks.
    phone.reload()
    expect(phone.get_by_role("group")).to_have_count(3)
    expect_picks(phone, saved)
    expect(phone.locator("#connection")).to_have_text("● Live")
    mark_document(phone)

    # Offline across the lock: back online, the phone shows the locked round and its calls.
    phone_context.set_offline(True)
    expect(phone.locator("#connection")).to_have_text("Reconnecting…")
    callit.lock(host)
    phone_context.set_offline(False)
    waiting = phone.locator("#waiting")
    expect(waiting).to_contain_text("Round 1: picks are locked")
    for body, contender in saved.items():
        expect(waiting.get_by_role("listitem").filter(has_text=body)).to_contain_text(contender)
    assert_same_document(phone)

    phone.reload()
    for body, contender in saved.items():
        expect(phone.locator("#waiting").get_by_role("listitem").filter(has_text=body)).to_contain_text(contender)
    assert code in phone.url
