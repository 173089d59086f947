"""host controls: cancelled rounds, round timer, roster version, removed players

A round may be cancelled (the state's CHECK constraint allows it), and a cancelled round no
longer blocks the next one: the "one unscored round per game" index becomes "one running
(open or locked) round per game".

Revision ID: 5f3c2a1b9d7e
Revises: b7b4174d02fe
Create Date: 2026-11-26 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5f3c2a1b9d7e'
down_revision = 'b7b4174d02fe'
branch_labels = None
depends_on = None

RUNNING = sa.text("state IN ('open', 'locked')")
UNSCORED = sa.text("state != 'scored'")
OPEN = sa.text("state = 'open'")


def upgrade():
    op.create_table('removed_players',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=24), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['game_id'], ['games.id'], name=op.f('fk_removed_players_game_id_games'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_removed_players')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_removed_players_token_hash'))
    )
    with op.batch_alter_table('removed_players', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_removed_players_game_id'), ['game_id'], unique=False)
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_version', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rounds_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_rounds_state'),
                                         "state IN ('open', 'locked', 'scored', 'cancelled')")
        batch_op.add_column(sa.Column('locks_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('uq_rounds_unscored_game', sqlite_where=UNSCORED, postgresql_where=UNSCORED)
        batch_op.create_index('uq_rounds_running_game', ['game_id'], unique=True,
                              sqlite_where=RUNNING, postgresql_where=RUNNING)
        batch_op.create_index('ix_rounds_open_locks_at', ['locks_at'], unique=False,
                              sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    # cancelled rounds would break the old index ("one unscored round per game"): they count
    # as scored rounds without answers, which score nothing either
    op.execute("UPDATE rounds SET state = 'scored' WHERE state = 'cancelled'")
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_rounds_open_locks_at', sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index('uq_rounds_running_game', sqlite_where=RUNNING, postgresql_where=RUNNING)
        batch_op.create_index('uq_rounds_unscored_game', ['game_id'], unique=True,
                              sqlite_where=UNSCORED, postgresql_where=UNSCORED)
        batch_op.drop_column('locks_at')
        batch_op.drop_constraint(op.f('ck_rounds_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_rounds_state'), "state IN ('open', 'locked', 'scored')")
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_column('roster_version')
    with op.batch_alter_table('removed_players', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_removed_players_game_id'))
    op.drop_table('removed_players')
