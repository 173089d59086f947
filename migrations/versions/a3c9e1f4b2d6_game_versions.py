"""game versions: how often each game's shared state changed, counted by triggers

The shared state's stamp (questions/game/views.py) counted the game's players and the current
round's pickers on every connect and view: index scans that grow with the lobby (and read the
heap as well, right after a burst of picks, until a vacuum sets the visibility map), in one
statement of ten subqueries that took PostgreSQL about a millisecond. Instead, triggers bump a
counter of the game in the same transaction as every statement that changes what the shared
state shows, whoever runs it: players joining, renamed or removed, picks added or deleted, the
game's questions, its rounds and their questions and answers, and an edited question's games.
The stamp reads the game's counters: a few index entries, at any lobby size.

A pick that only changes an answer (ON CONFLICT DO UPDATE) bumps nothing: the shared state
shows who has picked, not what, until the round is locked, and a locked round takes no picks.

On PostgreSQL the triggers run once per statement (one bump for a submission of five picks),
and each connection bumps its own stripe of the game's counter (``pg_backend_pid() % 1024``),
so picks arriving together never queue on one row's lock; SQLite has one writer, row
triggers and one stripe.

Revision ID: a3c9e1f4b2d6
Revises: 5f3c2a1b9d7e
Create Date: 2026-11-26 14:14:18

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3c9e1f4b2d6'
down_revision = '5f3c2a1b9d7e'
branch_labels = None
depends_on = None

STRIPES = 1024

# table -> (the events that bump, the table naming the changed row's game and how it is
# joined, None when the row names it itself)
WATCHED = {
    "players": (("INSERT", "UPDATE", "DELETE"), None),
    "picks": (("INSERT", "DELETE"), ("rounds", "rounds.id = {row}.round_id")),
    "game_questions": (("INSERT", "UPDATE", "DELETE"), None),
    "rounds": (("INSERT", "UPDATE", "DELETE"), None),
    "round_questions": (("INSERT", "UPDATE", "DELETE"), ("rounds", "rounds.id = {row}.round_id")),
    "questions": (("UPDATE",), ("game_questions", "game_questions.question_id = {row}.id")),
}

# PostgreSQL: DISTINCT, one bump per game and statement; ORDER BY, several games' rows are
# always locked in the same order. No foreign key to games (see models.GameVersion): nothing
# here locks a game's row.
PG_FUNCTION = """
CREATE FUNCTION game_versions_bump_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO game_versions (game_id, stripe, version)
    SELECT DISTINCT {game}, pg_backend_pid() % {stripes}, 1 FROM {source} ORDER BY 1
    ON CONFLICT (game_id, stripe) DO UPDATE SET version = game_versions.version + 1;
    RETURN NULL;
END $$
"""

# SQLite: per row; the WHERE before ON CONFLICT is what tells SQLite's parser the upsert apart
SQLITE_TRIGGER = """
CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN
    INSERT INTO game_versions (game_id, stripe, version)
    SELECT {game}, 0, 1 {source}
    ON CONFLICT (game_id, stripe) DO UPDATE SET version = version + 1;
END
"""


def trigger_name(table: str, event: str) -> str:
    return f"game_versions_{table}_{event.lower()}"


def upgrade():
    op.create_table('game_versions',
    sa.Column('game_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stripe', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('game_id', 'stripe', name=op.f('pk_game_versions'))
    )
    # every game starts with a version of its own
    op.execute("INSERT INTO game_versions (game_id, stripe, version) SELECT id, 0, 1 FROM games")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, (events, via) in WATCHED.items():
        if postgresql:
            # the statement's changed rows are the transition table "changed"
            game, source = ("changed.game_id", "changed") if via is None else (
                f"{via[0]}.game_id", f"changed JOIN {via[0]} ON {via[1].format(row='changed')}")
            op.execute(PG_FUNCTION.format(table=table, game=game, source=source, stripes=STRIPES))
        for event in events:
            if postgresql:
                transition = "OLD" if event == "DELETE" else "NEW"
                op.execute(f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event} ON {table} "
                           f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                           f"EXECUTE FUNCTION game_versions_bump_{table}()")
                continue
            row = "OLD" if event == "DELETE" else "NEW"
            game, source = (f"{row}.game_id", "WHERE true") if via is None else (
                f"{via[0]}.game_id", f"FROM {via[0]} WHERE {via[1].format(row=row)}")
            op.execute(SQLITE_TRIGGER.format(name=trigger_name(table, event), event=event,
                                             table=table, game=game, source=source))


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, (events, _via) in WATCHED.items():
        for event in events:
            op.execute(f"DROP TRIGGER {trigger_name(table, event)}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION game_versions_bump_{table}()")
    op.drop_table('game_versions')
