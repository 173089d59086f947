"""``flask seed-questions`` (the starter packs in data/packs/) and ``flask import-questions FILE``."""
from __future__ import annotations

from pathlib import Path

import click

from .config import PROJECT_ROOT
from .core.errors import ServiceError
from .game.transfer import MAX_IMPORT_BYTES, ImportReport, import_questions

STARTER_PACKS = PROJECT_ROOT / "data" / "packs"


def describe(report: ImportReport) -> str:
    created = f"; new packs: {', '.join(report.packs_created)}" if report.packs_created else ""
    return (f"Added {report.added} question(s), skipped {report.duplicates} already in the bank, "
            f"put {report.linked} into packs{created}.")


def import_file(path: Path, format: str | None = None) -> ImportReport:
    from .runtime import runtime
    with open(path, "rb") as file:
        content = file.read(MAX_IMPORT_BYTES + 1)  # enough to know it is too large
    return import_questions(runtime().context(), {"content": content, "filename": path.name,
                                                  "format": format})


def register(app):
    @app.cli.command("seed-questions")
    def seed_questions():
        """Load the starter packs (data/packs/*.json); what the bank already has is skipped."""
        for path in sorted(STARTER_PACKS.glob("*.json")):
            try:
                click.echo(f"{path.name}: {describe(import_file(path))}")
            except ServiceError as exc:
                raise click.ClickException(f"{path.name}: " + "\n".join(exc.messages)) from None

    @app.cli.command("import-questions")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--format", "format", type=click.Choice(["csv", "json"]), default=None,
                  help="Default: from the file's extension, else its content")
    def import_questions_command(file: Path, format: str | None):
        """Import questions and packs from a CSV (body,pack) or JSON (export format) file.

        All or nothing: any bad row imports nothing and is listed by its row number."""
        try:
            report = import_file(file, format)
        except ServiceError as exc:
            raise click.ClickException("Nothing was imported:\n" + "\n".join(exc.messages)) from None
        click.echo(describe(report))
