"""Languages: the German catalog is complete and compiled, and each kind of page and the API pick
the language the way README's "Languages" section says.

The catalog check extracts the texts from the sources as `make translations` does (babel.cfg), so
a text added without a German translation, or one left fuzzy, fails `make test`."""
import io
import json
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from questions.config import PROJECT_ROOT
from questions.core.i18n import LANGUAGES, Message, _, translate

PO = PROJECT_ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def source_texts() -> dict[str, str]:
    """Every text marked for translation in the sources: text -> where it was found."""
    with open(PROJECT_ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT, method_map, options_map,
            directory_filter=lambda path: ".venv" not in path and "vendor" not in path):
        text = message if isinstance(message, str) else message[0]
        if text:
            found.setdefault(text, f"{filename}:{lineno}")
    return found


def german():
    with open(PO, "rb") as po:
        return read_po(po, locale="de")


def test_every_text_has_a_german_translation_that_is_not_fuzzy():
    catalog = german()
    texts = source_texts()
    assert len(texts) > 50
    missing = [f"{where}: {text!r}" for text, where in sorted(texts.items(), key=lambda kv: kv[1])
               if text not in catalog or not catalog[text].string or catalog[text].fuzzy]
    assert missing == [], ("German translations missing or fuzzy (run `make translations`, "
                           "translate them in translations/de/LC_MESSAGES/messages.po, run it again):\n"
                           + "\n".join(missing))


def test_translations_keep_their_placeholders():
    catalog = german()
    problems = [f"{message.id!r}: {errors}" for message, errors in catalog.check()]
    assert problems == []
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert sorted(re.findall(r"%\((\w+)\)s", message.id)) == sorted(
                re.findall(r"%\((\w+)\)s", message.string)), message.id


def test_the_compiled_catalog_is_current():
    compiled = io.BytesIO()
    write_mo(compiled, german())
    compiled.seek(0)
    def entries(mo) -> dict:  # a plural's id and strings are lists
        return {tuple(m.id) if isinstance(m.id, list | tuple) else m.id:
                tuple(m.string) if isinstance(m.string, list | tuple) else m.string
                for m in read_mo(mo) if m.id}

    with open(MO, "rb") as committed:
        ours = entries(committed)
    assert ours == entries(compiled), \
        "translations/de/LC_MESSAGES/messages.mo is out of date: run `make translations`"


# ---------------------------------------------------------------- messages

def test_a_message_is_english_text_that_remembers_its_template():
    message = _("%(label)s is required", label=_("Body"))
    assert message == "Body is required" and isinstance(message, str)
    catalog = {"%(label)s is required": "%(label)s fehlt", "Body": "Frage"}
    assert translate(message, lambda text: catalog.get(text, text)) == "Frage fehlt"
    assert translate("plain", lambda text: "never looked up") == "plain"
    broken = {"%(label)s is required": "%(nope)s fehlt"}
    assert translate(message, lambda text: broken.get(text, text)) == "Body is required"
    assert isinstance(Message("x"), str)


# ---------------------------------------------------------------- choosing the language

def lang_of(response) -> str:
    return re.search(r'<html lang="(\w+)"', response.get_data(as_text=True)).group(1)


def test_pages_follow_accept_language(client):
    assert lang_of(client.get("/questions")) == "en"
    german_page = client.get("/questions", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert lang_of(german_page) == "de"
    assert 'aria-label="Sprache"' in german_page.get_data(as_text=True)
    assert lang_of(client.get("/questions", headers={"Accept-Language": "fr, ko"})) == "en"


def test_the_switch_is_on_every_page_and_remembered(client):
    page = client.get("/questions").get_data(as_text=True)
    assert 'href="/language/de?next=/questions" lang="de" hreflang="de">Deutsch</a>' in page

    switched = client.get("/language/de?next=/questions")
    assert switched.status_code == 303 and switched.headers["Location"] == "/questions"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=de;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie

    # the choice beats the browser's language, on every page but the projector's
    english_browser = {"Accept-Language": "en"}
    assert lang_of(client.get("/questions", headers=english_browser)) == "de"
    assert lang_of(client.get("/", headers=english_browser)) == "de"
    assert client.get("/language/xx?next=/").status_code == 404


def test_the_projector_keeps_a_language_of_its_own(client):
    game = client.post("/api/games", json={"question_ids": [
        client.post("/api/questions", json={"body": "Who wins?"}).get_json()["id"]]}).get_json()
    screen = f"/screen/{game['code']}"
    client.get(f"/language/de?next={screen}")  # the projector in German...
    client.get("/language/en?next=/")          # ...the host's own pages in English
    assert lang_of(client.get(screen)) == "de"
    assert lang_of(client.get(f"/host/{game['code']}")) == "en"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_the_switch_only_goes_back_to_this_site(client, target):
    response = client.get("/language/de", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_api_errors_stay_english_unless_accept_language_asks(client):
    client.get("/language/de?next=/")  # a page's choice does not change the API
    assert client.post("/api/packs", json={}).get_json() == {"errors": ["Name is required"]}
    german_answer = client.post("/api/packs", json={"name": ""}, headers={"Accept-Language": "de"})
    assert german_answer.get_json() == {"errors": ["Name fehlt"]}
    not_found = client.get("/api/packs/nope", headers={"Accept-Language": "de"})
    assert not_found.get_json() == {"errors": ["Kein Paket mit dem Slug nope"]}


def test_page_errors_are_in_the_page_language(client):
    client.get("/language/de?next=/questions")
    response = client.post("/questions", data={"body": " "})
    assert response.status_code == 400
    assert "Frage fehlt" in response.get_data(as_text=True)


def test_scripts_get_their_texts_in_the_page(client):
    page = client.get("/questions", headers={"Accept-Language": "de"}).get_data(as_text=True)
    blob = re.search(r'<script type="application/json" id="strings">(.*?)</script>', page, re.S).group(1)
    strings = json.loads(blob)
    assert strings and all(isinstance(v, str) and v for v in strings.values())
    assert set(LANGUAGES) == {"en", "de"}


def test_a_number_out_of_range_is_explained_in_the_language_asked(client):
    """Range errors (a 5-second timer, page 0) have our own words, not pydantic's English."""
    english = client.get("/api/games/ABCD/leaderboard?limit=0").get_json()
    assert english == {"errors": ["Limit must be at least 1"]}
    german = client.get("/api/games/ABCD/leaderboard?limit=5000", headers={"Accept-Language": "de"})
    assert "darf höchstens 1000 sein" in german.get_json()["errors"][0]
