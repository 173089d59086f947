"""A tap on a phone is a saved pick: no button to press, each tap saved at once and shown as
such; taps made without a connection are kept (across a reload) and sent when it is back; taps
that reach the server after the lock are listed as too late."""
import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from .helpers import assert_same_document, choice, mark_document, settle

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"


def stored_picks(callit, code: str, token: str, name: str) -> dict[int, str]:
    """What the server holds for one player, through the host's picks API."""
    response = requests.get(callit.at(f"/api/games/{code}/rounds/current/picks"),
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    (player,) = [p for p in response.json()["players"] if p["name"] == name]
    return {a["question_id"]: a["answer"] for a in player["picks"]}


def open_round(callit, new_context, name: str):
    """A game hosted through the API with a round open, and a phone joined to it."""
    ids = callit.add_questions(WIN, EXPAND)
    code, token = callit.api_game(ids.values())
    phone_context = new_context("phone")
    phone = phone_context.new_page()
    callit.join(phone, callit.at(f"/join/{code}"), name)
    callit.api_host(code, token, "/rounds", {"contenders": ["Serral", "Maru"]})
    expect(phone.get_by_role("group", name=WIN)).to_be_visible()
    settle(phone)
    return ids, code, token, phone_context, phone


def tap(phone, body: str, contender: str) -> None:
    phone.get_by_role("group", name=body).get_by_role("radio", name=contender).check()


def test_a_tap_is_saved_without_pressing_anything(callit, new_context):
    ids, code, token, _, phone = open_round(callit, new_context, "Tapper")
    expect(phone.get_by_role("button", name="Lock in my picks")).to_be_hidden()  # nothing to press

    tap(phone, WIN, "Maru")
    expect(choice(phone, WIN, "Maru")).to_have_attribute("data-state", "saved")
    expect(choice(phone, WIN, "Maru")).to_contain_text("saved ✓")
    assert stored_picks(callit, code, token, "Tapper") == {ids[WIN]: "Maru"}

    # A second question, then a change of mind: each tap is merged into what is saved.
    tap(phone, EXPAND, "Serral")
    expect(choice(phone, EXPAND, "Serral")).to_have_attribute("data-state", "saved")
    tap(phone, WIN, "Serral")
    expect(choice(phone, WIN, "Serral")).to_have_attribute("data-state", "saved")
    expect(choice(phone, WIN, "Maru")).not_to_have_attribute("data-state", "saved")
    assert stored_picks(callit, code, token, "Tapper") == {ids[WIN]: "Serral", ids[EXPAND]: "Serral"}

    # The host's and the screen's "who has picked" count this player.
    round_ = requests.get(callit.at(f"/api/games/{code}/rounds/current"), timeout=10).json()
    assert "Tapper" in round_["picked"]

    # A reload shows the saved picks as saved.
    phone.reload()
    settle(phone)
    expect(choice(phone, WIN, "Serral")).to_have_attribute("data-state", "saved")
    expect(choice(phone, EXPAND, "Serral")).to_contain_text("saved ✓")


def test_offline_taps_survive_a_reload_and_are_sent_when_back(callit, new_context, screenshot_dir):
    ids, code, token, phone_context, phone = open_round(callit, new_context, "Dora")
    tap(phone, WIN, "Maru")
    expect(choice(phone, WIN, "Maru")).to_have_attribute("data-state", "saved")

    phone_context.set_offline(True)
    expect(phone.locator("#connection")).to_have_text("Reconnecting…")
    tap(phone, EXPAND, "Serral")
    expect(choice(phone, EXPAND, "Serral")).to_contain_text("not saved — retrying")
    expect(choice(phone, WIN, "Maru")).to_contain_text("saved ✓")
    # (not the ``screenshot`` fixture: it waits for the page to be live again)
    phone.screenshot(path=str(screenshot_dir / "phone-picks-saving.png"), animations="disabled",
                     caret="hide")
    assert stored_picks(callit, code, token, "Dora") == {ids[WIN]: "Maru"}

    # The page is reloaded while still offline (the browser can only show its error page),
    # then again once the connection is back: the kept tap goes out by itself.
    with pytest.raises(PlaywrightError):
        phone.reload()
    phone_context.set_offline(False)
    phone.goto(callit.at(f"/play/{code}"))
    expect(choice(phone, EXPAND, "Serral")).to_have_attribute("data-state", "saved")
    assert stored_picks(callit, code, token, "Dora") == {ids[WIN]: "Maru", ids[EXPAND]: "Serral"}
    assert phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('callit:picks:'))") == []


def test_taps_that_arrive_after_the_lock_are_listed_until_the_next_action(callit, new_context):
    ids, code, token, phone_context, phone = open_round(callit, new_context, "Lena")
    tap(phone, WIN, "Serral")
    expect(choice(phone, WIN, "Serral")).to_have_attribute("data-state", "saved")

    phone_context.set_offline(True)
    expect(phone.locator("#connection")).to_have_text("Reconnecting…")
    tap(phone, WIN, "Maru")
    tap(phone, EXPAND, "Maru")
    callit.api_host(code, token, "/rounds/current/lock")
    phone_context.set_offline(False)

    late = phone.locator("#late-picks")
    expect(late).to_contain_text("arrived after the host locked the round")
    expect(late.get_by_role("listitem")).to_have_text([f"{WIN} — Maru", f"{EXPAND} — Maru"])
    waiting = phone.locator("#waiting")
    expect(waiting.get_by_role("listitem").filter(has_text=WIN)).to_contain_text("Serral")
    assert stored_picks(callit, code, token, "Lena") == {ids[WIN]: "Serral"}

    # A live refresh (the host scores) keeps the message; the player's next tap clears it.
    callit.api_host(code, token, "/rounds/current/score",
                    {"answers": [{"question_id": ids[WIN], "answer": "Serral"},
                                 {"question_id": ids[EXPAND], "answer": "Maru"}]})
    expect(phone.locator("#results")).to_be_visible()
    expect(late).to_be_visible()
    phone.locator("#results h1").click()
    expect(late).to_have_count(0)


def test_a_form_sent_offline_stays_on_its_page_and_says_so(callit, new_context):
    ids = callit.add_questions(WIN)
    code, _ = callit.api_game(ids.values())
    context = new_context("phone")
    phone = context.new_page()
    phone.goto(callit.at(f"/join/{code}"))
    phone.get_by_label("Your name").fill("Offline Olga")
    mark_document(phone)
    context.set_offline(True)
    phone.get_by_role("button", name="Join game").click()
    expect(phone.get_by_role("alert")).to_contain_text("Not sent: no connection")
    expect(phone.get_by_label("Your name")).to_have_value("Offline Olga")
    assert_same_document(phone)  # not the browser's offline page
    context.set_offline(False)
    phone.get_by_role("button", name="Join game").click()
    expect(phone).to_have_url(callit.at(f"/play/{code}"))
