"""Accessibility basics, in the real browser: axe-core finds no serious or critical problem on
any page in any state; every control has a name, is reachable with Tab, shows where the focus
is, and works from the keyboard; the projector screen is readable from the back of the room."""
import re

import pytest
from playwright.sync_api import Page, expect

from .helpers import choice, describe, run_axe, serious, settle

pytestmark = pytest.mark.browser

WIN, EXPAND = "Who will win?", "First to expand?"
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea"


class AxeLog:
    """Runs axe on each page state; the test asserts at the end, naming every state that failed."""

    def __init__(self):
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Page, label: str) -> None:
        settle(page)
        found = serious(run_axe(page))
        self.checked.append(label)
        if found:
            self.failures.append(f"--- {label} ({page.url})\n{describe(found)}")


def test_axe_finds_no_serious_violation_on_any_page(callit, new_context):
    axe = AxeLog()
    ids = callit.add_questions(WIN, EXPAND)
    laptop = new_context("desktop", axe=True)
    host = laptop.new_page()
    host.goto(callit.at("/"))
    axe.check(host, "/")
    code = callit.host_game(host, ids.values())
    axe.check(host, "/host lobby")
    screen = laptop.new_page()
    screen.goto(callit.at(f"/screen/{code}"))
    axe.check(screen, "/screen lobby")

    phone = new_context("phone", axe=True).new_page()
    phone.goto(callit.at("/join"))
    axe.check(phone, "/join")
    phone.goto(callit.at(f"/join/{code}"))
    axe.check(phone, "/join/{code}")
    phone.get_by_role("button", name="Join game").click()
    expect(phone.get_by_role("alert")).to_contain_text("Name is required")
    axe.check(phone, "/join with an error")
    callit.join(phone, None, "Noor")
    expect(phone.locator("#lobby")).to_be_visible()
    axe.check(phone, "/play lobby")

    callit.start_round(host, "Serral", "Maru")
    expect(phone.locator("#pick")).to_be_visible()
    axe.check(phone, "/play pick")
    axe.check(host, "/host round open")
    axe.check(screen, "/screen round open")
    phone.context.set_offline(True)  # a tap that cannot be saved yet says so
    phone.get_by_role("group", name=WIN).get_by_role("radio", name="Serral").check()
    expect(choice(phone, WIN, "Serral")).to_contain_text("not saved — retrying")
    not_saved = serious(run_axe(phone))  # (not axe.check: it waits for the page to be live)
    assert not not_saved, describe(not_saved)
    phone.context.set_offline(False)
    callit.pick(phone, {WIN: "Serral", EXPAND: "Maru"})
    axe.check(phone, "/play picks saved")

    callit.lock(host)
    expect(phone.locator("#waiting")).to_be_visible()
    axe.check(phone, "/play locked")
    axe.check(host, "/host locked")
    expect(screen.locator(".split")).to_have_count(2)
    axe.check(screen, "/screen locked")
    callit.score(host, {WIN: "Serral", EXPAND: "Serral"})
    expect(phone.locator("#results")).to_be_visible()
    axe.check(phone, "/play results")
    axe.check(host, "/host scored")
    expect(screen.locator("#screen-round")).to_contain_text("scored")
    axe.check(screen, "/screen scored")
    callit.end(host)
    expect(phone.get_by_role("heading", name="Game over")).to_be_visible()
    axe.check(phone, "/play game over")
    axe.check(host, "/host ended")
    expect(screen.get_by_role("heading", name="Final standings")).to_be_visible()
    axe.check(screen, "/screen ended")

    bank = new_context("phone", axe=True).new_page()
    bank.goto(callit.at("/questions"))
    axe.check(bank, "/questions")
    bank.get_by_role("button", name="Add question").click()
    expect(bank.get_by_role("alert")).to_be_visible()
    axe.check(bank, "/questions with an error")

    assert not axe.failures, "\n".join(axe.failures)


# ------------------------------------------------------------------------ keyboard

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const ring = el.matches(".choice input") ? el.nextElementSibling : el;  // the tile shows it
  const style = getComputedStyle(ring);
  const key = el.type === "radio" ? "radio:" + el.name
            : el.id ? "#" + el.id
            : el.tagName.toLowerCase() + ":" + (el.getAttribute("href") || el.getAttribute("formaction")
                                                 || (el.form && el.form.getAttribute("action")) || "");
  return {key, ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2};
}"""

EXPECTED = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden"
                && el.checkVisibility())  // not folded away in a closed <details>
  .map(el => el.type === "radio" ? "radio:" + el.name
           : el.id ? "#" + el.id
           : el.tagName.toLowerCase() + ":" + (el.getAttribute("href") || el.getAttribute("formaction")
                                                || (el.form && el.form.getAttribute("action")) || ""))"""


def tab_through(page: Page, limit: int = 120) -> list[dict]:
    """Every stop the Tab key makes on the page, from the top until focus leaves the page."""
    page.bring_to_front()
    settle(page)
    page.evaluate("""() => {  // start from the top of the page, whatever has the focus now
        const start = document.createElement("span");
        start.tabIndex = -1;
        document.body.prepend(start);
        start.focus();
    }""")
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if stop is None or (stops and stop["key"] == stops[0]["key"]):
            return stops
        stops.append(stop)
    raise AssertionError(f"Tab never left {page.url}: {[s['key'] for s in stops[-10:]]}")


def assert_keyboard_reachable(page: Page) -> None:
    """Every visible control is a Tab stop (a radio group is one stop), shows a focus ring
    when reached by keyboard, and has an accessible name."""
    stops = tab_through(page)
    keys = [s["key"] for s in stops]
    wanted = list(dict.fromkeys(page.evaluate(EXPECTED, CONTROLS)))
    missing = [k for k in wanted if k not in keys]
    assert not missing, f"{page.url}: not reachable with Tab: {missing} (stops: {keys})"
    no_ring = [s["key"] for s in stops if not s["ring"]]
    assert not no_ring, f"{page.url}: no visible focus indicator on {no_ring}"
    for control in page.locator(CONTROLS).all():
        if control.is_visible():
            expect(control).to_have_accessible_name(re.compile(r"\w"))


def test_every_control_is_named_reachable_by_tab_and_shows_focus(callit, new_context):
    ids = callit.add_questions(WIN, EXPAND)
    host = new_context("desktop").new_page()
    host.goto(callit.at("/"))
    assert_keyboard_reachable(host)
    code = callit.host_game(host, ids.values())
    assert_keyboard_reachable(host)

    phone = new_context("phone").new_page()
    phone.goto(callit.at(f"/join/{code}"))
    assert_keyboard_reachable(phone)
    callit.join(phone, None, "Oli")
    callit.start_round(host, "Serral", "Maru")
    expect(phone.locator("#pick")).to_be_visible()
    assert_keyboard_reachable(phone)
    assert_keyboard_reachable(host)
    callit.lock(host)
    assert_keyboard_reachable(host)

    bank = new_context("desktop").new_page()
    bank.goto(callit.at("/questions"))
    assert_keyboard_reachable(bank)


def press_tab_until(page: Page, predicate: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return Boolean({predicate}); }}"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_a_phone_joins_and_picks_with_the_keyboard_alone(callit, new_context):
    ids = callit.add_questions(WIN, EXPAND)
    code, token = callit.api_game(ids.values(), title="Keyboard night")
    phone = new_context("phone").new_page()

    # Join: the name box has the focus; type, Enter.
    phone.goto(callit.at(f"/join/{code}"))
    expect(phone.get_by_label("Your name")).to_be_focused()
    phone.keyboard.type("Kim")
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(callit.at(f"/play/{code}"))
    expect(phone.locator("#connection")).to_have_text("● Live")

    callit.api_host(code, token, "/rounds", {"contenders": ["Serral", "Maru"]})
    expect(phone.locator("#pick")).to_be_visible()
    settle(phone)

    # Tab into each question's group; Space picks the first contender, an arrow the next one.
    phone.locator("body").focus()
    press_tab_until(phone, f"el.closest('fieldset') && el.closest('fieldset').textContent.includes({WIN!r})")
    phone.keyboard.press("Space")
    press_tab_until(phone, f"el.closest('fieldset') && el.closest('fieldset').textContent.includes({EXPAND!r})")
    phone.keyboard.press("ArrowRight")
    expect(phone.get_by_role("group", name=WIN).get_by_role("radio", name="Serral")).to_be_checked()
    expect(phone.get_by_role("group", name=EXPAND).get_by_role("radio", name="Maru")).to_be_checked()
    # each pick is saved as it is made: there is no button to reach
    expect(choice(phone, WIN, "Serral")).to_have_attribute("data-state", "saved")
    expect(choice(phone, EXPAND, "Maru")).to_have_attribute("data-state", "saved")
    expect(phone.get_by_role("group", name=EXPAND).get_by_role("radio", name="Maru")).to_be_focused()


# ------------------------------------------------------------------------ projector

def test_projector_screen_is_readable_from_the_back(callit, new_context):
    """Enhanced contrast (WCAG AAA, 7:1: projectors wash colours out) and large text."""
    ids = callit.add_questions(WIN, EXPAND)
    code, token = callit.api_game(ids.values(), title="Projector night")
    for name in ("Ada", "Bert"):
        callit.join(new_context("phone").new_page(), callit.at(f"/join/{code}"), name)
    screen = new_context("desktop", axe=True, viewport={"width": 1280, "height": 720}).new_page()
    screen.goto(callit.at(f"/screen/{code}"))

    def check(label: str) -> None:
        settle(screen)
        found = run_axe(screen, tags=["wcag2aa", "wcag2aaa"])
        contrast = [v for v in found if v["id"].startswith("color-contrast")]
        assert not contrast, f"{label}:\n{describe(contrast)}"
        sizes = screen.evaluate("""() => Array.from(document.querySelectorAll(
                "main h1, main h2, main li, main td, main th, main p"))
            .filter(el => el.getClientRects().length && el.textContent.trim())
            .map(el => [el.textContent.trim().slice(0, 30), parseFloat(getComputedStyle(el).fontSize)])""")
        small = [(text, size) for text, size in sizes if size < 20]
        assert not small, f"{label}: text under 20px on a 720p projector: {small}"

    check("lobby")
    # the room code is the biggest thing in the lobby, and still large once it moves to a corner
    expect(screen.locator("#join-panel .code")).to_have_css("font-size", re.compile(r"^([89]\d|\d{3,})(\.\d+)?px$"))
    callit.api_host(code, token, "/rounds", {"contenders": ["Serral", "Maru"]})
    expect(screen.locator("#screen-round")).to_be_visible()
    check("round open")
    callit.api_host(code, token, "/rounds/current/lock")
    expect(screen.locator(".split")).to_have_count(2)
    check("round locked")
    callit.api_host(code, token, "/rounds/current/score", {"answers": [
        {"question_id": ids[WIN], "answer": "Serral"}, {"question_id": ids[EXPAND], "answer": "Maru"}]})
    expect(screen.locator("#screen-round")).to_contain_text("Serral")
    check("round scored")
    expect(screen.locator("#join-panel .code")).to_have_css("font-size", re.compile(r"^([4-9]\d|\d{3,})(\.\d+)?px$"))
    callit.api_host(code, token, "/end")
    expect(screen.locator(".podium")).to_be_visible()
    check("ended")
