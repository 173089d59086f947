"""The question bank: JSON API, HTML page, the use cases themselves, and the seed command."""
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from questions.core.errors import Invalid
from questions.core.extensions import db
from questions.core.models import Question
from questions.core.usecase import command
from questions.game import bank

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def stored_bodies(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Question.body)))


def post(client, payload):
    return client.post("/api/questions", json=payload)


# ---------------------------------------------------------------- JSON API

def test_list_is_empty_at_first(client):
    response = client.get("/api/questions")
    assert response.status_code == 200
    assert response.get_json() == []


def test_the_list_kept_by_one_app_follows_changes_made_by_another_or_by_plain_sql(make_app):
    """The listing is kept per process while the bank is unchanged: a question added by another
    process (another app instance on the database), inserted or edited by hand, shows at once."""
    reader, writer = make_app().test_client(), make_app().test_client()
    assert post(writer, {"body": "apple?"}).status_code == 201
    assert [q["body"] for q in reader.get("/api/questions").get_json()] == ["apple?"]
    assert post(writer, {"body": "banana?"}).status_code == 201
    assert [q["body"] for q in reader.get("/api/questions").get_json()] == ["apple?", "banana?"]

    with writer.application.app_context():
        db.session.execute(text("UPDATE questions SET body = 'avocado?', updated_at = :now "
                                "WHERE body = 'apple?'"), {"now": datetime.now(UTC).replace(tzinfo=None)})
        db.session.commit()
    assert [q["body"] for q in reader.get("/api/questions").get_json()] == ["avocado?", "banana?"]
    with writer.application.app_context():
        db.session.execute(text("DELETE FROM questions WHERE body = 'banana?'"))
        db.session.commit()
    assert [q["body"] for q in reader.get("/api/questions").get_json()] == ["avocado?"]


def test_list_is_ordered_by_body_with_timestamps(client):
    for body in ("cherry?", "apple?", "banana?"):
        assert post(client, {"body": body}).status_code == 201

    listed = client.get("/api/questions").get_json()

    assert [q["body"] for q in listed] == ["apple?", "banana?", "cherry?"]
    for q in listed:
        assert set(q) == {"id", "body", "created_at", "updated_at"}
        assert isinstance(q["id"], int)
        assert ISO_UTC.match(q["created_at"]), q["created_at"]
        assert ISO_UTC.match(q["updated_at"]), q["updated_at"]


def test_create_returns_201_with_the_stored_question(app, client):
    response = post(client, {"body": "Who will win?"})

    assert response.status_code == 201
    created = response.get_json()
    assert created["body"] == "Who will win?"
    assert created["created_at"] == created["updated_at"]
    assert client.get("/api/questions").get_json() == [created]
    assert stored_bodies(app) == ["Who will win?"]


def test_create_trims_the_body(client):
    response = post(client, {"body": "  \t First to expand?  \n"})
    assert response.status_code == 201
    assert response.get_json()["body"] == "First to expand?"


def test_body_of_exactly_500_characters_is_accepted(client):
    response = post(client, {"body": "x" * 500})
    assert response.status_code == 201
    assert len(response.get_json()["body"]) == 500


@pytest.mark.parametrize("payload", [{}, {"body": ""}, {"body": "   \t\n "}],
                         ids=["missing", "empty", "whitespace"])
def test_body_is_required(app, client, payload):
    response = post(client, payload)
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body is required"]}
    assert stored_bodies(app) == []


def test_empty_request_body_means_body_is_required(app, client):
    response = client.post("/api/questions")
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body is required"]}


def test_body_over_500_characters_is_refused(app, client):
    response = post(client, {"body": "x" * 501})
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body must be at most 500 characters"]}
    assert stored_bodies(app) == []


@pytest.mark.parametrize("value", [42, None, ["a list"], {"an": "object"}, True],
                         ids=["number", "null", "list", "object", "bool"])
def test_body_must_be_a_string(app, client, value):
    response = post(client, {"body": value})
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body must be a string"]}
    assert stored_bodies(app) == []


@pytest.mark.parametrize("body", ["Line one\nline two?", "Tab\tinside?", "Bell\x07?",
                                  "Line\u2028separator?"])
def test_body_must_be_a_single_line(app, client, body):
    response = post(client, {"body": body})
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body must be a single line of text"]}
    assert stored_bodies(app) == []


def test_lone_surrogate_is_400_not_500(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().post("/api/questions", data='{"body": "Broken \\ud800 text?"}',
                                      content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Body must be a single line of text"]}
    assert stored_bodies(app) == []


def test_unknown_field_is_refused(app, client):
    response = post(client, {"body": "Fine question?", "answer": "yes"})
    assert response.status_code == 400
    assert response.get_json() == {"errors": ["Unknown field: answer"]}
    assert stored_bodies(app) == []


@pytest.mark.parametrize("data, content_type, message", [
    ("body=hello", "application/x-www-form-urlencoded",
     "Request body must be JSON (Content-Type: application/json)"),
    ('{"body": "hello"}', "text/plain", "Request body must be JSON (Content-Type: application/json)"),
    ('{"body": "hello"', "application/json", "Request body is not valid JSON"),
    (b"\x80 not utf-8", "application/json", "Request body is not valid JSON"),
    ('["hello"]', "application/json", "Request body must be a JSON object"),
    ('"hello"', "application/json", "Request body must be a JSON object"),
], ids=["form", "text-plain", "truncated-json", "bad-bytes", "array", "string"])
def test_malformed_requests_get_a_clear_400(app, client, data, content_type, message):
    response = client.post("/api/questions", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json() == {"errors": [message]}
    assert stored_bodies(app) == []


def test_api_is_exempt_from_csrf(make_app):
    """The API takes no cookies, so a CSRF-protected app still accepts plain JSON posts."""
    protected = make_app()  # WTF_CSRF_ENABLED left at its default: on
    response = protected.test_client().post("/api/questions", json={"body": "No token needed?"})
    assert response.status_code == 201


# ---------------------------------------------------------------- use cases and events

def test_create_question_emits_newquestion_to_the_bank_room(ctx, events):
    created = bank.create_question(ctx, {"body": "First unit lost?"})

    assert events.sent == [("bank", "newquestion", {
        "id": created.id, "body": "First unit lost?",
        "created_at": created.model_dump(mode="json")["created_at"],
        "updated_at": created.model_dump(mode="json")["updated_at"],
    })]


def test_newquestion_is_emitted_only_after_commit(make_app):
    """At the moment of emitting, another connection can already see the question."""
    seen = []

    class CheckingSink:
        def emit(self, room, event, data):
            with db.engine.connect() as other:
                seen.append(other.scalar(select(Question.body).where(Question.id == data["id"])))

    app = make_app(events=CheckingSink())
    with app.app_context():
        bank.create_question(app.extensions["callit"].context(), {"body": "Committed first?"})
    assert seen == ["Committed first?"]


def test_nothing_is_emitted_when_validation_fails(ctx, events):
    with pytest.raises(Invalid) as failure:
        bank.create_question(ctx, {"body": "   "})
    assert failure.value.messages == ["Body is required"]
    assert events.sent == []


def test_a_failing_command_rolls_back_and_emits_nothing(app, ctx, events):
    """Events queued before a failure are dropped along with the rolled-back rows."""
    @command()
    def insert_then_fail(ctx, request: bank.NewQuestion) -> bank.QuestionOut:
        bank.insert_question(ctx, request.body)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        insert_then_fail(ctx, {"body": "Never stored?"})
    assert events.sent == []
    assert ctx.pending_events == []
    assert stored_bodies(app) == []


def test_list_questions_use_case(ctx):
    bank.create_question(ctx, {"body": "b?"})
    bank.create_question(ctx, {"body": "a?"})
    assert [q.body for q in bank.list_questions(ctx, {})] == ["a?", "b?"]


# ---------------------------------------------------------------- HTML page

def test_questions_page_lists_the_bank(client):
    post(client, {"body": "Who gets the first kill?"})
    response = client.get("/questions")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Who gets the first kill?" in page
    assert "(1)" in page


def test_questions_page_escapes_bodies(client):
    post(client, {"body": "<script>alert(1)</script>"})
    page = client.get("/questions").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def csrf_token(client) -> str:
    page = client.get("/questions").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form has a hidden csrf_token input"
    return match.group(1)


def test_form_post_with_csrf_token_creates_and_redirects(make_app):
    app = make_app()  # CSRF on, as in production
    client = app.test_client()

    response = client.post("/questions", data={"body": "  First to max supply? ",
                                               "csrf_token": csrf_token(client)})

    assert response.status_code == 303
    assert response.headers["Location"].startswith("/questions?added=")
    assert stored_bodies(app) == ["First to max supply?"]
    assert app.extensions["callit"].events.names("bank") == ["newquestion"]
    assert "First to max supply?" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused_readably(make_app):
    app = make_app()
    response = app.test_client().post("/questions", data={"body": "Sneaky?"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "This form has expired. Reload the page and try again." in response.get_data(as_text=True)
    assert stored_bodies(app) == []


def test_form_with_blank_body_shows_the_error_and_keeps_the_input(app, client):
    response = client.post("/questions", data={"body": "   "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Body is required" in page
    assert 'value="   "' in page
    assert 'aria-invalid="true"' in page
    assert stored_bodies(app) == []


def test_form_with_too_long_body_keeps_what_was_typed(app, client):
    typed = "Is this too long? " + "x" * 500
    response = client.post("/questions", data={"body": typed})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Body must be at most 500 characters" in page
    assert f'value="{typed}"' in page
    assert stored_bodies(app) == []
