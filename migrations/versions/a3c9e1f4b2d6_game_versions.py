"""game versions: how often a game's players and picks changed, counted by triggers

The shared state's stamp (questions/game/views.py) counted the game's players and the current
round's pickers on every connect and view: index scans that grow with the lobby (and read the
heap as well, right after a burst of picks, until a vacuum sets the visibility map). Instead,
triggers bump a counter in the same transaction as every statement that adds or deletes players
or picks, whoever runs it, and the stamp sums the game's counters.

A pick that only changes an answer (ON CONFLICT DO UPDATE) bumps nothing: who has picked is
unchanged. On PostgreSQL the triggers are per statement (one bump for a submission of five
picks) and each connection bumps its own stripe, so picks arriving together never queue on
one row's lock; SQLite has one writer, row triggers and one stripe.

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

STRIPES = 64

# DISTINCT: one bump per game and statement; ORDER BY: several games' rows are always locked
# in the same order. No foreign key to games (see models.GameVersion): nothing here locks a
# game's row.
PG_FUNCTIONS = f"""
CREATE FUNCTION game_versions_bump_players() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO game_versions (game_id, stripe, version)
    SELECT DISTINCT changed.game_id, pg_backend_pid() % {STRIPES}, 1 FROM changed ORDER BY 1
    ON CONFLICT (game_id, stripe) DO UPDATE SET version = game_versions.version + 1;
    RETURN NULL;
END $$;
CREATE FUNCTION game_versions_bump_picks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO game_versions (game_id, stripe, version)
    SELECT DISTINCT rounds.game_id, pg_backend_pid() % {STRIPES}, 1
    FROM changed JOIN rounds ON rounds.id = changed.round_id ORDER BY 1
    ON CONFLICT (game_id, stripe) DO UPDATE SET version = game_versions.version + 1;
    RETURN NULL;
END $$;
"""

# (table, event, transition table)
PG_TRIGGERS = [("players", "INSERT", "NEW"), ("players", "DELETE", "OLD"),
               ("picks", "INSERT", "NEW"), ("picks", "DELETE", "OLD")]

# SQLite: per row; "WHERE" before "ON CONFLICT" is what tells SQLite's parser the upsert apart
SQLITE_BUMP = {
    "players": "SELECT {row}.game_id, 0, 1 WHERE true",
    "picks": "SELECT game_id, 0, 1 FROM rounds WHERE id = {row}.round_id",
}


def trigger_name(table: str, event: str) -> str:
    return f"game_versions_{table}_{event.lower()}"


def upgrade():
    op.create_table('game_versions',
    sa.Column('game_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stripe', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('game_id', 'stripe', name=op.f('pk_game_versions'))
    )
    # every game that has players already starts with a version of its own
    op.execute("INSERT INTO game_versions (game_id, stripe, version) SELECT id, 0, 1 FROM games "
               "WHERE EXISTS (SELECT 1 FROM players WHERE players.game_id = games.id)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table, event, transition in PG_TRIGGERS:
            op.execute(f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event} ON {table} "
                       f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION game_versions_bump_{table}()")
        return
    for table, select in SQLITE_BUMP.items():
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
            op.execute(f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event} ON {table} BEGIN "
                       f"INSERT INTO game_versions (game_id, stripe, version) {select.format(row=row)} "
                       "ON CONFLICT (game_id, stripe) DO UPDATE SET version = version + 1; END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, event, _transition in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger_name(table, event)}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION game_versions_bump_players(); DROP FUNCTION game_versions_bump_picks()")
    op.drop_table('game_versions')
