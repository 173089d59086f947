"""When a form is refused, the page says why, next to what the person typed, and keeps it."""
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"
NO_SUCH_CODE = "ZZZZ"  # Z is not in the code alphabet: no game can ever have this code


def expect_error(page: Page, message: str | re.Pattern) -> None:
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(message)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_duplicate_name_and_wrong_code_say_why_and_keep_the_input(callit, new_context, javascript):
    ids = callit.add_questions(WIN)
    code, _token = callit.api_game(ids.values())
    first = new_context("phone", javascript=javascript).new_page()
    callit.join(first, callit.at(f"/join/{code}"), "Ana")

    phone = new_context("phone", javascript=javascript).new_page()
    phone.goto(callit.at(f"/join/{code}"))
    phone.get_by_label("Your name").fill("ANA")  # names collide whatever their case
    phone.get_by_role("button", name="Join game").click()
    expect_error(phone, "Name is already taken")
    name = phone.get_by_label("Your name")
    expect(name).to_have_value("ANA")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(re.compile("Name is already taken"))
    expect(phone.get_by_label("Room code")).to_have_value(code)
    expect(phone.get_by_label("Room code")).not_to_have_attribute("aria-invalid", "true")
    if javascript:
        expect(name).to_be_focused()

    # A mistyped code, from the front page's form: the join page explains, both inputs kept.
    phone.goto(callit.at("/"))
    phone.get_by_label("Room code").fill(NO_SUCH_CODE.lower())
    phone.get_by_label("Your name").fill("Bea")
    phone.get_by_role("button", name="Join").click()
    expect_error(phone, f"No game with code {NO_SUCH_CODE}")
    room = phone.get_by_label("Room code")
    expect(room).to_have_value(NO_SUCH_CODE)
    expect(room).to_have_attribute("aria-invalid", "true")
    expect(phone.get_by_label("Your name")).to_have_value("Bea")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Join")  # not "Join game ZZZZ"
    if javascript:
        expect(room).to_be_focused()

    # Correcting the code is all it takes.
    room.fill(code)
    phone.get_by_role("button", name="Join game").click()
    expect(phone).to_have_url(callit.at(f"/play/{code}"))
    expect(phone.locator("#lobby .players li")).to_have_text(["Ana", "Bea"])


def test_picks_sent_after_the_lock_are_refused_with_a_message(callit, new_context):
    """A phone without live updates still shows the open round when the host locks."""
    ids = callit.add_questions(WIN, EXPAND)
    host = new_context("desktop").new_page()
    code = callit.host_game(host, ids.values())
    phone = new_context("phone", javascript=False).new_page()
    callit.join(phone, callit.at(f"/join/{code}"), "Cleo")
    callit.start_round(host, "Serral", "Maru")
    phone.reload()
    callit.pick(phone, {WIN: "Serral"})

    callit.lock(host)
    callit.choose(phone, {WIN: "Maru", EXPAND: "Maru"})  # too late, but this page can't know
    phone.get_by_role("button", name="Update my picks").click()

    expect_error(phone, "Picks are locked for this round")
    waiting = phone.locator("#waiting")
    expect(waiting).to_contain_text("Round 1: picks are locked")
    # what counts (the pick saved in time) and what was typed (kept, marked as too late)
    expect(waiting.get_by_role("listitem").filter(has_text=WIN)).to_contain_text(
        "Serral (you chose Maru, but it arrived after the lock)")
    expect(waiting.get_by_role("listitem").filter(has_text=EXPAND)).to_contain_text(
        "no pick (you chose Maru, but it arrived after the lock)")


def test_host_forms_say_why_and_keep_the_input(callit, new_context):
    ids = callit.add_questions(WIN)
    host = new_context("desktop").new_page()

    # A game needs at least one question; the title typed is kept.
    host.goto(callit.at("/"))
    ticked = host.locator("input[name=question_ids]:checked")
    for _ in range(ticked.count()):
        ticked.first.uncheck()
    host.get_by_label("Title").fill("Empty night")
    host.get_by_role("button", name="Start a game").click()
    expect_error(host, "Pick at least one question")
    expect(host.get_by_label("Title")).to_have_value("Empty night")

    code = callit.host_game(host, ids.values())

    # A round needs two contenders; what was typed stays in the box...
    host.get_by_label("Contenders").fill("Serral")
    host.get_by_role("button", name="Start round").click()
    expect_error(host, "Contenders must have at least 2 items")
    expect(host.get_by_label("Contenders")).to_have_value("Serral")
    # ...and stays there, message included, while the live panel is swapped under it (a
    # player joins); the address bar shows the host page, so a reload cannot post again.
    expect(host.locator("#connection")).to_have_text("● Live")
    expect(host).to_have_url(callit.at(f"/host/{code}"))
    phone = new_context("phone").new_page()
    callit.join(phone, callit.at(f"/join/{code}"), "Dana")
    expect(host.locator("#players li")).to_have_text(["Dana"])
    expect_error(host, "Contenders must have at least 2 items")
    expect(host.get_by_label("Contenders")).to_have_value("Serral")
    host.reload()
    expect(host.get_by_role("alert")).to_have_count(0)
    expect(host.get_by_role("heading", name="Start the first round")).to_be_visible()

    host.get_by_label("Contenders").fill("Serral\nserral")
    host.get_by_role("button", name="Start round").click()
    expect_error(host, "listed twice")
    expect(host.get_by_label("Contenders")).to_have_value("Serral\nserral")
    callit.start_round(host, "Serral", "Maru")

    # Scoring needs every question marked.
    callit.lock(host)
    host.get_by_role("button", name="Score the round").click()
    expect_error(host, "Mark an answer for every question")

    # The question bank refuses an empty question and says so.
    bank = new_context("desktop").new_page()
    bank.goto(callit.at("/questions"))
    bank.get_by_label("New question").fill("   ")
    bank.get_by_role("button", name="Add question").click()
    expect_error(bank, "Body is required")
    expect(bank.get_by_label("New question")).to_have_attribute("aria-invalid", "true")
