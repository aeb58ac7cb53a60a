"""``panoworld.train`` reads datasets only through ``panoworld.formats``: no dataset file name is a string in its
code (docstrings may name them)."""

from __future__ import annotations

import ast
from pathlib import Path

import panoworld.train
from panoworld.formats import annotations, model_folder, package, testset, training

TRAIN = Path(panoworld.train.__file__).parent


def _code_strings(source: str) -> list[str]:
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_dataset_file_name_literal_in_train():
    names = {testset.MASTER_CSV, testset.SPLIT_SETTINGS, annotations.META, package.MANIFEST, model_folder.MODEL_INDEX,
             training.TRAINING_RECORD, training.LEGACY_TRAINING_RECORD, training.CACHE_MANIFEST, training.LATEST,
             training.METRICS_LOG}
    names |= {Path(n).name for n in (*annotations.ANNOTATION_FILES, *annotations.OPTIONAL_FILES) if "{" not in n}
    names |= {package.PackageLayout(Path(".")).split_list(s).name for s in package.PACKAGE_SPLITS}
    assert "meta.json" in names and "master.csv" in names and "train.csv" in names
    for path in sorted(TRAIN.glob("*.py")):
        found = sorted({n for text in _code_strings(path.read_text()) for n in names if n in text})
        assert not found, f"{path.name} names {found}: read them through panoworld.formats"
