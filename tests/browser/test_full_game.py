"""A whole game in real browsers: the host's laptop (host page + projector screen) and three
phones, live over Socket.IO, against the real eventlet server."""
import re

import pytest
from playwright.sync_api import expect

from questions.web.pages import qr_data_uri

from .helpers import GAME_URL, assert_same_document, expect_leaderboard, mark_document

pytestmark = pytest.mark.browser

QUESTIONS = ["Who will win?", "First to expand?", "First unit lost?"]
PICKS = {
    "Mira": {"Who will win?": "Serral", "First to expand?": "Maru", "First unit lost?": "Serral"},
    "Jonas": {"Who will win?": "Maru", "First to expand?": "Serral", "First unit lost?": "Serral"},
    "Priya": {"Who will win?": "Serral", "First to expand?": "Maru", "First unit lost?": "Maru"},
}
ANSWERS = {"Who will win?": "Serral", "First to expand?": "Maru", "First unit lost?": "Serral"}
STANDINGS = [(1, "Mira", 3), (2, "Priya", 2), (3, "Jonas", 1)]


def test_full_game_host_screen_and_three_phones(callit, new_context, screenshot):
    ids = callit.add_questions(*QUESTIONS)

    # The host creates the game from the / form; the projector screen opens from the host page.
    laptop = new_context("desktop")
    host = laptop.new_page()
    code = callit.host_game(host, ids.values(), title="StarCraft night")
    with laptop.expect_page() as opened:
        host.get_by_role("link", name="Open the projector screen").click()
    screen = opened.value
    screen.set_viewport_size({"width": 1920, "height": 1080})  # the projector's own display
    expect(screen).to_have_url(callit.at(f"/screen/{code}"))
    expect(screen.locator("#connection")).to_have_text("● Live")
    mark_document(screen)

    # The screen advertises the join URL, as text and as a QR code that encodes exactly it.
    join_url = callit.at(f"/join/{code}")
    qr = screen.get_by_role("img", name=re.compile("^QR code for "))
    expect(qr).to_have_attribute("alt", f"QR code for {join_url}")
    assert qr.get_attribute("src") == qr_data_uri(join_url)
    expect(screen.locator("#join-panel")).to_contain_text(join_url)
    expect(screen.locator("#join-panel .code")).to_have_text(code)

    # Three phones join: one scans the QR (opens its URL), one types the code on the front
    # page, one types it (in lower case) on the bare /join page.
    phones = {name: new_context("phone").new_page() for name in PICKS}
    mira, jonas, priya = phones.values()
    mira.goto(qr.get_attribute("alt").removeprefix("QR code for "))
    expect(mira.get_by_label("Room code")).to_have_value(code)
    expect(mira.get_by_label("Your name")).to_be_focused()
    screenshot(mira, "phone-join")
    assert callit.join(mira, None, "Mira") == code

    jonas.goto(callit.at("/"))
    jonas.get_by_label("Room code").fill(code)
    assert callit.join(jonas, None, "Jonas") == code

    priya.goto(callit.at("/join"))
    priya.get_by_label("Room code").fill(code.lower())
    assert callit.join(priya, None, "Priya") == code

    for phone in phones.values():
        expect(phone.locator("#lobby")).to_contain_text("You're in!")
        expect(phone.locator("#connection")).to_have_text("● Live")
        expect(phone.get_by_role("link", name="Refresh")).to_be_hidden()  # live: not needed
        mark_document(phone)
    # everyone's arrival reached the screen and the host page live
    expect(screen.locator("#screen-players .names li")).to_have_text(list(reversed(PICKS)))  # newest first
    expect(host.locator("#players li")).to_have_text(list(PICKS))
    # phones are not told who joins (O(1) per phone): the last to join sees everyone
    expect(priya.locator("#lobby .players li")).to_have_text(list(PICKS))

    # The host starts a round: every phone shows the questions without reloading.
    callit.start_round(host, "Serral", "Maru")
    mark_document(host)
    for phone in phones.values():
        expect(phone.get_by_role("heading", name=re.compile("^Round 1: make your calls"))).to_be_visible()
        for body in QUESTIONS:
            group = phone.get_by_role("group", name=body)
            expect(group.get_by_role("radio")).to_have_count(2)
        assert_same_document(phone)
    expect(screen.locator("#screen-round")).to_contain_text("Round 1: Serral vs Maru")
    for body in QUESTIONS:
        expect(screen.locator("#screen-round")).to_contain_text(body)
    assert_same_document(screen)

    # Picks: the screen and the host see who has picked (not what), live.
    for name, phone in phones.items():
        callit.pick(phone, PICKS[name])
    for name, phone in phones.items():
        for body, contender in PICKS[name].items():
            expect(phone.get_by_role("group", name=body).get_by_role("radio", name=contender)).to_be_checked()
    screenshot(mira, "phone-picks", full_page=True)
    expect(screen.locator("#screen-round")).to_contain_text("3 of 3 have picked — everyone's in!")
    expect(screen.locator("progress.picked-bar")).to_have_attribute("value", "3")
    expect(host.locator("#round")).to_contain_text("3 of 3 players have picked")
    assert_same_document(host)
    screenshot(host, "host", full_page=True)

    for phone in phones.values():
        mark_document(phone)  # sending picks was a form post; from here on, no navigation

    # Lock: the phones show their calls, locked; the host sees everyone's picks.
    callit.lock(host)
    for name, phone in phones.items():
        waiting = phone.locator("#waiting")
        expect(waiting).to_contain_text("picks are locked")
        for body, contender in PICKS[name].items():
            expect(waiting.get_by_role("listitem").filter(has_text=body)).to_contain_text(contender)
    expect(screen.locator("#screen-round")).to_contain_text("Picks are locked")
    # the room sees how it voted: two of three called Serral to win
    win = screen.locator(".split").filter(has_text="Who will win?")
    expect(win.locator(".tally")).to_have_text(["2 · 67%", "1 · 33%"])
    expect(host.locator("#picks tbody tr")).to_have_count(3)

    # Score: the leaderboard appears on every phone and on the screen, live.
    callit.score(host, ANSWERS)
    for name, phone in phones.items():
        expect(phone.locator("#results")).to_contain_text("Round 1 results")
        expect_leaderboard(phone.locator("main"), *STANDINGS)
        expect(phone.locator("tr.me")).to_contain_text(f"{name} (you)")
        assert_same_document(phone)
    expect(mira.locator("#results .lead")).to_have_text("You called 3 of 3 right this round. You're 1st of 3")
    expect(jonas.locator("#results .lead")).to_have_text("You called 1 of 3 right this round. You're 3rd of 3")
    expect(mira.locator("#results")).to_contain_text("Serral ✓ +1")
    expect(jonas.locator("#results .wrong")).to_have_count(2)
    expect_leaderboard(screen.locator("#screen-leaderboard"), *STANDINGS)
    expect_leaderboard(host.locator("#host-leaderboard"), *STANDINGS)
    assert_same_document(screen)

    # The host ends the game: game over everywhere, final standings kept.
    callit.end(host)
    for phone in phones.values():
        expect(phone.get_by_role("heading", name="Game over")).to_be_visible()
        expect_leaderboard(phone.locator("main"), *STANDINGS)
        assert_same_document(phone)
    expect(screen.get_by_role("heading", name="Thanks for playing!")).to_be_visible()
    expect(screen.get_by_role("heading", name="Final standings")).to_be_visible()
    expect_leaderboard(screen.locator("#screen-leaderboard"), *STANDINGS)
    assert_same_document(screen)
    assert GAME_URL.search(screen.url).group(2) == code
