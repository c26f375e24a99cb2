"""Every fixture under fixtures/BLxxx/ is checked strictly both ways: the findings must be
exactly the `expect:` annotations (no missing one, no extra one); `ok:` and `known-fn:`
lines must stay silent."""
from __future__ import annotations

from pathlib import Path

import pytest

from annotations import parse, string_anchors
from backendlint.config import Config
from backendlint.discovery import SourcePath, classify
from backendlint.engine import Setup, analyse_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RULE_DIRS = sorted(p for p in FIXTURES.glob("BL[0-9][0-9][0-9]") if p.is_dir())
# Folders with a pyproject.toml are fixture projects, run whole by test_project_fixtures.py.
PROJECT_DIRS = {p.parent for d in RULE_DIRS for p in d.glob("*/pyproject.toml")}
# Config files (.env, YAML, TOML, INI, CFG) carry `#` annotations too; JSON has no comments
# and is tested elsewhere.
KINDS = ("python", "sql", "config")
CASES = sorted(p for d in RULE_DIRS for p in d.rglob("*") if p.is_file() and classify(p)
               in KINDS and p.suffix != ".json" and not p.name.endswith(".fixed.py")
               and not PROJECT_DIRS.intersection(p.parents))


def run_fixture(path: Path, rule_ids: set[str]):
    config = Config(root=path.parent, select=sorted(rule_ids))
    setup = Setup.build(config)
    kind = classify(path)
    # The relpath is the path inside the rule's fixture folder (`settings/dev.py`), so
    # rules that judge file names and folders see them as in a project.
    rule_dir = next((parent for parent in path.parents if parent in RULE_DIRS), path.parent)
    relpath = path.relative_to(rule_dir).as_posix()
    return analyse_file(SourcePath(relpath, path, kind), setup).findings


@pytest.mark.parametrize("path", CASES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(path: Path):
    rule_dir = next(parent.name for parent in path.parents if parent in RULE_DIRS)
    expected = parse(path.read_text(encoding="utf-8"), "--" if path.suffix == ".sql" else "#")
    rules = expected.rule_ids() | {rule_dir}
    findings = run_fixture(path, rules)
    text = path.read_text(encoding="utf-8")
    anchors = string_anchors(text) if path.suffix == ".py" else {}
    for finding in findings:
        finding.location = type(finding.location)(
            finding.location.path, anchors.get(finding.location.line, finding.location.line))
    actual = {(f.location.line, f.rule_id) for f in findings}
    missing = expected.expect - actual
    extra = actual - expected.expect
    fixed_gaps = actual & expected.known_fn
    messages = {(f.location.line, f.rule_id): f.message for f in findings}
    problems = [f"missing {rule} on line {line}" for line, rule in sorted(missing)]
    problems += [f"unexpected {rule} on line {line}: {messages[(line, rule)]}" for line, rule in sorted(extra - fixed_gaps)]
    problems += [f"known-fn {rule} on line {line} now fires: turn it into expect" for line, rule in sorted(fixed_gaps)]
    assert not problems, f"{path.relative_to(FIXTURES)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("rule_dir", RULE_DIRS, ids=lambda p: p.name)
def test_every_rule_fixture_has_near_misses(rule_dir: Path):
    expect = ok = 0
    for path in rule_dir.rglob("*"):
        if path.is_file() and classify(path) in KINDS and path.suffix != ".json":
            parsed = parse(path.read_text(encoding="utf-8"), "--" if path.suffix == ".sql" else "#")
            expect += sum(1 for _, rule in parsed.expect if rule == rule_dir.name)
            ok += sum(1 for _, rule in parsed.ok if rule == rule_dir.name)
    assert expect > 0, f"{rule_dir.name} has no expect: cases"
    assert ok >= expect, f"{rule_dir.name}: {expect} expect vs {ok} ok annotations"


def test_every_rule_has_fixtures():
    from backendlint.registry import all_rules
    from backendlint.rule import EngineRule

    have = {d.name for d in RULE_DIRS}
    rules = {rid for rid, cls in all_rules().items() if not issubclass(cls, EngineRule)}
    assert rules <= have, f"rules without fixtures: {sorted(rules - have)}"


def test_annotation_grammar():
    text = "# expect: BL101, BL102\n\nx = 1\ny = 2  # ok: BL101\nz = 3  # known-fn: BL103\n"
    parsed = parse(text, "#")
    assert parsed.expect == {(3, "BL101"), (3, "BL102")}
    assert parsed.ok == {(4, "BL101")}
    assert parsed.known_fn == {(5, "BL103")}
