"""picks: keyed by (round, player, question), and a pick's question must be one of its round's

Each stored pick cost PostgreSQL three foreign-key checks (rounds, players, questions) and two
indexes (the ``id`` serial key and the unique (round_id, player_id, question_id)), plus a
sequence increment; in the 10,000-pick burst the checks were 44 % of each batch's time. Now:

* one composite foreign key (round_id, question_id) -> round_questions replaces the two to
  rounds and questions. ON DELETE CASCADE keeps what deleting did: a round's (or game's)
  deletion still takes its picks (rounds -> round_questions -> picks); a question still cannot
  be deleted while a round has it (round_questions refuses, as it refused before). And the
  database now refuses a pick for a question that is not in its round, which only the code
  checked.
* (round_id, player_id, question_id) is the primary key; ``id`` is gone (nothing used it).

Revision ID: c4e8a2f7d913
Revises: b8d2f6a1c4e7
Create Date: 2026-11-27 22:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f7d913'
down_revision = 'b8d2f6a1c4e7'
branch_labels = None
depends_on = None

KEY = ['round_id', 'player_id', 'question_id']

# SQLite's batch mode rebuilds the table, and dropping the old one drops its triggers: the
# game version's (migration a3c9e1f4b2d6) are made again, as that migration made them.
SQLITE_TRIGGERS = """
CREATE TRIGGER game_versions_picks_{event_lower} AFTER {event} ON picks BEGIN
    INSERT INTO game_versions (game_id, stripe, version)
    SELECT rounds.game_id, 0, 1 FROM rounds WHERE rounds.id = {row}.round_id
    ON CONFLICT (game_id, stripe) DO UPDATE SET version = version + 1;
END
"""


def _sqlite_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
            op.execute(SQLITE_TRIGGERS.format(event=event, event_lower=event.lower(), row=row))


def upgrade():
    # A pick for a question not in its round could be stored only around the use cases (they
    # refuse it); it never scored. The new key would refuse the migration, so such rows go.
    op.execute("DELETE FROM picks WHERE NOT EXISTS (SELECT 1 FROM round_questions rq "
               "WHERE rq.round_id = picks.round_id AND rq.question_id = picks.question_id)")
    with op.batch_alter_table('picks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_picks_round_id_rounds'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_picks_question_id_questions'), type_='foreignkey')
        batch_op.drop_constraint(op.f('uq_picks_round_id_player_id_question_id'), type_='unique')
        batch_op.drop_constraint(op.f('pk_picks'), type_='primary')
        batch_op.drop_column('id')  # PostgreSQL drops its sequence with it
        batch_op.create_primary_key(op.f('pk_picks'), KEY)
        batch_op.create_foreign_key(op.f('fk_picks_round_id_round_questions'), 'round_questions',
                                    ['round_id', 'question_id'], ['round_id', 'question_id'],
                                    ondelete='CASCADE')
    _sqlite_triggers()


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # a serial column numbers the rows already there
        op.execute("ALTER TABLE picks DROP CONSTRAINT pk_picks, ADD COLUMN id SERIAL NOT NULL")
    # (SQLite rebuilds the table with ``id`` first again, where it was; PostgreSQL adds it last)
    with op.batch_alter_table('picks', schema=None, partial_reordering=[('id', *KEY, 'answer', 'picked_at')]) as batch_op:
        batch_op.drop_constraint(op.f('fk_picks_round_id_round_questions'), type_='foreignkey')
        if not postgresql:  # SQLite: an INTEGER PRIMARY KEY numbers the copied rows itself
            batch_op.drop_constraint(op.f('pk_picks'), type_='primary')
            batch_op.add_column(sa.Column('id', sa.Integer(), nullable=False))
        batch_op.create_primary_key(op.f('pk_picks'), ['id'])
        batch_op.create_unique_constraint(op.f('uq_picks_round_id_player_id_question_id'), KEY)
        batch_op.create_foreign_key(op.f('fk_picks_question_id_questions'), 'questions',
                                    ['question_id'], ['id'])
        batch_op.create_foreign_key(op.f('fk_picks_round_id_rounds'), 'rounds',
                                    ['round_id'], ['id'], ondelete='CASCADE')
    _sqlite_triggers()
