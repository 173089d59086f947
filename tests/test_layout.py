"""The package's layers import only downward: ``web`` -> ``game`` -> ``core``.

``core`` (use-case machinery, tables, errors, events) knows nothing of the game or the web;
``game`` (use cases and read views) knows nothing of HTTP, pages or Socket.IO. Plumbing at the
top level (config, runtime, limiter, ...) may be used by any layer but ``core`` may use only
``config``. Checked on the source, so a wrong import fails here before anyone trips on it.
Likewise only questions/socketio_internals/ touches the Socket.IO libraries' private parts."""
from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "questions"
# layer -> what it must never import (as ``questions.<name>``)
FORBIDDEN = {
    "core": ("questions.game", "questions.web", "questions.runtime", "questions.factory",
             "questions.limiter", "questions.cli"),
    "game": ("questions.web", "questions.factory", "questions.cli"),
}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def layer_modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downward(layer):
    modules = layer_modules(layer)
    assert modules, f"questions/{layer}/ has no modules"
    wrong = [f"{path.relative_to(PACKAGE.parent)} imports {name}"
             for path in modules for name in sorted(imported_modules(path))
             if name.startswith(FORBIDDEN[layer])]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_relative_imports(tmp_path):
    """The checker itself: ``from ..web import pages`` inside game/ resolves to questions.web."""
    path = PACKAGE / "game" / "views.py"
    names = imported_modules(path)
    assert "questions.core.models" in names and "questions.game.schema" in names


# ---- one door to the Socket.IO libraries' private parts

DOOR = PACKAGE / "socketio_internals"
LIBRARIES = ("socketio", "engineio", "flask_socketio", "eventlet")
# no leading underscore, but python-socketio's internals all the same (undocumented): relied on,
# and pinned by tests/test_socketio_internals.py, in the door only
UNDOCUMENTED = {"manager_initialized", "sid_from_eio_sid", "reserved_events", "packet_class",
                "get_participants", "rooms", "handlers", "environ", "eio", "manager", "pubsub",
                "host_id"}
PUBLIC_USES = {("os", "environ"), ("request", "environ")}  # the process's, and Flask's


def library_private_names() -> set[str]:
    """Every underscore name (but dunders) of the classes python-socketio, python-engineio,
    Flask-SocketIO and eventlet's WSGI server offer, inherited ones included."""
    import engineio
    import flask_socketio
    import socketio
    from engineio import socket as engineio_socket
    from socketio import packet

    with warnings.catch_warnings():  # eventlet's notice that it is in bugfix mode (see app.py)
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet.wsgi
    names = set()
    for module in (socketio, packet, engineio, engineio_socket, flask_socketio, eventlet.wsgi):
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__.split(".")[0] in LIBRARIES:
                names.update(name for name in dir(value)
                             if name.startswith("_") and not name.endswith("__"))
    return names


def reaches_in(path: Path, private: set[str]) -> list[str]:
    """Where ``path`` uses one of those names: as an attribute, a method it defines (an override)
    or a string (``getattr``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        name = None
        if isinstance(node, ast.Attribute) and (node.attr in private or node.attr in UNDOCUMENTED):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            name = None if (owner, node.attr) in PUBLIC_USES else f".{node.attr}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in private:
            name = f"def {node.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in private:
            name = repr(node.value)
        if name:
            found.append((node.lineno, f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}"))
    return [hit for _line, hit in sorted(found)]


def test_only_the_door_touches_the_socketio_libraries_private_parts():
    private = library_private_names()
    outside = [path for path in sorted(PACKAGE.rglob("*.py")) if DOOR not in path.parents]
    wrong = [hit for path in outside + [PACKAGE.parent / "app.py"] for hit in reaches_in(path, private)]
    assert not wrong, "move these behind questions/socketio_internals (and pin them there):\n" + "\n".join(wrong)


def test_the_door_check_knows_what_the_door_uses():
    """The checker itself: the names come from the libraries, and it finds the door's own uses."""
    private = library_private_names()
    assert {"_handle_event", "_handle_event_internal", "_handle_eio_connect", "_send_packet",
            "_publish", "_redis_connect", "_redis_listen_with_retries", "_handle_close_room"} <= private
    hits = "\n".join(hit for path in sorted(DOOR.glob("*.py")) for hit in reaches_in(path, private))
    for expected in ("server.py", "._send_packet", ".manager_initialized", "def _publish", ".rooms"):
        assert expected in hits, expected
