"""Adopting backendlint on legacy code: baselines and changed-lines mode."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from helpers import run, write

OLD = ("def legacy(cur, uid):\n"
       "    cur.execute(\"SELECT a FROM t WHERE id = \" + uid)\n"
       "    cur.execute(f\"SELECT b FROM t WHERE id = {uid}\")\n")
NEW_LINE = "    cur.execute(\"SELECT c FROM t WHERE name = '%s'\" % uid)\n"


def test_baseline_round_trip(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": '[tool.backendlint]\nbaseline = "backendlint-baseline.json"\n',
                     "app.py": OLD, "q.sql": "SELECT * FROM t;\n"})
    baseline = tmp_path / "backendlint-baseline.json"
    code, _, err = run(capsys, str(tmp_path), "--write-baseline", str(baseline))
    assert code == 0 and "wrote 3 findings" in err
    data = json.loads(baseline.read_text())
    assert [e["rule_id"] for e in data["findings"]] == ["BL101", "BL101", "BL102"]
    assert all("line" not in e for e in data["findings"])
    assert baseline.read_text() == baseline.read_text()  # stable text
    # Clean run with the baseline from config.
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0 and "3 findings in the baseline" in out
    # Moving code around (lines above, reindent a blank) resurrects nothing.
    write(tmp_path, {"app.py": "import os\n\n\n" + OLD})
    assert run(capsys, str(tmp_path))[0] == 0
    # A new vulnerable line fails the run, and only it is shown.
    write(tmp_path, {"app.py": "import os\n\n\n" + OLD + NEW_LINE})
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1 and "1 finding" in out and "%-formatting" in out
    # A second identical copy of a baselined finding is new too.
    write(tmp_path, {"app.py": OLD + OLD.replace("def legacy", "def legacy2")})
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1 and "2 findings" in out


def test_show_stale(tmp_path, capsys):
    write(tmp_path, {"app.py": OLD})
    baseline = tmp_path / "b.json"
    run(capsys, str(tmp_path), "--write-baseline", str(baseline))
    write(tmp_path, {"app.py": OLD.replace('" + uid)', '%s", (uid,))')})
    code, out, _ = run(capsys, str(tmp_path), "--baseline", str(baseline), "--show-stale")
    assert code == 0 and "stale baseline entry (fixed or gone): app.py BL101" in out


def test_broken_baseline_is_a_clear_error(tmp_path, capsys):
    write(tmp_path, {"app.py": OLD, "b.json": "{not json"})
    code, _, err = run(capsys, str(tmp_path), "--baseline", str(tmp_path / "b.json"))
    assert code == 2 and "not a backendlint baseline" in err
    code, _, err = run(capsys, str(tmp_path), "--baseline", str(tmp_path / "missing.json"))
    assert code == 2 and "no such baseline file" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_reports_only_changed_lines(tmp_path, capsys):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    write(tmp_path, {"app.py": OLD})
    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "root")
    git("add", "app.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "legacy")
    write(tmp_path, {"app.py": OLD + NEW_LINE, "new.py": OLD})
    code, out, _ = run(capsys, str(tmp_path), "--diff", "HEAD", "--output-format", "json")
    found = sorted((f["path"], f["line"]) for f in json.loads(out)["findings"])
    assert found == [("app.py", 4), ("new.py", 2), ("new.py", 3)]
    assert code == 1
    code, _, err = run(capsys, str(tmp_path), "--diff", "no-such-rev")
    assert code == 2 and "no-such-rev" in err


def test_diff_outside_git_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    write(tmp_path, {"app.py": OLD})
    code, _, err = run(capsys, str(tmp_path), "--diff")
    assert code == 2 and "needs a git repository" in err
