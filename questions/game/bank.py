"""The question bank: list and create questions; new ones are pushed live to watchers."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import func, select

from ..core.binds import database_key
from ..core.errors import Invalid
from ..core.events import BANK_ROOM
from ..core.i18n import _
from ..core.models import Question
from ..core.plain import PlainStatement
from ..core.schema import NoInput, Request, UtcDateTime, one_line
from ..core.usecase import command, query

MAX_BODY = 500


class QuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    body: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


QuestionBody = Annotated[str, *one_line("Body", MAX_BODY)]


class NewQuestion(Request):
    body: QuestionBody


def insert_question(ctx, body: str) -> Question:
    """Store a question and queue its ``newquestion`` push to bank watchers."""
    now = ctx.clock()
    question = Question(body=body, created_at=now, updated_at=now)
    ctx.db.add(question)
    ctx.db.flush()
    ctx.emit(BANK_ROOM, "newquestion", QuestionOut.model_validate(question).model_dump(mode="json"))
    return question


def chosen_question(ctx, question_id: int | None, body: str | None,
                    new: Callable[[Any, str], Question] = insert_question) -> Question:
    """The question a request names: a bank question by id, or ``new(ctx, body)``; 400 unless
    exactly one of them is given, or for an id the bank does not hold."""
    if (question_id is None) == (body is None):
        raise Invalid(_("Give either question_id or body"))
    if body is not None:
        return new(ctx, body)
    question = ctx.db.get(Question, question_id)
    if question is None:
        raise Invalid(_("Unknown question id: %(id)s", id=question_id))
    return question


@query(shared=True)
def list_questions(ctx, request: NoInput) -> list[QuestionOut]:
    """List the question bank, ordered by body.

    Kept per process while the bank's stamp (how many questions, the newest id, the latest
    change) is the one it was read with: each listing reads that one row instead of the whole
    bank, and validates nothing. Questions are only added (and, through the models, changed
    with a new ``updated_at``), so any change to the bank, by any process, changes the stamp.
    The list is shared by every caller: nobody changes it (and the JSON adapter keeps its
    serialised bytes while it is the same list)."""
    key = database_key(ctx.db)
    stamp = tuple(_BANK_STAMP.execute(ctx.db).one())  # before the list: never older than it
    kept = _BANKS.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    rows = ctx.db.connection().execute(_BANK).all()  # Core, not the ORM: plain rows
    listed = _QUESTIONS.validate_python(rows, from_attributes=True)  # in one call
    _BANKS[key] = (stamp, listed)
    return listed


# built once: the bank is listed by every page and API client that shows it
_BANK = (select(Question.id, Question.body, Question.created_at, Question.updated_at)
         .order_by(Question.body, Question.id))
_BANK_STAMP = PlainStatement(select(func.count(), func.max(Question.id), func.max(Question.updated_at)))
_QUESTIONS = TypeAdapter(list[QuestionOut])
# database URL -> (stamp, the bank as listed), per process
_BANKS: dict[str, tuple[tuple, list[QuestionOut]]] = {}


@command(rate_limit="bank")
def create_question(ctx, request: NewQuestion) -> QuestionOut:
    """Add a question to the bank; every client watching the bank receives ``newquestion``."""
    return QuestionOut.model_validate(insert_question(ctx, request.body))

