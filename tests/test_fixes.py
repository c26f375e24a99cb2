"""`--fix` on every fixture with a `.fixed.py` twin gives exactly the twin, a second
`--fix` changes nothing, and the fixed file re-checks clean for what was fixed."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backendlint import check
from backendlint.cli import main
from backendlint.config import Config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAIRS = sorted(FIXTURES.glob("BL[0-9][0-9][0-9]/**/*.fixed.py"))


@pytest.mark.parametrize("fixed", PAIRS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fix_matches_the_fixed_twin_and_is_idempotent(tmp_path, capsys, fixed):
    rule = next(p.name for p in fixed.parents if p.parent == FIXTURES)
    original = fixed.with_name(fixed.name.replace(".fixed.py", ".py"))
    target = tmp_path / original.name
    shutil.copy(original, target)
    before = check([target], Config(root=tmp_path, select=[rule])).findings
    assert main(["check", str(target), "--select", rule, "--fix", "--no-cache"]) in (0, 1)
    assert target.read_text() == fixed.read_text()
    main(["check", str(target), "--select", rule, "--fix", "--no-cache"])
    assert target.read_text() == fixed.read_text(), "a second --fix changed the file"
    after = check([target], Config(root=tmp_path, select=[rule])).findings
    assert len(after) < len(before)
    capsys.readouterr()


def test_diff_fix_writes_nothing(tmp_path, capsys):
    original = FIXTURES / "BL101" / "fix_sqlite_repo.py"
    target = tmp_path / original.name
    shutil.copy(original, target)
    assert main(["check", str(target), "--select", "BL101", "--diff-fix", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/fix_sqlite_repo.py") and '+    cur.execute("SELECT id, email' in out
    assert target.read_text() == original.read_text()


def test_fix_keeps_line_endings_and_encoding(tmp_path, capsys):
    source = ('# -*- coding: latin-1 -*-\r\nimport sqlite3\r\n\r\n'
              'def f(conn, uid):\r\n    s = "café"\r\n'
              '    return conn.execute(f"SELECT a FROM t WHERE id = {uid}")\r\n')
    target = tmp_path / "m.py"
    target.write_bytes(source.encode("latin-1"))
    main(["check", str(target), "--select", "BL101", "--fix", "--no-cache"])
    data = target.read_bytes()
    assert b'conn.execute("SELECT a FROM t WHERE id = ?", (uid,))\r\n' in data
    assert "café".encode("latin-1") in data and b"\n" not in data.replace(b"\r\n", b"")
