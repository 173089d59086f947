"""The first five minutes: `make run HOST=0.0.0.0` (or `make lan`) prints, and puts in the join
QR code, the address phones on the LAN reach; PUBLIC_URL wins; no eventlet notice."""
from __future__ import annotations

import re

import pytest
import requests

from questions.config import Settings
from questions.serving import free_port, lan_address, with_public_url


def settings(**env: str) -> Settings:
    return Settings.from_env({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://", **env})


def test_listening_on_every_interface_uses_the_lan_address():
    chosen, said = with_public_url(settings(HOST="0.0.0.0", PORT="5000"), "192.168.1.20")
    assert chosen.public_url == "http://192.168.1.20:5000"
    assert said == ("Phones on this network join at http://192.168.1.20:5000 (LAN address "
                    "detected; set PUBLIC_URL to use another).")


def test_public_url_wins_over_the_lan_address():
    given = settings(HOST="0.0.0.0", PUBLIC_URL="https://callit.example")
    chosen, said = with_public_url(given, "192.168.1.20")
    assert chosen is given and said == "Links and the QR code use PUBLIC_URL=https://callit.example."


def test_no_lan_address_found_says_what_to_do():
    chosen, said = with_public_url(settings(HOST="0.0.0.0"), None)
    assert chosen.public_url is None and "set PUBLIC_URL" in said


def test_loopback_points_to_make_lan():
    chosen, said = with_public_url(settings(), "192.168.1.20")
    assert chosen.public_url is None and "make lan" in said


def test_lan_address_is_an_ipv4_address_or_none():
    found = lan_address()
    assert found is None or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", found)


@pytest.mark.live
def test_the_server_on_every_interface_prints_and_encodes_the_lan_address(start_server):
    lan = lan_address()
    if lan is None:
        pytest.skip("this machine has no route to a LAN")
    port = free_port()
    server = start_server(port=port, env={"HOST": "0.0.0.0"})
    base = f"http://{lan}:{port}"
    log = server.log()
    assert f"Host a game:  {base}/" in log and f"Phones on this network join at {base}" in log, log
    assert "Eventlet is deprecated" not in log, log

    question = requests.post(f"{server.url}/api/questions", json={"body": "Who wins?"}, timeout=10).json()
    code = requests.post(f"{server.url}/api/games", json={"question_ids": [question["id"]]},
                         timeout=10).json()["code"]
    screen = requests.get(f"{server.url}/screen/{code}", timeout=10).text
    # the projector's QR code and printed link: the LAN address, not the 127.0.0.1 it was opened at
    assert f'<p class="join-url">{base}/join/{code}</p>' in screen
    assert f'alt="QR code for {base}/join/{code}"' in screen
