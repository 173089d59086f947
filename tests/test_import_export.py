"""Importing and exporting packs: the use case, `flask import-questions`, `flask seed-questions`,
the upload form and the export route; round trips, and hostile files."""
import io
import json
import re

import pytest
from sqlalchemy import select

from questions.core.errors import Invalid, TooLarge
from questions.core.extensions import db
from questions.core.models import Question
from questions.game.transfer import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, import_questions

from .conftest import flask_cli


def bank(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Question.body)))


def packs(client) -> dict:
    """Every pack as the API shows it, without timestamps: slug -> (name, description, bodies)."""
    out = {}
    for summary in client.get("/api/packs").get_json():
        pack = client.get(f"/api/packs/{summary['slug']}").get_json()
        out[pack["slug"]] = (pack["name"], pack["description"], [q["body"] for q in pack["questions"]])
    return out


def run_import(ctx, content: bytes, filename="questions.csv"):
    return import_questions(ctx, {"content": content, "filename": filename})


# ---------------------------------------------------------------- CSV and JSON import

def test_csv_import_creates_questions_and_packs_and_skips_duplicates(app, ctx, client, events):
    client.post("/api/questions", json={"body": "Who wins?"})
    content = (b"body,pack\n"
               b"Who scores first?,Football\n"
               b"  who WINS?  ,Football\n"        # the bank's question, put into the pack
               b"Who leads at half time?,\n"
               b"Who scores first?,Sports night\n"  # earlier row's question, in a second pack
               b",\n")

    report = run_import(ctx, content)

    assert report.model_dump() == {"rows": 4, "added": 2, "duplicates": 2, "linked": 3,
                                   "packs_created": ["football", "sports-night"]}
    assert bank(app) == ["Who leads at half time?", "Who scores first?", "Who wins?"]
    assert packs(client) == {"football": ("Football", "", ["Who scores first?", "Who wins?"]),
                             "sports-night": ("Sports night", "", ["Who scores first?"])}
    assert events.sent[-1] == ("bank", "questions_imported", {"added": 2})


def test_csv_with_a_bom_crlf_and_columns_in_any_order(app, ctx, client):
    content = "\ufeffPack , BODY\r\nTennis,\"Who wins, in straight sets?\"\r\n".encode()
    report = run_import(ctx, content)
    assert report.added == 1
    assert packs(client) == {"tennis": ("Tennis", "", ["Who wins, in straight sets?"])}


def test_csv_pack_cells_find_packs_by_slug_or_name(ctx, client):
    client.post("/api/packs", json={"name": "StarCraft II", "slug": "sc2"})
    run_import(ctx, b"body,pack\nFirst to expand?,starcraft ii\nFirst kill?,sc2\n")
    assert packs(client) == {"sc2": ("StarCraft II", "", ["First to expand?", "First kill?"])}


def test_bad_rows_are_numbered_and_nothing_is_imported(app, ctx, client):
    content = ("body,pack\n"
               "Fine question?,Football\n"
               ",Football\n"
               f"{'x' * 501},\n"
               "Two pack cells?,A,B\n"
               f"Long pack?,{'p' * 81}\n").encode()

    with pytest.raises(Invalid) as refused:
        run_import(ctx, content)

    assert refused.value.messages == [
        "Row 3: Body is required",
        "Row 4: Body must be at most 500 characters",
        "Row 5: more cells than the header names",
        "Row 6: Pack must be at most 80 characters",
    ]
    assert bank(app) == [] and packs(client) == {}


def test_many_bad_rows_name_the_first_twenty(ctx):
    content = b"body\n" + b"\x01bad\n" * 300
    with pytest.raises(Invalid) as refused:
        run_import(ctx, content)
    assert refused.value.messages[0] == "Row 2: Body must be a single line of text"
    assert refused.value.messages[19] == "Row 21: Body must be a single line of text"
    assert refused.value.messages[20] == "… and 280 more errors"


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty; its first row must be the header: body,pack"),
    (b"question,pack\nWho?,x\n", "Row 1 must be the header: body,pack (the pack column may be left out)"),
    (b"body,body\nWho?,x\n", "Row 1 must be the header: body,pack (the pack column may be left out)"),
    (b"body\n\n\n", "The file holds no questions"),
])
def test_csv_without_a_usable_header_or_rows(ctx, content, message):
    with pytest.raises(Invalid) as refused:
        run_import(ctx, content)
    assert refused.value.messages == [message]


def test_json_import_errors_name_the_pack_and_question(app, ctx):
    document = {"format": "callit-question-packs", "version": 1, "packs": [
        {"name": "Good", "questions": [{"body": "Fine?"}, "Also fine?"]},
        {"name": "", "questions": []},
        {"name": "Bad", "slug": "Bad Slug", "colour": "red", "questions": [{"body": ""}, 7]},
    ]}
    with pytest.raises(Invalid) as refused:
        run_import(ctx, json.dumps(document).encode(), "packs.json")
    assert refused.value.messages == [
        "Pack 2: Name is required",
        "Pack 3: unknown field colour",
        "Pack 3: Slug must be 1 to 60 lowercase letters, digits and single hyphens",
        "Pack 3, question 1: Body is required",
        "Pack 3, question 2: Body must be a string",
    ]
    assert bank(app) == []


@pytest.mark.parametrize("content, message", [
    (b'{"packs": [', "Line 1: not valid JSON (Expecting value)"),
    (b"[]", 'The file must be a JSON object with a "packs" list, as an export writes it'),
    (b'{"format": "kahoot", "packs": []}', 'Only format "callit-question-packs" version 1 can be imported'),
    (b"[" * 100_000 + b"]" * 100_000, "The file is not valid JSON"),
])
def test_json_that_is_not_the_export_format(ctx, content, message):
    with pytest.raises(Invalid) as refused:
        run_import(ctx, content, "x.json")
    assert refused.value.messages == [message]


# ---------------------------------------------------------------- hostile files

def test_wrong_encoding_is_refused_naming_the_line(app, ctx):
    latin1 = "body,pack\nWho wins?,Football\nWer schießt das erste Tor?,Fußball\n".encode("latin-1")
    with pytest.raises(Invalid) as refused:
        run_import(ctx, latin1)
    assert refused.value.messages == [
        "Line 3: the file is not UTF-8 text (byte 0xdf); save it as UTF-8 (in Excel: CSV UTF-8)"]

    utf16 = "body\nWho wins?\n".encode("utf-16")
    with pytest.raises(Invalid) as refused:
        run_import(ctx, utf16)
    assert refused.value.messages == ["The file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)"]
    assert bank(app) == []


def test_formula_looking_cells_stay_text_and_export_defused(app, ctx, client):
    formulas = ['=HYPERLINK("http://evil.example","Click")', "+1 or -1?", "@SUM(A1:A9)",
                "-5 kills or more?"]
    content = "body,pack\n" + "".join(
        f'"{body.replace(chr(34), chr(34) * 2)}",=cmd|calc\n' for body in formulas)
    run_import(ctx, content.encode())

    assert bank(app) == sorted(formulas)
    exported = client.get("/api/packs/cmd-calc/export?format=csv").get_data(as_text=True)
    for line in exported.lstrip("\ufeff").splitlines()[1:]:
        assert line.startswith(("'", "\"'")), line  # a spreadsheet shows it, never runs it
        assert ",'=cmd|calc" in line
    page = client.get("/questions").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;Click&#34;)" in page


def test_ten_megabytes_is_refused_before_parsing(app, ctx):
    content = b"body\n" + b"Who wins this one?\n" * (10 * 1024 * 1024 // 19)
    with pytest.raises(TooLarge) as refused:
        run_import(ctx, content)
    assert refused.value.status == 413
    assert refused.value.messages == ["The file is 10.0 MB; the limit is 2 MB"]
    assert bank(app) == []


def test_a_hundred_thousand_rows_are_refused(app, ctx):
    content = b"body\n" + b"".join(b"Q%d?\n" % n for n in range(100_000))
    assert len(content) < MAX_IMPORT_BYTES
    with pytest.raises(TooLarge) as refused:
        run_import(ctx, content)
    assert refused.value.messages == [
        f"The file has more than {MAX_IMPORT_ROWS:,} questions; split it into smaller files"]
    assert bank(app) == []


def test_exactly_the_row_limit_imports(app, ctx):
    content = b"body,pack\n" + b"".join(b"Question %d?,Big\n" % n for n in range(MAX_IMPORT_ROWS))
    report = run_import(ctx, content)
    assert report.added == MAX_IMPORT_ROWS and report.linked == MAX_IMPORT_ROWS
    assert len(bank(app)) == MAX_IMPORT_ROWS


def test_nul_bytes_and_huge_cells_are_row_errors(app, ctx):
    with pytest.raises(Invalid) as refused:
        run_import(ctx, b"body\nWho\x00wins?\n")
    assert refused.value.messages == ["Row 2: Body must be a single line of text"]
    with pytest.raises(Invalid) as refused:
        run_import(ctx, b"body\n" + b"x" * 200_000 + b"\n")
    assert refused.value.messages[0].startswith("Row 2: ")
    assert bank(app) == []


# ---------------------------------------------------------------- export and round trips

def test_export_json_and_csv(client):
    client.post("/api/packs", json={"name": "Fußball", "slug": "fussball", "description": "Bundesliga"})
    for body in ("Wer schießt das erste Tor?", 'Who says "GG" first?'):
        client.post("/api/packs/fussball/questions", json={"body": body})

    as_json = client.get("/api/packs/fussball/export?format=json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert as_json.headers["Content-Disposition"] == 'attachment; filename="fussball.json"'
    assert as_json.get_json() == {"format": "callit-question-packs", "version": 1, "packs": [{
        "slug": "fussball", "name": "Fußball", "description": "Bundesliga",
        "questions": [{"body": "Wer schießt das erste Tor?"}, {"body": 'Who says "GG" first?'}]}]}
    assert "schießt" in as_json.get_data(as_text=True)  # readable UTF-8, not \\u escapes

    as_csv = client.get("/api/packs/fussball/export?format=csv")
    assert as_csv.mimetype == "text/csv"
    assert as_csv.headers["Content-Disposition"] == 'attachment; filename="fussball.csv"'
    assert as_csv.get_data(as_text=True) == (
        '\ufeffbody,pack\r\nWer schießt das erste Tor?,Fußball\r\n"Who says ""GG"" first?",Fußball\r\n')

    assert client.get("/api/packs/fussball/export").mimetype == "application/json"
    assert client.get("/api/packs/fussball/export?format=xlsx").status_code == 400
    assert client.get("/api/packs/nope/export").status_code == 404


def fill(client):
    """Two packs sharing a question, with awkward text."""
    client.post("/api/packs", json={"name": "StarCraft II", "slug": "sc2", "description": "Zerg, ja!"})
    client.post("/api/packs", json={"name": "Tennis night"})
    for slug, body in (("sc2", "First to expand?"), ("sc2", "=1+1, or 'two'?"),
                       ("sc2", "Wer gewinnt, \"Serral\" oder Maru?"), ("tennis-night", "First to expand?"),
                       ("tennis-night", "Who wins the 🎾 tie-break?")):
        assert client.post(f"/api/packs/{slug}/questions", json={"body": body}).status_code == 201


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip_into_an_empty_database_gives_identical_packs(make_app, fmt):
    app = make_app(WTF_CSRF_ENABLED=False)
    client = app.test_client()
    fill(client)
    before = packs(client)
    files = {slug: client.get(f"/api/packs/{slug}/export?format={fmt}").get_data() for slug in before}

    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        assert packs(client) == {}
        ctx = app.extensions["callit"].context()
        for slug, content in files.items():
            run_import(ctx, content, f"{slug}.{fmt}")

    after = packs(client)
    if fmt == "csv":  # a CSV holds no slug or description: slugs come from the names
        before = {"starcraft-ii": (before["sc2"][0], "", before["sc2"][2]),
                  "tennis-night": before["tennis-night"]}
    assert after == before
    assert len(client.get("/api/questions").get_json()) == 4  # the shared question once


def test_importing_the_same_export_twice_changes_nothing(ctx, client):
    fill(client)
    content = client.get("/api/packs/sc2/export").get_data()
    before = packs(client)
    report = run_import(ctx, content, "sc2.json")
    assert (report.added, report.duplicates, report.linked, report.packs_created) == (0, 3, 0, [])
    assert packs(client) == before


# ---------------------------------------------------------------- the CLI

def test_import_questions_cli(app, migrated_db, instance_dir, tmp_path, client):
    good = tmp_path / "night.csv"
    good.write_bytes("\ufeffbody,pack\nWho wins?,Football\nWho wins?,Tennis\n".encode())
    done = flask_cli(migrated_db, instance_dir, "import-questions", str(good))
    assert done.stdout.strip() == ("Added 1 question(s), skipped 1 already in the bank, put 2 into "
                                   "packs; new packs: football, tennis.")

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"body\nFine?\n\n,\n" + "Caf\xe9?\n".encode("latin-1"))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import-questions", str(bad)])
    assert refused.exit_code == 1
    assert "Nothing was imported:\nLine 5: the file is not UTF-8 text (byte 0xe9)" in refused.output
    assert bank(app) == ["Who wins?"]

    wrong_format = runner.invoke(args=["import-questions", "--format", "json", str(good)])
    assert wrong_format.exit_code == 1 and "not valid JSON" in wrong_format.output


def test_import_questions_cli_refuses_a_huge_file_without_reading_it_all(app, tmp_path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as out:
        out.write(b"body\n")
        out.truncate(10 * 1024 * 1024)
    result = app.test_cli_runner().invoke(args=["import-questions", str(huge)])
    assert result.exit_code == 1
    assert "the limit is 2 MB" in result.output
    assert bank(app) == []


def test_seed_questions_loads_the_starter_packs_once(app, client):
    client.post("/api/questions", json={"body": "who will win?"})  # also in the StarCraft pack
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed-questions"])
    assert first.exit_code == 0, first.output
    seeded = packs(client)
    assert set(seeded) == {"starcraft", "esports-and-sports"}
    assert all(len(bodies) >= 10 for _name, _description, bodies in seeded.values())
    assert "who will win?" in seeded["starcraft"][2]  # the bank's own question, not a copy
    assert "skipped 1 already in the bank" in first.output
    count = len(bank(app))

    second = runner.invoke(args=["seed-questions"])
    assert second.exit_code == 0, second.output
    assert re.findall(r"Added (\d+) question", second.output) == ["0", "0"]
    assert packs(client) == seeded and len(bank(app)) == count


# ---------------------------------------------------------------- the upload form

def upload(client, content: bytes, filename: str, **data):
    return client.post("/questions/import", data={"file": (io.BytesIO(content), filename), **data},
                       content_type="multipart/form-data")


def test_upload_form_imports_and_reports(app, client):
    response = upload(client, b"body,pack\nWho wins?,Football\nwho wins?,\n", "night.csv")
    assert response.status_code == 303
    assert response.headers["Location"] == "/questions?imported=1&duplicates=1&linked=1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported: 1 new question(s); 1 already in the bank (skipped); 1 put into packs." in page
    assert packs(client) == {"football": ("Football", "", ["Who wins?"])}


def test_upload_form_shows_row_errors_and_imports_nothing(app, client):
    response = upload(client, b"body,pack\nFine?,\n,Football\n", "night.csv")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported." in page and "Row 3: Body is required" in page
    assert 'aria-describedby="import-errors"' in page
    assert bank(app) == []
    assert upload(client, b"", "").status_code == 400


def test_upload_form_refuses_ten_megabytes_readably(app, client):
    response = upload(client, b"body\n" + b"x" * (10 * 1024 * 1024), "huge.csv")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is too large: the limit is 2 MB. Nothing was imported." in page
    assert "Question bank" in page  # the bank page, with its forms, not a bare error
    assert bank(app) == []


def test_upload_form_takes_a_two_megabyte_file(app, client):
    rows = b"".join(b"Question number %06d is long enough to fill the file nicely?\n" % n for n in range(4000))
    content = b"body\n" + rows
    assert 0.1 * MAX_IMPORT_BYTES < len(content) <= MAX_IMPORT_BYTES
    content += b"\n" * (MAX_IMPORT_BYTES - len(content))  # blank lines: exactly at the limit
    response = upload(client, content, "big.csv")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert len(bank(app)) == 4000


def test_upload_form_checks_its_csrf_token(make_app):
    app = make_app()  # CSRF on
    response = upload(app.test_client(), b"body\nSneaky?\n", "x.csv")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert bank(app) == []

