"""Fixture *projects*: a folder `fixtures/BLxxx/<name>/` holding a `pyproject.toml` is run
as one project (so project rules see every file's facts), and the annotations of all its
files are checked strictly both ways, as for single-file fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

from annotations import parse, string_anchors
from backendlint.config import load
from backendlint.discovery import classify
from backendlint.engine import check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECTS = sorted(p.parent for p in FIXTURES.glob("BL[0-9][0-9][0-9]/*/pyproject.toml"))
_COMMENT = {".sql": "--"}
# Config files and dependency lists carry `#` annotations too (repository rules such as
# BL601 report in pyproject.toml or requirements.txt); JSON has no comments.
_TEXT_NAMES = ("requirements*.txt", "Pipfile")


def _annotated(path: Path) -> bool:
    kind = classify(path)
    if kind in ("python", "sql"):
        return True
    if kind == "config":
        return path.suffix != ".json"
    return any(path.match(pattern) for pattern in _TEXT_NAMES)


def expectations(project: Path):
    expect, ok, known_fn, anchors = set(), set(), set(), {}
    for path in sorted(project.rglob("*")):
        if not path.is_file() or not _annotated(path):
            continue
        rel = path.relative_to(project).as_posix()
        text = path.read_text(encoding="utf-8")
        parsed = parse(text, _COMMENT.get(path.suffix, "#"))
        expect |= {(rel, line, rule) for line, rule in parsed.expect}
        ok |= {(rel, line, rule) for line, rule in parsed.ok}
        known_fn |= {(rel, line, rule) for line, rule in parsed.known_fn}
        if path.suffix == ".py":
            anchors[rel] = string_anchors(text)
    return expect, ok, known_fn, anchors


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_project(project: Path):
    expect, ok, known_fn, anchors = expectations(project)
    rules = {rule for _, _, rule in expect | ok | known_fn} | {project.parent.name}
    config = load([project])
    config.select = sorted(rules)
    report = check([project], config)
    actual = {(f.location.path, anchors.get(f.location.path, {}).get(f.location.line, f.location.line),
               f.rule_id) for f in report.findings}
    messages = {(f.location.path, f.location.line, f.rule_id): f.message for f in report.findings}
    problems = [f"missing {rule} at {path}:{line}" for path, line, rule in sorted(expect - actual)]
    problems += [f"unexpected {rule} at {path}:{line}: {messages.get((path, line, rule), '')}"
                 for path, line, rule in sorted(actual - expect - known_fn)]
    problems += [f"known-fn {rule} at {path}:{line} now fires: turn it into expect"
                 for path, line, rule in sorted(actual & known_fn)]
    assert not problems, "\n  ".join([str(project.relative_to(FIXTURES))] + problems)
