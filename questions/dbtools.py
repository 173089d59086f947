"""Database chores shared by the test suite and the benchmarks (never used by the app)."""
from __future__ import annotations

from sqlalchemy import create_engine, text


def reset_postgres_schema(url: str) -> None:
    """Drop everything in the public schema, so the migrations build it from scratch."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
