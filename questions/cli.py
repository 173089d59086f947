"""``flask seed-questions``: a starter pack for a first meetup."""
import click
from sqlalchemy import select

from .core.extensions import db
from .core.models import Question
from .game.bank import STARTER_PACK, create_question


def register(app):
    @app.cli.command("seed-questions")
    def seed_questions():
        """Add the starter questions that are not in the bank yet."""
        from .runtime import runtime
        existing = set(db.session.scalars(select(Question.body)))
        ctx = runtime().context()
        added = [body for body in STARTER_PACK if body not in existing]
        for body in added:
            create_question(ctx, {"body": body})
        click.echo(f"Added {len(added)} question(s); the bank holds {len(existing) + len(added)}.")
