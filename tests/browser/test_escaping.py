"""Markup typed by users (question bodies, player names, titles, contenders) is shown as text on
every page, in the real browser: nothing runs, nothing is parsed, the text reads literally.

The pages here run with the CSP bypassed, so that markup slipping through would actually run
(the CSP alone would otherwise hide a missing escape); any dialog fails the test."""
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

BODY = '<script>alert("body")</script><img src=x onerror=alert("img")>?'
TITLE = "</title><script>alert('title')</script>"
SCRIPT_NAME = "<script>alert``</script>"  # 24 characters: the longest name allowed
QUOTE_NAME = '"><svg onload=alert(4)>'  # breaks out of an attribute if unescaped
CONTENDER = '"><svg onload=alert(6)>Maru'


def expect_inert(page: Page) -> None:
    """No element came out of user text: every script is a file, no svg, no stray img."""
    # every script is a file; the one inline block is the page's own JSON strings (never run)
    expect(page.locator("script:not([src]):not(script#strings[type='application/json'])")).to_have_count(0)
    expect(page.locator("svg:not(.bar)")).to_have_count(0)  # the screen's split bars are ours
    expect(page.locator("svg.bar [onload]")).to_have_count(0)
    expect(page.locator("img:not(.qr)")).to_have_count(0)


def test_user_text_is_shown_literally_everywhere(callit, new_context):
    dialogs: list[str] = []

    def context(kind: str):
        made = new_context(kind, bypass_csp=True)
        made.on("page", lambda page: page.on("dialog", lambda d: dialogs.append(d.message)))
        return made

    # The bank page gets the question live (inserted by bank.js), then on reload.
    bank = context("desktop").new_page()
    bank.goto(callit.at("/questions"))
    expect(bank.locator("#connection")).to_have_text("● Live")
    ids = callit.add_questions(BODY)
    expect(bank.locator("#question-list li").filter(has_text=BODY)).not_to_have_count(0)
    expect_inert(bank)
    bank.reload()
    expect(bank.get_by_text(BODY, exact=True).first).to_be_visible()
    expect_inert(bank)

    laptop = context("desktop")
    host = laptop.new_page()
    host.goto(callit.at("/"))
    expect(host.get_by_label(BODY).first).to_be_attached()
    expect_inert(host)
    code = callit.host_game(host, ids.values(), title=TITLE)
    expect(host.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect_inert(host)
    screen = laptop.new_page()
    screen.goto(callit.at(f"/screen/{code}"))
    expect(screen.locator(".topbar")).to_contain_text(TITLE)
    assert screen.title().startswith(TITLE)

    first = context("phone").new_page()
    callit.join(first, callit.at(f"/join/{code}"), SCRIPT_NAME)
    second = context("phone").new_page()
    callit.join(second, callit.at(f"/join/{code}"), QUOTE_NAME)
    for phone, name in ((first, SCRIPT_NAME), (second, QUOTE_NAME)):
        expect(phone.locator("main > div > p").first).to_contain_text(f"Playing as {name} in {TITLE}")
        expect_inert(phone)
    # (phones are not told who joins: the second phone's lobby was rendered after both had)
    expect(second.locator("#lobby .players li")).to_have_text([SCRIPT_NAME, QUOTE_NAME])

    # The duplicate name comes back in the input (an attribute) exactly as typed.
    third = context("phone").new_page()
    third.goto(callit.at(f"/join/{code}"))
    third.get_by_label("Your name").fill(QUOTE_NAME)
    third.get_by_role("button", name="Join game").click()
    expect(third.get_by_role("alert")).to_contain_text("Name is already taken")
    expect(third.get_by_label("Your name")).to_have_value(QUOTE_NAME)
    expect_inert(third)

    expect(host.locator("#players li")).to_have_text([SCRIPT_NAME, QUOTE_NAME])
    expect(host.locator("table.leaderboard").first).to_contain_text(SCRIPT_NAME)
    expect(screen.locator("#screen-players .names li")).to_have_text([QUOTE_NAME, SCRIPT_NAME])  # newest first
    for page in (host, screen):
        expect_inert(page)

    callit.start_round(host, "Serral", CONTENDER)
    for phone in (first, second):
        group = phone.get_by_role("group", name=BODY)
        expect(group).to_be_visible()
        expect(group.get_by_role("radio", name=CONTENDER)).to_be_attached()
        expect_inert(phone)
    expect(screen.locator("#screen-round")).to_contain_text(f"Serral vs {CONTENDER}")
    expect(screen.locator("#screen-round li")).to_have_text([BODY])
    expect_inert(screen)
    callit.pick(first, {BODY: CONTENDER})  # the value survives the round trip through the form
    callit.pick(second, {BODY: "Serral"})
    expect(first.get_by_role("group", name=BODY).get_by_role("radio", name=CONTENDER)).to_be_checked()

    callit.lock(host)
    expect(host.locator("#picks thead")).to_contain_text(BODY)
    expect(host.locator("#picks tbody tr")).to_have_text([
        re.compile(r"^\s*" + re.escape(SCRIPT_NAME) + r"\s*" + re.escape(CONTENDER) + r"\s*$"),
        re.compile(r"^\s*" + re.escape(QUOTE_NAME) + r"\s*Serral\s*$")])
    expect(first.locator("#waiting .question-list > li")).to_have_count(1)
    expect(first.locator("#waiting .question-list > li")).to_contain_text(f"{BODY} — {CONTENDER}")
    expect(first.locator("#waiting .shares .contender")).to_have_text(["Serral", CONTENDER])
    expect(screen.locator(".split figcaption")).to_have_text([BODY])
    expect(screen.locator(".split .contender")).to_have_text(["Serral", CONTENDER])
    expect_inert(screen)
    expect_inert(host)
    expect_inert(first)

    callit.score(host, {BODY: CONTENDER})
    expect(first.locator("#results")).to_contain_text(f"answer: {CONTENDER}; you: {CONTENDER} ✓ +1")
    expect(first.locator("tr.me")).to_contain_text(f"{SCRIPT_NAME} (you)")
    expect(screen.locator(".answers li .body")).to_have_text([BODY])
    expect(screen.locator(".answers li .right")).to_have_text([CONTENDER])
    expect(screen.locator("#screen-leaderboard tbody tr").first).to_contain_text(SCRIPT_NAME)
    for page in (host, screen, first, second):
        expect_inert(page)

    callit.end(host)
    expect(second.get_by_role("heading", name="Game over")).to_be_visible()
    expect(second.locator("tr.me")).to_contain_text(f"{QUOTE_NAME} (you)")
    for page in (host, screen, first, second):
        expect_inert(page)

    assert not dialogs, f"user text ran as script: {dialogs}"
