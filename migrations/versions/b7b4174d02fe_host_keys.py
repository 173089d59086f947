"""host keys: a game's hosts are rows (the creator's key and one per co-host device), not
one hash on the game

Revision ID: b7b4174d02fe
Revises: 8ea6eefc606b
Create Date: 2026-11-26 09:20:51.674945

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7b4174d02fe'
down_revision = '8ea6eefc606b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('host_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['game_id'], ['games.id'], name=op.f('fk_host_keys_game_id_games'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_keys')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_host_keys_token_hash'))
    )
    with op.batch_alter_table('host_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_keys_game_id'), ['game_id'], unique=False)
    # every game's host keeps their key
    op.execute("INSERT INTO host_keys (game_id, token_hash, created_at) "
               "SELECT id, host_token_hash, created_at FROM games")

    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_games_host_token_hash'), type_='unique')
        batch_op.drop_column('host_token_hash')



def downgrade():
    # back to one key per game: the first one (the creator's); co-host keys are lost
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host_token_hash', sa.VARCHAR(length=64), nullable=True))
    op.execute("UPDATE games SET host_token_hash = (SELECT token_hash FROM host_keys "
               "WHERE host_keys.game_id = games.id ORDER BY host_keys.id LIMIT 1)")
    with op.batch_alter_table('games', schema=None) as batch_op:
        batch_op.alter_column('host_token_hash', existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_games_host_token_hash'), ['host_token_hash'])

    with op.batch_alter_table('host_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_keys_game_id'))

    op.drop_table('host_keys')
