"""The Alembic migrations are the schema: they round-trip, and they match the models."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from questions.config import PROJECT_ROOT
from questions.core.extensions import db
from questions.game.bank import create_question
from questions.game.games import create_game, join_game
from questions.game.picks import submit_picks
from questions.game.rounds import start_round

from .conftest import flask_cli

MODEL_TABLES = {table.name for table in db.metadata.sorted_tables}


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def current_state(app) -> tuple[set[str], str | None]:
    with app.app_context():
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            return tables, MigrationContext.configure(conn).get_current_revision()


def test_database_is_at_head_with_every_model_table(app):
    tables, revision = current_state(app)
    assert tables == MODEL_TABLES
    assert revision == head_revision()


def test_downgrade_to_base_and_upgrade_again(app, migrated_db, instance_dir):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # hold no connection while tables are dropped

    flask_cli(migrated_db, instance_dir, "db", "downgrade", "base")
    assert current_state(app) == (set(), None)

    flask_cli(migrated_db, instance_dir, "db", "upgrade")
    assert current_state(app) == (MODEL_TABLES, head_revision())


def test_models_and_migrations_do_not_differ(app):
    """What `flask db migrate` would autogenerate now: nothing."""
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "render_as_batch": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


# the revision before the first migration that rebuilds the games and rounds tables on SQLite
BEFORE_STATE_CHECKS = "cd1dcdca0c3a"


def play_a_little(app) -> None:
    """A game with a question, a player, a round and a pick: a row in every game table."""
    with app.app_context():
        ctx = app.extensions["callit"].context()
        question = create_question(ctx, {"body": "Who wins?"})
        host = create_game(ctx, {"question_ids": [question.id]})
        player = join_game(ctx, {"code": host.code, "name": "Ana"})
        start_round(ctx.for_caller(host.host_token), {"code": host.code, "contenders": ["Serral", "Maru"]})
        submit_picks(ctx.for_caller(player.token), {"code": host.code, "answers": [
            {"question_id": question.id, "answer": "Maru"}]})


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
                  for table in db.metadata.sorted_tables}
        db.session.remove()
        db.engine.dispose()  # hold no connection while the CLI migrates
    return counts


def test_migrations_that_rebuild_tables_keep_every_row(app, migrated_db, instance_dir):
    """SQLite batch mode rebuilds a table by dropping it: with foreign keys on, the drop would
    cascade-delete every row that refers to it (migrations/env.py turns them off meanwhile)."""
    play_a_little(app)
    before = row_counts(app)
    assert all(before[name] for name in ("games", "players", "rounds", "round_questions", "picks"))

    flask_cli(migrated_db, instance_dir, "db", "downgrade", BEFORE_STATE_CHECKS)
    flask_cli(migrated_db, instance_dir, "db", "upgrade")
    after = row_counts(app)
    # counters, not data: dropped with their migration, and back with one row per game
    assert after.pop("game_versions") == after["games"]
    before.pop("game_versions")
    assert after == before


@pytest.mark.parametrize("table, column", [("games", "status"), ("rounds", "state")])
def test_the_database_refuses_an_unknown_state(app, table, column):
    play_a_little(app)
    with app.app_context():
        with pytest.raises(IntegrityError, match="ck_"):
            db.session.execute(text(f"UPDATE {table} SET {column} = 'paused'"))
        db.session.rollback()


def one_pick(app) -> dict[str, int]:
    """play_a_little's pick, with the ids of what it refers to."""
    play_a_little(app)
    with app.app_context():
        row = db.session.execute(text("SELECT picks.round_id, picks.player_id, picks.question_id, "
                                      "rounds.game_id FROM picks JOIN rounds ON rounds.id = picks.round_id")).one()
        return dict(row._mapping)


def test_the_database_refuses_a_pick_for_a_question_not_in_its_round(app):
    pick = one_pick(app)
    with app.app_context():
        ctx = app.extensions["callit"].context()
        other = create_question(ctx, {"body": "Who loses?"}).id  # in the bank, not in the round
        with pytest.raises(IntegrityError):
            db.session.execute(text("INSERT INTO picks (round_id, player_id, question_id, answer, picked_at) "
                                    "VALUES (:round_id, :player_id, :question, 'Maru', '2036-11-26 20:00')"),
                               pick | {"question": other})
        db.session.rollback()


def test_deleting_a_round_or_a_game_deletes_its_picks_and_a_question_in_a_round_stays(app):
    pick = one_pick(app)
    with app.app_context():
        with pytest.raises(IntegrityError):  # its round (and its pick) refer to it
            db.session.execute(text("DELETE FROM questions WHERE id = :question_id"), pick)
        db.session.rollback()
        db.session.execute(text("DELETE FROM rounds WHERE id = :round_id"), pick)
        assert db.session.scalar(text("SELECT count(*) FROM picks")) == 0
        assert db.session.scalar(text("SELECT count(*) FROM players")) == 1
        db.session.rollback()
        db.session.execute(text("DELETE FROM games WHERE id = :game_id"), pick)
        assert [db.session.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("picks", "round_questions", "rounds", "players")] == [0, 0, 0, 0]
        db.session.rollback()
