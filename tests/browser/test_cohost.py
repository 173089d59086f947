"""Hosts on several devices: the host page makes a co-host link; opened in another browser it
makes that browser a host (the key leaves the address bar), and "/" lists the game there; a host
signs the other hosts out, whose page then says so."""
import re

import pytest
from playwright.sync_api import expect

from .helpers import settle

pytestmark = pytest.mark.browser


def test_host_from_a_second_browser_through_the_co_host_link(callit, new_context):
    ids = callit.add_questions("Who will win?")
    first = new_context("desktop").new_page()
    code = callit.host_game(first, ids.values(), title="Two-laptop night")
    first.get_by_role("button", name="Make a co-host link").click()
    link = first.locator("#cohost a.cohost-link")
    expect(link).to_be_visible()
    expect(first.get_by_role("img", name="QR code of the co-host link")).to_be_visible()
    url = link.get_attribute("href")
    assert f"/host/{code}/cohost?key=" in url

    second = new_context("desktop").new_page()
    second.goto(url)
    expect(second).to_have_url(callit.at(f"/host/{code}"))  # no key left in the address bar
    settle(second)
    callit.start_round(second, "Serral", "Maru")
    expect(first.locator("#round")).to_contain_text("Serral vs Maru")  # both are hosts, live
    second.goto(callit.at("/"))
    expect(second.locator("#my-games")).to_contain_text(code)
    second.locator("#my-games").get_by_role("link", name=re.compile(f"Host {code}")).click()
    expect(second).to_have_url(callit.at(f"/host/{code}"))
    settle(second)

    # The second host signs the others out: the first page says so at its next update.
    second.get_by_role("button", name="Sign out the other hosts").click()
    expect(second.locator("#cohost")).to_be_visible()
    callit.lock(second)
    expect(first.get_by_text("This browser is no longer a host of this game")).to_be_visible()
    first.reload()  # its key is forgotten: it is no host any more
    expect(first.get_by_text("This browser is not the host of this game")).to_be_visible()
