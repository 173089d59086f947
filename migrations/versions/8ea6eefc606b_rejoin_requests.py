"""rejoin requests: a browser asking the host to be an existing player again

Revision ID: 8ea6eefc606b
Revises: 3e90d41c73e6
Create Date: 2026-11-26 08:35:04.730899

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8ea6eefc606b'
down_revision = '3e90d41c73e6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rejoin_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'denied', name='status', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['game_id'], ['games.id'], name=op.f('fk_rejoin_requests_game_id_games'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['players.id'], name=op.f('fk_rejoin_requests_player_id_players'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejoin_requests')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_rejoin_requests_secret_hash'))
    )
    with op.batch_alter_table('rejoin_requests', schema=None) as batch_op:
        batch_op.create_index('ix_rejoin_requests_game_status', ['game_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_rejoin_requests_player_id'), ['player_id'], unique=False)



def downgrade():
    with op.batch_alter_table('rejoin_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejoin_requests_player_id'))
        batch_op.drop_index('ix_rejoin_requests_game_status')

    op.drop_table('rejoin_requests')
