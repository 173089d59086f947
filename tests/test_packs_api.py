"""Question packs: the JSON API, games made from a pack, and the bank page grouped by pack."""
from sqlalchemy import select

from questions.core.extensions import db
from questions.core.models import PackQuestion, Question


def make_pack(client, name="StarCraft II", **extra):
    response = client.post("/api/packs", json={"name": name, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add(client, slug, payload):
    return client.post(f"/api/packs/{slug}/questions", json=payload)


# ---------------------------------------------------------------- JSON API

def test_create_pack_derives_the_slug_and_lists_it(client):
    pack = make_pack(client, "StarCraft II: Legacy", description="  A night of zerg rushes  ")
    assert pack["slug"] == "starcraft-ii-legacy"
    assert pack["description"] == "A night of zerg rushes"
    assert pack["questions"] == [] and pack["question_count"] == 0

    make_pack(client, "Eurovision", slug="esc")
    listed = client.get("/api/packs").get_json()
    assert [(p["slug"], p["name"], p["question_count"]) for p in listed] == [
        ("esc", "Eurovision", 0), ("starcraft-ii-legacy", "StarCraft II: Legacy", 0)]


def test_create_pack_refuses_a_taken_slug_and_bad_input(client):
    make_pack(client, "Football")
    taken = client.post("/api/packs", json={"name": "Football"})
    assert taken.status_code == 409
    assert taken.get_json() == {"errors": ["A pack with slug football already exists"]}

    bad = client.post("/api/packs", json={"name": " ", "slug": "Not A Slug"})
    assert bad.status_code == 400
    assert bad.get_json()["errors"] == [
        "Name is required", "Slug must be 1 to 60 lowercase letters, digits and single hyphens"]
    assert client.post("/api/packs", json={"name": "X", "description": "two\nlines"}).status_code == 400
    assert [p["slug"] for p in client.get("/api/packs").get_json()] == ["football"]


def test_a_name_without_latin_letters_still_gets_a_slug(client):
    pack = make_pack(client, "축구의 밤")
    assert pack["slug"].startswith("pack-") and len(pack["slug"]) == 13
    assert client.get(f"/api/packs/{pack['slug']}").get_json()["name"] == "축구의 밤"


def test_add_questions_by_id_and_by_body_in_pack_order(app, client, events):
    pack = make_pack(client, "Football")
    existing = client.post("/api/questions", json={"body": "Who scores first?"}).get_json()

    by_id = add(client, "football", {"question_id": existing["id"]})
    by_body = add(client, "football", {"body": "Who leads at half time?"})
    # the same text in another case is the bank's question, not a new one
    same_text = add(client, "FOOTBALL", {"body": "  WHO SCORES FIRST?  "})

    assert by_id.status_code == 201 and by_id.get_json()["id"] == existing["id"]
    assert by_body.status_code == 201
    assert same_text.status_code == 409
    assert same_text.get_json() == {"errors": ["That question is already in this pack"]}
    got = client.get("/api/packs/football").get_json()
    assert [q["body"] for q in got["questions"]] == ["Who scores first?", "Who leads at half time?"]
    assert got["question_count"] == 2 and got["slug"] == pack["slug"]
    assert len(client.get("/api/questions").get_json()) == 2
    assert events.names("bank") == ["newquestion", "pack_question_added", "newquestion",
                                    "pack_question_added"]


def test_a_question_can_be_in_several_packs(client):
    make_pack(client, "Football")
    make_pack(client, "Sports")
    q = client.post("/api/questions", json={"body": "Who wins?"}).get_json()
    assert add(client, "football", {"question_id": q["id"]}).status_code == 201
    assert add(client, "sports", {"question_id": q["id"]}).status_code == 201
    counts = {p["slug"]: p["question_count"] for p in client.get("/api/packs").get_json()}
    assert counts == {"football": 1, "sports": 1}


def test_add_question_errors(client):
    make_pack(client, "Football")
    assert add(client, "nope", {"body": "Who?"}).status_code == 404
    assert add(client, "football", {}).get_json() == {"errors": ["Give either question_id or body"]}
    assert add(client, "football", {"question_id": 99}).get_json() == {"errors": ["Unknown question id: 99"]}
    assert add(client, "football", {"body": ""}).status_code == 400
    assert client.get("/api/packs/football").get_json()["questions"] == []


def test_unknown_or_impossible_slugs_are_not_found(client):
    for slug in ("nope", "x" * 70, "a%00b"):
        response = client.get(f"/api/packs/{slug}")
        assert response.status_code == 404, slug
        assert response.get_json()["errors"]


def test_deleting_a_question_leaves_no_dangling_pack_entry(app, client):
    make_pack(client, "Football")
    q = add(client, "football", {"body": "Who wins?"}).get_json()
    with app.app_context():
        db.session.delete(db.session.get(Question, q["id"]))
        db.session.commit()
        assert db.session.scalars(select(PackQuestion)).all() == []


# ---------------------------------------------------------------- games from a pack

def test_create_game_from_a_pack_and_chosen_questions(client):
    make_pack(client, "Football")
    first = add(client, "football", {"body": "Who scores first?"}).get_json()
    second = add(client, "football", {"body": "Who wins?"}).get_json()
    extra = client.post("/api/questions", json={"body": "Who gets a red card?"}).get_json()

    game = client.post("/api/games", json={"pack": "Football", "question_ids": [extra["id"], first["id"]]})

    assert game.status_code == 201, game.get_json()
    assert [q["id"] for q in game.get_json()["questions"]] == [first["id"], second["id"], extra["id"]]


def test_create_game_from_an_unknown_or_empty_pack_is_refused(client):
    assert client.post("/api/games", json={"pack": "nope"}).get_json() == {"errors": ["Unknown pack: nope"]}
    make_pack(client, "Empty")
    assert client.post("/api/games", json={"pack": "empty"}).get_json() == {
        "errors": ["That pack has no questions yet"]}
    assert client.post("/api/games", json={}).get_json() == {"errors": ["Pick at least one question"]}


def test_a_pack_too_big_for_one_game_is_refused(client):
    make_pack(client, "Huge")
    for n in range(51):
        assert add(client, "huge", {"body": f"Question {n}?"}).status_code == 201
    response = client.post("/api/games", json={"pack": "huge"})
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["A game takes at most 50 questions; these are 51"]}


# ---------------------------------------------------------------- the bank page

def test_bank_page_groups_by_pack_and_filters(client):
    make_pack(client, "Football", description="Kick-off calls")
    make_pack(client, "Tennis")
    add(client, "football", {"body": "Who scores first?"})
    add(client, "tennis", {"body": "Who wins the first set?"})
    client.post("/api/questions", json={"body": "Loose question?"})

    page = client.get("/questions").get_data(as_text=True)
    order = [page.index(text) for text in ("<h3>Football", "Who scores first?", "Kick-off calls",
                                           "<h3>Tennis", "Who wins the first set?",
                                           "<h3>Not in a pack", "Loose question?")]
    assert order[0] < order[2] < order[1] < order[3] < order[4] < order[5] < order[6]
    assert 'href="/api/packs/football/export?format=csv"' in page

    tennis = client.get("/questions?pack=tennis").get_data(as_text=True)
    assert "Who wins the first set?" in tennis
    assert "Who scores first?" not in tennis and "Loose question?" not in tennis
    assert '<option value="tennis" selected>' in tennis

    loose = client.get("/questions?pack=-").get_data(as_text=True)
    assert "Loose question?" in loose and "Who scores first?" not in loose

    unknown = client.get("/questions?pack=nope")
    assert unknown.status_code == 404
    assert "No pack with slug nope" in unknown.get_data(as_text=True)


def test_bank_page_adds_a_question_to_a_pack(client):
    make_pack(client, "Football")
    response = client.post("/questions", data={"body": "Who scores first?", "pack": "football"})
    assert response.status_code == 303
    assert [q["body"] for q in client.get("/api/packs/football").get_json()["questions"]] == [
        "Who scores first?"]

    again = client.post("/questions", data={"body": "who scores first?", "pack": "football"})
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "That question is already in this pack" in page
    assert 'value="who scores first?"' in page  # what was typed stays
    assert '<option value="football" selected>' in page


def test_start_page_starts_a_game_from_a_pack(client):
    make_pack(client, "Football")
    add(client, "football", {"body": "Who scores first?"})
    page = client.get("/").get_data(as_text=True)
    assert '<option value="football">Football (1)</option>' in page

    response = client.post("/", data={"pack": "football", "title": "Derby"})
    assert response.status_code == 303
    code = response.headers["Location"].rsplit("/", 1)[-1]
    assert [q["body"] for q in client.get(f"/api/games/{code}").get_json()["questions"]] == [
        "Who scores first?"]

    refused = client.post("/", data={"pack": "nope", "title": "Derby"})
    assert refused.status_code == 400
    assert "Unknown pack: nope" in refused.get_data(as_text=True)
