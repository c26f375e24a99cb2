"""Suppression comments, BL902 (blanket) and BL903 (unused)."""
from __future__ import annotations

from backendlint import check
from backendlint.config import Config
from helpers import write

BUILT = 'cur.execute("SELECT a FROM t WHERE id = " + uid)'


def findings(tmp_path, files):
    write(tmp_path, files)
    report = check([tmp_path], Config(root=tmp_path))
    return [(f.location.path, f.location.line, f.rule_id) for f in report.findings], report


def test_same_line_and_line_before(tmp_path):
    source = "\n".join([
        "def f(cur, uid):",
        f"    {BUILT}  # backendlint: ignore[BL101] -- reviewed, uid is an int",
        "    # backendlint: ignore[BL101]",
        f"    {BUILT}",
        f"    {BUILT}",
        "",
    ])
    found, report = findings(tmp_path, {"a.py": source})
    assert found == [("a.py", 5, "BL101")]
    assert report.suppressed == 2


def test_several_ids_and_multiline_statements(tmp_path):
    source = "\n".join([
        "def f(cur, uid):",
        "    cur.execute(",
        '        "SELECT * FROM t WHERE id = " + uid',
        "    )  # backendlint: ignore[BL101, BL102]",
        "",
    ])
    found, _ = findings(tmp_path, {"a.py": source})
    assert found == []


def test_file_level(tmp_path):
    source = f"# backendlint: ignore-file[BL101]\ndef f(cur, uid):\n    {BUILT}\n    {BUILT}\n"
    found, report = findings(tmp_path, {"a.py": source})
    assert found == [] and report.suppressed == 2


def test_blanket_ignore_suppresses_nothing(tmp_path):
    found, _ = findings(tmp_path, {"a.py": f"def f(cur, uid):\n    {BUILT}  # backendlint: ignore\n"})
    assert found == [("a.py", 2, "BL101"), ("a.py", 2, "BL902")]


def test_unused_and_unknown_ids(tmp_path):
    source = ("x = 1  # backendlint: ignore[BL101]\n"
              "y = 2  # backendlint: ignore[BL777]\n")
    found, report = findings(tmp_path, {"a.py": source})
    messages = [f.message for f in report.findings]
    assert found == [("a.py", 1, "BL903"), ("a.py", 2, "BL903")]
    assert "unknown rule 'BL777'" in messages[1]


def test_unselected_rule_is_not_called_unused(tmp_path):
    write(tmp_path, {"a.py": "x = 1  # backendlint: ignore[BL101]\n"})
    report = check([tmp_path], Config(root=tmp_path, ignore=["BL101"]))
    assert report.findings == []


def test_marker_inside_a_string_is_not_a_suppression(tmp_path):
    source = f'def f(cur, uid):\n    {BUILT}; note = "# backendlint: ignore[BL101]"\n'
    found, _ = findings(tmp_path, {"a.py": source})
    assert found == [("a.py", 2, "BL101")]


def test_sql_suppressions(tmp_path):
    sql = ("SELECT * FROM a;  -- backendlint: ignore[BL102]\n"
           "-- backendlint: ignore[BL102] -- legacy report\n"
           "SELECT *\nFROM b;\n"
           "SELECT * FROM c;\n")
    found, _ = findings(tmp_path, {"q.sql": sql})
    assert found == [("q.sql", 5, "BL102")]
