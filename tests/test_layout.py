"""The package's layers import only downward: ``web`` -> ``game`` -> ``core``.

``core`` (use-case machinery, tables, errors, events) knows nothing of the game or the web;
``game`` (use cases and read views) knows nothing of HTTP, pages or Socket.IO. Plumbing at the
top level (config, runtime, limiter, ...) may be used by any layer but ``core`` may use only
``config``. Checked on the source, so a wrong import fails here before anyone trips on it."""
from __future__ import annotations

import ast
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
