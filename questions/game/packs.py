"""Question packs: named sets of bank questions (a StarCraft night, a football night).

A question belongs to zero or more packs. Questions are the same text when their bodies are equal
case-insensitively after trimming: adding such a text again reuses the bank's question."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..core.errors import Conflict, NotFound
from ..core.events import BANK_ROOM
from ..core.i18n import _
from ..core.models import Pack, PackQuestion, Question
from ..core.schema import NoInput, Request, UtcDateTime, invalid, one_line
from ..core.usecase import command, query
from .bank import QuestionBody, QuestionOut, chosen_question, insert_question
from .schema import PackSlug, QuestionId

MAX_SLUG = 60
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PackName = Annotated[str, *one_line("Name", 80)]
PackDescription = Annotated[str, *one_line("Description", 500, required=False)]


def _check_slug(value):
    if not isinstance(value, str):
        raise invalid(_("%(label)s must be a string", label=_("Slug")))
    if not SLUG_RE.fullmatch(value) or len(value) > MAX_SLUG:
        raise invalid(_("Slug must be 1 to %(count)s lowercase letters, digits and single hyphens",
                         count=MAX_SLUG))
    return value


Slug = Annotated[str, BeforeValidator(_check_slug),
                 WithJsonSchema({"type": "string", "pattern": SLUG_RE.pattern, "maxLength": MAX_SLUG})]


def slugify(name: str) -> str:
    """``StarCraft II: Legacy`` -> ``starcraft-ii-legacy``; a name with no Latin letters or digits
    gets a slug from its digest, so every name has one."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:MAX_SLUG].strip("-")
    return slug or "pack-" + hashlib.sha256(name.encode(errors="surrogatepass")).hexdigest()[:8]


def body_key(body: str) -> str:
    """When two question texts are the same question: equal after trimming, whatever their case."""
    return body.strip().casefold()


# ---- requests and responses

class NewPack(Request):
    name: PackName
    slug: Slug | None = None
    description: PackDescription = ""


class PackRef(Request):
    slug: PackSlug


class AddPackQuestion(PackRef):
    """Either an existing bank question, or a text (the bank's question with that text if any)."""
    question_id: QuestionId | None = None
    body: QuestionBody | None = None


class PackSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    slug: str
    name: str
    description: str
    question_count: int
    created_at: UtcDateTime


class PackOut(PackSummary):
    questions: list[QuestionOut]


# ---- shared with import, export and game creation

def find_pack(db, slug: str) -> Pack:
    slug = (slug or "").strip().lower()
    pack = None
    if len(slug) <= MAX_SLUG and slug.isprintable():  # a NUL must not reach the database driver
        pack = db.scalars(select(Pack).where(Pack.slug == slug).options(
            selectinload(Pack.questions).selectinload(PackQuestion.question))).first()
    if pack is None:
        raise NotFound(_("No pack with slug %(slug)s", slug=slug) if slug.isprintable()
                       else _("No such pack"))
    return pack


def pack_out(pack: Pack) -> PackOut:
    return PackOut(slug=pack.slug, name=pack.name, description=pack.description,
                   question_count=len(pack.questions), created_at=pack.created_at,
                   questions=[QuestionOut.model_validate(pq.question) for pq in pack.questions])


def new_pack(ctx, name: str, slug: str, description: str = "") -> Pack:
    pack = Pack(slug=slug, name=name, description=description, created_at=ctx.clock())
    ctx.insert(pack, refused=Conflict(_("A pack with slug %(slug)s already exists", slug=slug)))
    return pack


def body_index(db) -> dict[str, int]:
    """The bank's questions by ``body_key``: the first (oldest) one for each text."""
    index: dict[str, int] = {}
    for qid, body in db.execute(select(Question.id, Question.body).order_by(Question.id)):
        index.setdefault(body_key(body), qid)
    return index


def append_to_pack(db, pack: Pack, question_id: int) -> bool:
    """Put the question last in the pack; False when it is already in it."""
    if any(pq.question_id == question_id for pq in pack.questions):
        return False
    last = max((pq.position for pq in pack.questions), default=-1)
    pack.questions.append(PackQuestion(question_id=question_id, position=last + 1))
    return True


# ---- use cases

@query()
def list_packs(ctx, request: NoInput) -> list[PackSummary]:
    """List the packs, ordered by name, with how many questions each holds."""
    counts = (select(PackQuestion.pack_id, func.count().label("n"))
              .group_by(PackQuestion.pack_id).subquery())
    rows = ctx.db.execute(select(Pack, func.coalesce(counts.c.n, 0))
                          .outerjoin(counts, counts.c.pack_id == Pack.id)
                          .order_by(Pack.name, Pack.id))
    return [PackSummary(slug=p.slug, name=p.name, description=p.description, question_count=n,
                        created_at=p.created_at) for p, n in rows]


@command()
def create_pack(ctx, request: NewPack) -> PackOut:
    """Create an empty pack; its slug (for URLs and files) comes from the name unless given."""
    pack = new_pack(ctx, request.name, request.slug or slugify(request.name), request.description)
    return pack_out(pack)


@query()
def get_pack(ctx, request: PackRef) -> PackOut:
    """A pack with its questions, in the pack's order."""
    return pack_out(find_pack(ctx.db, request.slug))


def bank_question_with_body(ctx, body: str) -> Question:
    """The bank's question with this text (whatever its case and spacing), else a new one."""
    existing = body_index(ctx.db).get(body_key(body))
    question = ctx.db.get(Question, existing) if existing else None
    return question if question is not None else insert_question(ctx, body)


@command()
def add_pack_question(ctx, request: AddPackQuestion) -> QuestionOut:
    """Add a bank question (or a text: the bank's question with it, else a new one) to the pack."""
    pack = find_pack(ctx.db, request.slug)
    question = chosen_question(ctx, request.question_id, request.body, new=bank_question_with_body)
    if not append_to_pack(ctx.db, pack, question.id):
        raise Conflict(_("That question is already in this pack"))
    ctx.db.flush()
    out = QuestionOut.model_validate(question)
    ctx.emit(BANK_ROOM, "pack_question_added", {"pack": pack.slug, "question": out.model_dump(mode="json")})
    return out


NO_PACK = "-"  # the filter value for questions in no pack (a slug never is "-")


class BankFilter(Request):
    pack: str | None = Field(None, description=f"A pack's slug, or {NO_PACK!r} for questions in no pack")


class QuestionGroup(BaseModel):
    pack: PackSummary | None = Field(description="None: the questions in no pack")
    questions: list[QuestionOut]


class BankView(BaseModel):
    packs: list[PackSummary]
    groups: list[QuestionGroup]
    pack: str | None = Field(description="The filter applied")


@query()
def bank_by_pack(ctx, request: BankFilter) -> BankView:
    """The question bank grouped by pack (then the questions in none), or one group of it."""
    packs = list_packs(ctx, {})
    chosen = (request.pack or "").strip().lower() or None
    groups = []
    if chosen != NO_PACK:
        shown = [find_pack(ctx.db, chosen)] if chosen else list(ctx.db.scalars(
            select(Pack).order_by(Pack.name, Pack.id).options(
                selectinload(Pack.questions).selectinload(PackQuestion.question))))
        outs = [pack_out(p) for p in shown]
        groups = [QuestionGroup(pack=PackSummary(**out.model_dump(exclude={"questions"})),
                                questions=out.questions) for out in outs]
    if chosen in (None, NO_PACK):
        in_no_pack = select(Question).where(~select(PackQuestion.id).where(
            PackQuestion.question_id == Question.id).exists()).order_by(Question.body, Question.id)
        groups.append(QuestionGroup(pack=None, questions=[
            QuestionOut.model_validate(q) for q in ctx.db.scalars(in_no_pack)]))
    return BankView(packs=packs, groups=groups, pack=chosen)
