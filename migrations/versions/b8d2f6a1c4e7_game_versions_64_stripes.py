"""game versions: 64 stripes per game on PostgreSQL, not 1,024

A game's version has a row per stripe a connection bumped (``pg_backend_pid() % stripes``), and
the stamp sums them all. With the pools opening and closing overflow connections through a
night's bursts (a new process id each time), a 10,000-player bench game had 178 rows after one
run, on the way to 1,024. 64 stripes keep it to a few dozen rows at most, while simultaneous
writers (a process holds at most 15 command connections) still rarely share a stripe's lock.
Rows already written under other stripes stay and keep counting.

Revision ID: b8d2f6a1c4e7
Revises: a3c9e1f4b2d6
Create Date: 2026-11-26 15:45:00

"""
from alembic import op


revision = 'b8d2f6a1c4e7'
down_revision = 'a3c9e1f4b2d6'
branch_labels = None
depends_on = None


def _stripes(before: int, after: int) -> None:
    """Each bump function made again (pg_get_functiondef gives CREATE OR REPLACE) with the new
    modulus; SQLite has one writer and one stripe."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
DO $$
DECLARE bump oid;
BEGIN
    FOR bump IN SELECT oid FROM pg_proc WHERE proname LIKE 'game\\_versions\\_bump\\_%' LOOP
        EXECUTE replace(pg_get_functiondef(bump), 'pg_backend_pid() % {before}',
                        'pg_backend_pid() % {after}');
    END LOOP;
END $$""")


def upgrade():
    _stripes(1024, 64)


def downgrade():
    _stripes(64, 1024)
