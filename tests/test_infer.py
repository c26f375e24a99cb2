"""astroid inference on demand: answers, unknowns, budget, and never running the code."""
from __future__ import annotations

import ast

from backendlint.python.context import PythonFile
from backendlint.python.infer import UNKNOWN, Inference


def module(tmp_path, text):
    path = tmp_path / "mod.py"
    path.write_text(text)
    file = PythonFile(path, "mod.py", text)
    file.tree = ast.parse(text)
    return file, Inference(file)


def find(tree, kind, name=None):
    for node in ast.walk(tree):
        if isinstance(node, kind) and (name is None or getattr(node, "id", None) == name):
            yield node


def test_infers_constants_and_classes(tmp_path):
    file, infer = module(tmp_path, (
        "import fractions\n"
        "class Repo:\n    pass\n"
        "ROUNDS = 10 + 2\n"
        "conn = fractions.Fraction(1, 2)\n"
        "repo = Repo()\n"
        "use(ROUNDS, conn, repo)\n"))
    call = next(find(file.tree, ast.Call))
    rounds, conn = list(find(file.tree, ast.Name, "ROUNDS"))[-1], list(find(file.tree, ast.Name, "conn"))[-1]
    assert infer.constant(rounds) == 12
    assert infer.class_name(conn) == "fractions.Fraction"
    assert infer.class_name(list(find(file.tree, ast.Name, "repo"))[-1]) == "mod.Repo"
    assert infer.constant(call) is UNKNOWN


def test_ambiguous_is_unknown(tmp_path):
    file, infer = module(tmp_path, "import random\nx = 1 if random.random() else 2\nprint(x)\n")
    x = list(find(file.tree, ast.Name, "x"))[-1]
    assert infer.constant(x) is UNKNOWN


def test_never_imports_or_runs_analysed_code(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))  # astroid can find the helper module...
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil_helper.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nVALUE = 1\n")
    file, infer = module(tmp_path, (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "import evil_helper\n"
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "x = evil_helper.VALUE\nprint(x)\n"))
    for node in find(file.tree, ast.Name):
        infer.infer(node)
    x = list(find(file.tree, ast.Name, "x"))[-1]
    assert infer.constant(x) == 1  # ...and reads its source...
    assert not marker.exists()  # ...but never runs it


def test_budget_makes_everything_unknown(tmp_path):
    file, infer = module(tmp_path, "X = 1\nprint(X)\n")
    infer.budget = 0.0
    x = list(find(file.tree, ast.Name, "X"))[-1]
    infer.infer(x)
    assert infer.exhausted
    assert infer.constant(x) is UNKNOWN
