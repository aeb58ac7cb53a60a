"""docs/architecture.md import rule: ``eval`` never imports ``train``."""

from __future__ import annotations

import ast
from pathlib import Path

import panoworld.eval

EVAL = Path(panoworld.eval.__file__).parent


def test_eval_never_imports_train():
    offenders = []
    for path in sorted(EVAL.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.relative_to(EVAL)}: {n}" for n in names if n.startswith("panoworld.train")]
    assert not offenders, offenders
