"""The formats layer's import rules (docs/architecture.md): only io, sphere and errors below it; no torch at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import panoworld.formats

FORMATS = Path(panoworld.formats.__file__).parent
ALLOWED = ("panoworld.io", "panoworld.sphere", "panoworld.errors", "panoworld.formats")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("panoworld.formats" if node.level else node.module)
    return names


def test_formats_imports_only_the_layers_below_it():
    for path in sorted(FORMATS.glob("*.py")):
        ours = {n for n in _imports(path) if n.split(".")[0] == "panoworld"}
        assert all(n.startswith(ALLOWED) for n in ours), (path.name, sorted(ours))


def test_formats_modules_import_without_torch():
    modules = [f"panoworld.formats.{p.stem}" for p in sorted(FORMATS.glob("*.py")) if p.stem != "__init__"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(m for m in ('torch', 'av', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
