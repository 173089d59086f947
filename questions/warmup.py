"""Compiling the host's statements when the server starts, so that the first host command of a
night costs what the later ones do.

SQLAlchemy compiles a statement to SQL the first time an engine runs it and keeps the result in
that engine's cache (keyed by the statement's shape, the dialect, the names of the parameters it
is run with and whether it runs for many rows). The host's commands run on an engine of their
own (``factory.HOST_BIND``), which nothing else warms: a fresh server's first start-round POST
cost 6.7-7.3 ms of CPU against 1.6-2.0 ms for the next ones, about half of it compiling, and
every phone waits for that POST.

Which statements: those built once at module level (the convention for statements on a hot
path) that the host's commands can reach. They are found from the declared use cases, not a
list kept by hand: the names each command's code (and the use-case wrapper's, which authorizes
the host) refers to are followed through this package's functions, classes and modules. A
statement built inside a function is not reached, and is compiled on first use as before.
Nothing is sent to the database: compiling reads no row and changes none."""
from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.exc import CompileError
from sqlalchemy.sql import compiler, visitors
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from .core.access import Auth
from .core.usecase import UseCase

PACKAGE = __name__.rpartition(".")[0]


def host_commands() -> list[UseCase]:
    """Every declared use case that runs on the host's lane (``UseCase.__call__``: a command
    only the host may send)."""
    game = importlib.import_module(f"{PACKAGE}.game")
    found: dict[str, UseCase] = {}
    for module in pkgutil.iter_modules(game.__path__, f"{game.__name__}."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, UseCase) and value.mutable and value.auth is Auth.HOST:
                found[value.name] = value
    return list(found.values())


def statements_reached(functions: Iterable[Any]) -> list[ClauseElement]:
    """The module-level statements the code of ``functions`` can reach by name. Over-reaching
    is harmless (a statement compiled that the host never runs costs only start-up time)."""
    found: dict[int, ClauseElement] = {}
    walked: set[types.CodeType] = set()
    codes = [code for code in map(_code_of, functions) if code is not None]
    while codes:
        code, namespace = codes.pop()
        if code in walked:
            continue
        walked.add(code)
        codes.extend((const, namespace) for const in code.co_consts if isinstance(const, types.CodeType))
        for value in _named(code, namespace):
            if isinstance(value, Executable) and isinstance(value, ClauseElement):
                found.setdefault(id(value), value)
            elif (reached := _code_of(value)) is not None:
                codes.append(reached)
    return list(found.values())


def _code_of(value: Any) -> tuple[types.CodeType, dict] | None:
    """A function of this package (a use case's own function), with its module's namespace."""
    if isinstance(value, UseCase):
        value = value.fn
    if isinstance(value, types.MethodType):
        value = value.__func__
    if isinstance(value, types.FunctionType) and _ours(value):
        return value.__code__, value.__globals__
    return None


def _named(code: types.CodeType, namespace: dict) -> Iterator[Any]:
    """What the names ``code`` uses (globals, and attributes: ``co_names`` holds both) may be:
    each global, and the attributes of this package's modules and classes it names by those
    names (``access.authorize``, ``Round.require_finished``)."""
    names = code.co_names
    for name in names:
        value = namespace.get(name)
        yield value
        if isinstance(value, types.ModuleType | type) and _ours(value):
            for attribute in names:
                yield getattr(value, attribute, None)


def _ours(value: Any) -> bool:
    module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "")
    return module == PACKAGE or (module or "").startswith(PACKAGE + ".")


def compile_into(engine, statements: Iterable[ClauseElement]) -> int:
    """Compile each statement into ``engine``'s cache as running it would (``Connection.execute``
    with its parameters named by its bind parameters; an INSERT also for many rows at once);
    answers how many were compiled. One this dialect cannot compile is never run on it."""
    # SQLAlchemy has no public call that fills the cache without running the statement; this is
    # the one Connection.execute makes (tests/test_warmup.py fails if it stops filling it)
    dialect = engine.dialect
    linting = dialect.compiler_linting | compiler.WARN_LINTING  # what Connection.execute passes
    compiled = 0
    for statement in statements:
        keys = parameter_names(statement)
        for many in (False, True) if isinstance(statement, Insert) else (False,):
            try:
                statement._compile_w_cache(dialect, compiled_cache=engine._compiled_cache, column_keys=keys,
                                           for_executemany=many, schema_translate_map=None, linting=linting)
            except CompileError:
                continue
            compiled += 1
    return compiled


def parameter_names(statement: ClauseElement) -> list[str]:
    """The names a statement is run with: its bind parameters that have no value of their own
    (``bindparam("code")``), sorted as ``Connection.execute`` sorts the keys it is given."""
    return sorted({element.key for element in visitors.iterate(statement)
                   if isinstance(element, BindParameter) and element.required})
