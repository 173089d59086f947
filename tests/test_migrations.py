"""The Alembic migrations are the schema: they round-trip, and they match the models."""
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from questions.config import PROJECT_ROOT
from questions.core.extensions import db

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
