"""Property tests: random programs, SQL and configuration never make an exception escape,
and the reports stay valid. Bounded for CI; set BACKENDLINT_FUZZ_EXAMPLES for longer runs."""
from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backendlint.config import Config, ConfigError, apply_table
from backendlint.discovery import SourcePath
from backendlint.engine import Setup, analyse_file, finalize

EXAMPLES = int(os.environ.get("BACKENDLINT_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("BACKENDLINT_FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_SETUPS: dict[str, Setup] = {}


def analyse(tmp_path: Path, name: str, content: str | bytes, kind: str):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    key = str(tmp_path)
    if key not in _SETUPS:
        _SETUPS[key] = Setup.build(Config(root=tmp_path))
    setup = _SETUPS[key]
    result = analyse_file(SourcePath(name, path, kind), setup)
    kept, _ = finalize(result, [], setup)
    assert all(f.rule_id != "BL900" for f in kept), [f.message for f in kept if f.rule_id == "BL900"]
    for finding in kept:
        loc = finding.location
        assert loc.line >= 1 and loc.column >= 1 and loc.end_line >= loc.line
    return kept


SQL_WORDS = ["SELECT", "*", "FROM", "WHERE", "t", "u.id", "=", "1", "'x'", "(", ")", ",", ";",
             "JOIN", "ON", "UPDATE", "SET", "DELETE", "INSERT", "INTO", "VALUES", "CREATE",
             "TABLE", "INDEX", "int", "text", "PRIMARY", "KEY", "LIMIT", "--", "/*", "*/",
             "$$", "$1", "%s", "?", ":name", "{{ x }}", "\n", "count(*)", "EXISTS", "ORDER BY"]


@FUZZ
@given(st.lists(st.sampled_from(SQL_WORDS), max_size=60).map(" ".join))
def test_random_sql_files(tmp_path, sql):
    analyse(tmp_path, "q.sql", sql, "sql")


@FUZZ
@given(st.lists(st.sampled_from(SQL_WORDS), max_size=30).map(" ".join),
       st.sampled_from(['f"{}"', '"{}" + uid', '"{}" % (uid,)', '"{}".format(uid)', '"""{}"""']))
def test_random_sql_in_python(tmp_path, sql, shape):
    literal = shape.format(sql.replace("\\", "").replace('"', "'").replace("{", "").replace("}", ""))
    source = f"def f(cur, uid):\n    cur.execute({literal})\n"
    analyse(tmp_path, "m.py", source, "python")


@FUZZ
@given(st.text(alphabet=string.printable + "éß€\u2028\x00\x0c", max_size=400))
def test_random_text_as_python_and_sql(tmp_path, text):
    analyse(tmp_path, "t.py", text, "python")
    analyse(tmp_path, "t.sql", text, "sql")


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    analyse(tmp_path, "b.py", data, "python")


def test_grammatical_python_programs(tmp_path):
    hypothesmith = pytest.importorskip("hypothesmith")

    @settings(max_examples=max(5, EXAMPLES // 2), deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(hypothesmith.from_grammar())
    def check(source):
        analyse(tmp_path, "g.py", source, "python")

    check()


CONFIG_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8).filter(lambda v: v is not None)
CONFIG_KEYS = st.sampled_from(["select", "ignore", "extend-select", "exclude", "fail-on", "sql-dialect",
                               "per-file-ignores", "rules", "baseline", "respect-gitignore", "unknown-key"])


@FUZZ
@given(st.dictionaries(CONFIG_KEYS, CONFIG_VALUES, max_size=4))
def test_random_config_tables_fail_cleanly(tmp_path, table):
    try:
        apply_table(Config(root=tmp_path), table, "pyproject.toml")
    except ConfigError as exc:
        assert "pyproject.toml" in str(exc)


def test_sarif_from_fuzzed_findings_is_valid(tmp_path, capsys):
    """A project of odd files, reported as SARIF, passes the strict validator."""
    from backendlint.cli import main

    validator = Path(__file__).resolve().parents[1].parent / "shared" / "sarif" / "validate_sarif.py"
    if not validator.exists():
        pytest.skip("../shared/sarif is not here")
    files = {
        "a.py": 'def f(c, u):\n    c.execute(f"SELECT * FROM t WHERE a = \'{u}\'")  # é\n',
        "b.sql": "SELECT * FROM x; SELEC nope; UPDATE t SET a = 1;",
        "c.py": "def broken(:\n",
        "d.py": b"\xff\xfe\x00binary",
        "e e.py": "x = 1  # backendlint: ignore\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "r.sarif"
    main(["check", str(tmp_path), "--output-format", "sarif", "-o", str(out), "--exit-zero"])
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(validator), "--strict", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(out.read_text())["runs"][0]["results"]
