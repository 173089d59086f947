"""Importing and exporting questions and packs: CSV (``body,pack``) and JSON (the export format).

An import is one transaction: a file with any bad row changes nothing, and every bad row is named.
A row whose text the bank already has (equal after trimming, whatever the case) adds no question;
it is counted as a duplicate, and still puts that question in the row's pack."""
from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.errors import Invalid, TooLarge, validation_messages
from ..core.events import BANK_ROOM
from ..core.i18n import Message, _
from ..core.models import Pack, PackQuestion, Question
from ..core.schema import Download, Request, one_line
from ..core.usecase import command, query
from .bank import QuestionBody
from .packs import PackDescription, PackName, PackRef, Slug, body_index, body_key, find_pack, slugify
from .spreadsheet import csv_safe, csv_unescape

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_REPORTED_ERRORS = 20  # a file with 5,000 bad rows needs its first few named, not all
FORMAT_NAME: Final = "callit-question-packs"
FORMAT_VERSION: Final = 1
CSV_COLUMNS = ("body", "pack")

Format = Literal["csv", "json"]


class ImportFile(Request):
    content: bytes
    filename: str = Field("", description="Its extension (.csv, .json) tells the format if none is given")
    format: Format | None = None


class ImportReport(BaseModel):
    rows: int = Field(description="Questions read from the file")
    added: int = Field(description="New questions in the bank")
    duplicates: int = Field(description="Rows whose text the bank (or an earlier row) already had")
    linked: int = Field(description="Questions put into a pack")
    packs_created: list[str] = Field(description="Slugs of the packs the file created")


class PackFileQuestion(BaseModel):
    body: str


class PackFilePack(BaseModel):
    slug: str
    name: str
    description: str
    questions: list[PackFileQuestion]


class PackFile(BaseModel):
    """The JSON export format, which imports as it is."""
    format: Literal["callit-question-packs"] = FORMAT_NAME
    version: Literal[1] = FORMAT_VERSION
    packs: list[PackFilePack]


class ExportPack(PackRef):
    format: Format = "json"


# ---- reading a file

@dataclass
class PackSpec:
    """A pack a file names: by slug (JSON), or only by name (a CSV cell)."""
    name: str
    slug: str | None = None
    description: str = ""


@dataclass
class Row:
    body: str
    pack: PackSpec | None


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[Message] = field(default_factory=list)
    seen: int = 0  # questions read, good or bad

    def check(self, adapter: TypeAdapter, value: Any, where: str) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            self.errors.extend(_("%(where)s: %(problem)s", where=where, problem=message)
                               for message in validation_messages(exc))
            return None

    def count_row(self) -> None:
        self.seen += 1
        if self.seen > MAX_IMPORT_ROWS:
            raise TooLarge(_("The file has more than %(count)s questions; split it into smaller files",
                             count=f"{MAX_IMPORT_ROWS:,}"))


BODY = TypeAdapter(QuestionBody)
PACK_CELL: TypeAdapter[str] = TypeAdapter(Annotated[str, *one_line("Pack", 80)])
PACK_NAME = TypeAdapter(PackName)
SLUG = TypeAdapter(Slug)
DESCRIPTION = TypeAdapter(PackDescription)


def decode(content: bytes) -> str:
    """UTF-8 text, with or without a byte order mark; anything else is refused, naming the line."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Invalid(_("The file is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)"))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise Invalid(_("Line %(line)s: the file is not UTF-8 text (byte %(byte)s); save it as UTF-8 "
                        "(in Excel: CSV UTF-8)", line=line, byte=f"0x{content[exc.start]:02x}")) from None


def parse_csv(text: str) -> Parsed:
    """A header row naming the columns ``body`` and (optionally) ``pack``, then a question a row.
    Rows are numbered as a spreadsheet shows them: the header is row 1."""
    parsed = Parsed()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid(_("The file is empty; its first row must be the header: body,pack"))
        columns = [cell.strip().lower() for cell in header]
        unknown = [cell for cell in columns if cell and cell not in CSV_COLUMNS]
        named = [cell for cell in columns if cell]
        if "body" not in columns or unknown or len(set(named)) < len(named):
            raise Invalid(_("Row 1 must be the header: body,pack (the pack column may be left out)"))
        body_at, pack_at = columns.index("body"), columns.index("pack") if "pack" in columns else None
        packs: dict[str, PackSpec] = {}
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, such as the one spreadsheets leave at the end
            parsed.count_row()
            where = _("Row %(number)s", number=number)
            if any(cell.strip() for cell in cells[len(columns):]):
                parsed.errors.append(_("%(where)s: more cells than the header names", where=where))
            body = parsed.check(BODY, csv_unescape(cell_at(cells, body_at)), where)
            pack = None
            name = csv_unescape(cell_at(cells, pack_at))
            if name.strip():
                name = parsed.check(PACK_CELL, name, where)
                if name is not None:
                    pack = packs.setdefault(name.casefold(), PackSpec(name=name))
            if body is not None:
                parsed.rows.append(Row(body, pack))
    except csv.Error as exc:
        raise Invalid(_("Row %(number)s: not valid CSV (%(reason)s)", number=reader.line_num,
                        reason=str(exc))) from None
    return parsed


def cell_at(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def parse_json(text: str) -> Parsed:
    """The export format: ``{"format", "version", "packs": [{"slug", "name", "description",
    "questions": [{"body"}]}]}``; a question may also be given as just its text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(_("Line %(line)s: not valid JSON (%(reason)s)", line=exc.lineno,
                        reason=exc.msg)) from None
    except (ValueError, RecursionError):
        raise Invalid(_("The file is not valid JSON")) from None
    if not isinstance(data, dict) or not isinstance(data.get("packs"), list):
        raise Invalid(_('The file must be a JSON object with a "packs" list, as an export writes it'))
    if data.get("format", FORMAT_NAME) != FORMAT_NAME or data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise Invalid(_('Only format "%(format)s" version %(version)s can be imported',
                        format=FORMAT_NAME, version=FORMAT_VERSION))
    parsed = Parsed()
    slugs: set[str] = set()
    for number, item in enumerate(data["packs"], start=1):
        where = _("Pack %(number)s", number=number)
        if not isinstance(item, dict):
            parsed.errors.append(_("%(where)s: must be an object with name, slug and questions",
                                   where=where))
            continue
        unknown = sorted(set(item) - {"name", "slug", "description", "questions"})
        if unknown:
            parsed.errors.append(_("%(where)s: unknown field %(fields)s", where=where,
                                   fields=", ".join(map(str, unknown))))
        name = parsed.check(PACK_NAME, item.get("name"), where)
        slug = parsed.check(SLUG, item["slug"], where) if item.get("slug") is not None else None
        description = parsed.check(DESCRIPTION, item.get("description") or "", where)
        if name is None:
            continue
        spec = PackSpec(name=name, slug=slug or slugify(name), description=description or "")
        if spec.slug in slugs:
            parsed.errors.append(_("%(where)s: slug %(slug)s is used by an earlier pack", where=where,
                                   slug=spec.slug))
        slugs.add(spec.slug or "")
        questions = item.get("questions", [])
        if not isinstance(questions, list):
            parsed.errors.append(_("%(where)s: questions must be a list", where=where))
            continue
        for q_number, question in enumerate(questions, start=1):
            parsed.count_row()
            q_where = _("%(where)s, question %(number)s", where=where, number=q_number)
            if isinstance(question, dict):
                extra = sorted(set(question) - {"body"})
                if extra:
                    parsed.errors.append(_("%(where)s: unknown field %(fields)s", where=q_where,
                                           fields=", ".join(map(str, extra))))
                question = question.get("body")
            body = parsed.check(BODY, question, q_where)
            if body is not None:
                parsed.rows.append(Row(body, spec))
    return parsed


def parse(request: ImportFile) -> Parsed:
    if len(request.content) > MAX_IMPORT_BYTES:
        raise TooLarge(_("The file is %(size)s MB; the limit is %(limit)s MB",
                         size=f"{len(request.content) / 1024 / 1024:.1f}",
                         limit=MAX_IMPORT_BYTES // 1024 // 1024))
    text = decode(request.content)
    kind: str | None = request.format
    if kind is None:
        suffix = request.filename.lower().rsplit(".", 1)[-1] if "." in request.filename else ""
        kind = suffix if suffix in ("csv", "json") else "json" if text.lstrip().startswith("{") else "csv"
    parsed = parse_json(text) if kind == "json" else parse_csv(text)
    if parsed.errors:
        shown = parsed.errors[:MAX_REPORTED_ERRORS]
        if len(parsed.errors) > len(shown):
            shown.append(_("… and %(count)s more errors", count=len(parsed.errors) - len(shown)))
        raise Invalid(*shown)
    if not parsed.rows:
        raise Invalid(_("The file holds no questions"))
    return parsed


# ---- writing what was read

class PackResolver:
    """The bank's pack for each pack a file names: by slug, else by name; created when missing."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.packs = list(ctx.db.scalars(select(Pack).options(
            selectinload(Pack.questions).selectinload(PackQuestion.question))))
        self.resolved: dict[int, Pack] = {}
        self.created: list[str] = []
        self.members: dict[int, set[str]] = {}  # pack id -> body keys of its questions
        self.next_position: dict[int, int] = {}

    def pack_for(self, spec: PackSpec) -> Pack:
        if id(spec) in self.resolved:
            return self.resolved[id(spec)]
        slug = spec.slug or slugify(spec.name)
        pack = (next((p for p in self.packs if p.slug == slug), None)
                or (None if spec.slug else next((p for p in self.packs
                                                 if p.name.casefold() == spec.name.casefold()), None)))
        if pack is None:
            pack = Pack(slug=slug, name=spec.name, description=spec.description,
                        created_at=self.ctx.clock())
            self.ctx.db.add(pack)
            self.packs.append(pack)
            self.created.append(slug)
        self.resolved[id(spec)] = pack
        if id(pack) not in self.members:  # two names of one file can reach the same pack
            self.members[id(pack)] = {body_key(pq.question.body) for pq in pack.questions}
            self.next_position[id(pack)] = max((pq.position for pq in pack.questions), default=-1) + 1
        return pack

    def add(self, pack: Pack, key: str, question: Question) -> bool:
        if key in self.members[id(pack)]:
            return False
        self.members[id(pack)].add(key)
        pack.questions.append(PackQuestion(question=question, position=self.next_position[id(pack)]))
        self.next_position[id(pack)] += 1
        return True


@command()
def import_questions(ctx, request: ImportFile) -> ImportReport:
    """Import a CSV or JSON file of questions and packs, all or nothing."""
    parsed = parse(request)
    known = body_index(ctx.db)
    questions: dict[str, Question] = {}
    packs = PackResolver(ctx)
    added = duplicates = linked = 0
    now = ctx.clock()
    for row in parsed.rows:
        key = body_key(row.body)
        question = questions.get(key)
        if question is None and key in known:
            question = questions[key] = ctx.db.get_one(Question, known[key])
        if question is None:
            question = questions[key] = Question(body=row.body, created_at=now, updated_at=now)
            ctx.db.add(question)
            added += 1
        else:
            duplicates += 1
        if row.pack is not None and packs.add(packs.pack_for(row.pack), key, question):
            linked += 1
    ctx.db.flush()
    if added:
        # one event for the whole file, not one per question: watchers reload the list
        ctx.emit(BANK_ROOM, "questions_imported", {"added": added})
    return ImportReport(rows=len(parsed.rows), added=added, duplicates=duplicates, linked=linked,
                        packs_created=packs.created)


@query()
def export_pack(ctx, request: ExportPack) -> Download:
    """A pack as a file: JSON (the import format, complete) or CSV (``body,pack``; no description)."""
    pack = find_pack(ctx.db, request.slug)
    bodies = [pq.question.body for pq in pack.questions]
    if request.format == "json":
        document = PackFile(packs=[PackFilePack(
            slug=pack.slug, name=pack.name, description=pack.description,
            questions=[PackFileQuestion(body=body) for body in bodies])])
        content = document.model_dump_json(indent=2) + "\n"
        return Download(filename=f"{pack.slug}.json", media_type="application/json", content=content)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for body in bodies:
        writer.writerow([csv_safe(body), csv_safe(pack.name)])
    # the byte order mark makes Excel read the file as UTF-8 (it assumes a legacy code page)
    return Download(filename=f"{pack.slug}.csv", media_type="text/csv",
                    content="\ufeff" + out.getvalue())
