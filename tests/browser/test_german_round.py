"""One full round in German on a phone and the projector, in real browsers: the projector follows
its browser's language (German), one phone switches to German on the join page and keeps it, and
another phone stays in English alongside."""
import re

import pytest
from playwright.sync_api import expect

from .helpers import choice, settle

pytestmark = pytest.mark.browser

QUESTIONS = ["Wer gewinnt?", "Wer expandiert zuerst?"]
ANSWERS = {"Wer gewinnt?": "Serral", "Wer expandiert zuerst?": "Maru"}


def test_a_round_in_german_on_a_phone_and_the_screen(callit, new_context, screenshot):
    ids = callit.add_questions(*QUESTIONS)
    code, host = callit.api_game(ids.values(), title="StarCraft-Abend")

    # The projector's browser asks for German: the screen is German at once.
    screen = new_context("desktop", locale="de-DE").new_page()
    screen.set_viewport_size({"width": 1920, "height": 1080})
    screen.goto(callit.at(f"/screen/{code}"))
    settle(screen)
    expect(screen.locator("html")).to_have_attribute("lang", "de")
    expect(screen.get_by_role("heading", name="Mach mit")).to_be_visible()
    expect(screen.locator("#screen-players")).to_contain_text("Warte auf Spieler…")

    # A phone with an English browser picks Deutsch on the join page; an English phone joins too.
    anna = new_context("phone", locale="en-US").new_page()
    anna.goto(callit.at(f"/join/{code}"))
    expect(anna.get_by_label("Your name")).to_be_visible()
    anna.get_by_role("link", name="Deutsch").click()
    expect(anna.locator("html")).to_have_attribute("lang", "de")
    anna.get_by_label("Dein Name").fill("Anna")
    anna.get_by_role("button", name="Spiel beitreten").click()
    expect(anna.locator("#lobby")).to_contain_text("Du bist dabei!")
    settle(anna)

    ben = new_context("phone", locale="en-US").new_page()
    callit.join(ben, callit.at(f"/join/{code}"), "Ben")
    expect(ben.locator("#lobby")).to_contain_text("You're in!")
    expect(screen.locator("#screen-players")).to_contain_text("Spieler (2)")

    # The round starts: the German phone reads it in German, live.
    callit.api_host(code, host, "/rounds", {"contenders": ["Serral", "Maru"]})
    expect(anna.get_by_role("heading", name=re.compile("^Runde 1: Gib deine Tipps ab"))).to_be_visible()
    expect(ben.get_by_role("heading", name=re.compile("^Round 1: make your calls"))).to_be_visible()
    expect(screen.locator("#screen-round")).to_contain_text("Runde 1: Serral gegen Maru")
    expect(screen.locator("#screen-round .badge")).to_have_text("offen")

    callit.pick(anna, ANSWERS)
    expect(choice(anna, "Wer gewinnt?", "Serral")).to_contain_text("gespeichert ✓")
    callit.pick(ben, {"Wer gewinnt?": "Maru", "Wer expandiert zuerst?": "Maru"})
    expect(screen.locator("#screen-round")).to_contain_text("2 von 2 haben getippt — alle sind dabei!")
    screenshot(anna, "phone-de-picks", full_page=True)
    screenshot(screen, "screen-de-round")

    # Lock, then score: both in German on the phone and the screen.
    callit.api_host(code, host, "/rounds/current/lock")
    expect(anna.locator("#waiting")).to_contain_text("Runde 1: Die Tipps sind gesperrt")
    expect(screen.locator("#screen-round")).to_contain_text("Die Tipps sind gesperrt. So hat der Raum getippt:")
    callit.api_host(code, host, "/rounds/current/score", {"answers": [
        {"question_id": ids[body], "answer": answer} for body, answer in ANSWERS.items()]})
    results = anna.locator("#results")
    expect(results).to_contain_text("Ergebnisse der Runde 1")
    expect(results).to_contain_text("Du hast in dieser Runde 2 von 2 richtig getippt.")
    expect(ben.locator("#results")).to_contain_text("You called 1 of 2 right this round.")
    expect(screen.get_by_role("heading", name="Rangliste")).to_be_visible()
    rows = screen.locator("#screen-leaderboard tbody tr")
    expect(rows.nth(0)).to_contain_text("Anna")
    expect(rows.nth(1)).to_contain_text("Ben")
    expect(screen.locator("#screen-round")).to_contain_text("von 2 lagen richtig")
    expect(anna.locator("table.leaderboard")).to_contain_text("(du)")
    screenshot(anna, "phone-de-results", full_page=True)
    screenshot(screen, "screen-de-leaderboard")

    # The phone's choice is remembered: a reload is still German.
    anna.reload()
    settle(anna)
    expect(anna.locator("#results")).to_contain_text("Ergebnisse der Runde 1")
