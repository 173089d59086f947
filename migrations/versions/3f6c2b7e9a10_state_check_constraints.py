"""game status and round state: CHECK constraints (models map them as non-native enums)

Revision ID: 3f6c2b7e9a10
Revises: cd1dcdca0c3a
Create Date: 2026-11-26 08:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '3f6c2b7e9a10'
down_revision = 'cd1dcdca0c3a'
branch_labels = None
depends_on = None

# The partial unique indexes of these tables (uq_games_open_code, uq_rounds_unscored_game) are
# left alone: on PostgreSQL a constraint is simply added; on SQLite batch mode rebuilds the table
# and recreates its indexes with their WHERE clauses (tests/test_migrations.py checks both).


def upgrade():
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_games_status'), "status IN ('open', 'ended')")
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_rounds_state'), "state IN ('open', 'locked', 'scored')")


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rounds_state'), type_='check')
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_games_status'), type_='check')
