"""Per-address limits on what had none: scanning game codes, reads, and question-bank writes.
A scan is refused 429 after a few unknown codes (for every lookup from that address, so a
hit found by luck shows nothing); a meetup's 200 phones behind one address still play."""
import secrets
from dataclasses import replace

from questions.game.games import CODE_ALPHABET


def test_scanning_codes_is_refused_after_a_few_misses(make_app, settings):
    app = make_app(replace(settings, rate_limit_unknown_code_per_minute=20), WTF_CSRF_ENABLED=False)
    client = app.test_client()
    qid = client.post("/api/questions", json={"body": "Scan?"}).get_json()["id"]
    real = client.post("/api/games", json={"question_ids": [qid]}).get_json()["code"]
    codes = (CODE_ALPHABET[n:n + 4] for n in range(len(CODE_ALPHABET) - 3))  # 17 codes, in order
    statuses = [client.get(f"/api/games/{code}").status_code for code in codes if code != real]
    assert statuses[:10] == [404] * 10 and statuses[-1] == 429
    refused = client.get(f"/api/games/{real}")  # even a real code: the scanner learns nothing
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get(f"/join/{real}").status_code in (200, 429)  # the form itself needs no lookup
    other = app.test_client()  # another address is not affected
    assert other.get(f"/api/games/{real}", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200


def test_200_phones_behind_one_address_keep_reading(make_app, settings):
    app = make_app(settings, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    qid = client.post("/api/questions", json={"body": "Crowd?"}).get_json()["id"]
    code = client.post("/api/games", json={"question_ids": [qid]}).get_json()["code"]
    # every phone loads its page and refetches the panel a few times, all at once
    statuses = {client.get(f"/api/games/{code}/state").status_code for _ in range(200 * 5)}
    assert statuses == {200}


def test_bank_writes_are_limited_per_address(make_app, settings):
    app = make_app(replace(settings, rate_limit_bank_per_minute=5))
    client = app.test_client()
    address = {"REMOTE_ADDR": f"198.51.100.{secrets.randbelow(250) + 1}"}  # counts are shared: a fresh one
    statuses = [client.post("/api/questions", json={"body": f"Burst {n} {address}?"},
                            environ_base=address).status_code for n in range(8)]
    assert statuses == [201] * 5 + [429] * 3
