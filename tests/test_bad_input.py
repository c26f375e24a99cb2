"""Bad input is normal input: each case gives a clear message (a finding or an error)
and the other files are still reported."""
from __future__ import annotations

import os

import pytest

from helpers import VULNERABLE, run, write


@pytest.fixture
def project(tmp_path):
    # Every case sits beside a file with a real finding, which must still be reported.
    write(tmp_path, {"pyproject.toml": "[tool.backendlint]\n", "good.py": VULNERABLE})
    return tmp_path


def findings_by_file(capsys, root):
    """Run the CLI (exit code, stderr) and the library API (the findings) on `root`."""
    from backendlint import check

    code, _, err = run(capsys, str(root))
    by_file: dict[str, list[tuple[str, int, str]]] = {}
    for f in check([root]).findings:
        by_file.setdefault(f.location.path, []).append((f.rule_id, f.location.line, f.message))
    return code, by_file, err


def test_syntax_error_is_bl901_with_location(project, capsys):
    write(project, {"broken.py": "def f(:\n    pass\n", "later.py": "x = (\n"})
    code, by_file, _ = findings_by_file(capsys, project)
    assert code == 1
    assert [r[:2] for r in by_file["broken.py"]] == [("BL901", 1)]
    assert "syntax error" in by_file["broken.py"][0][2]
    assert by_file["later.py"][0][0] == "BL901"
    assert by_file["good.py"][0][0] == "BL101"


def test_latin1_file_with_coding_cookie_is_analysed(project, capsys):
    source = ('# -*- coding: latin-1 -*-\n'
              'def f(cur, uid):\n'
              '    café = "é"; cur.execute("SELECT a FROM t WHERE id = " + uid)\n')
    write(project, {"latin.py": source.encode("latin-1")})
    from backendlint import check

    found = [f for f in check([project]).findings if f.location.path == "latin.py"]
    assert [(f.rule_id, f.location.line) for f in found] == [("BL101", 3)]
    # The column counts characters, not UTF-8 bytes ('é' is two bytes).
    line = source.splitlines()[2]
    assert found[0].location.column == line.index('"SELECT') + 1


def test_undecodable_bytes_are_reported(project, capsys):
    write(project, {"bad.py": b"x = '\xff\xfe not utf-8'\ncur.execute(q)\n"})
    _, by_file, _ = findings_by_file(capsys, project)
    assert by_file["bad.py"][0][0] == "BL901"
    assert "decode" in by_file["bad.py"][0][2]
    assert "good.py" in by_file


def test_binary_file_named_py(project, capsys):
    write(project, {"blob.py": bytes(range(256)) * 4})
    _, by_file, _ = findings_by_file(capsys, project)
    assert by_file["blob.py"][0][0] == "BL901"
    assert "binary" in by_file["blob.py"][0][2]
    assert "good.py" in by_file


def test_empty_and_comment_only_files(project, capsys):
    write(project, {"empty.py": "", "comments.py": "# execute SELECT * nothing here\n# more\n",
                    "empty.sql": "", "comments.sql": "-- SELECT * FROM t;\n"})
    code, by_file, _ = findings_by_file(capsys, project)
    assert set(by_file) == {"good.py"}
    assert code == 1


def test_generated_20000_line_file(project, capsys):
    lines = [f"VALUE_{i} = {i}" for i in range(20_000)]
    lines.append(VULNERABLE)
    write(project, {"generated.py": "\n".join(lines)})
    _, by_file, _ = findings_by_file(capsys, project)
    assert by_file["generated.py"] == [("BL101", 20_002, by_file["generated.py"][0][2])]


def test_sql_statement_sqlglot_cannot_parse(project, capsys):
    sql = ("SELECT id FROM a;\n"
           "CREATE TABLE t (id int) WITH SYSTEM VERSIONING SPLORK;\n"
           "SELEC broken;\n"
           "SELECT * FROM users;\n")
    write(project, {"q.sql": sql})
    _, by_file, _ = findings_by_file(capsys, project)
    rules = sorted((rule, line) for rule, line, _ in by_file["q.sql"])
    assert ("BL102", 4) in rules  # the statement after the bad ones is still checked
    assert ("BL901", 3) in rules
    assert all(rule in ("BL901", "BL102") for rule, _ in rules)


def test_sqlglot_warnings_never_reach_the_terminal(project, capsys):
    write(project, {"v.sql": "VACUUM FULL users;\nSELECT * FROM users;\n"})
    _, out, err = run(capsys, str(project))
    assert "unsupported syntax" not in out + err
    assert "Falling back" not in out + err


def test_broken_pyproject(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "[tool.backendlint\nselect = [", "a.py": VULNERABLE})
    code, out, err = run(capsys, str(tmp_path))
    assert code == 2
    assert "pyproject.toml" in err and "invalid TOML" in err
    assert "Traceback" not in err


def test_unknown_rule_in_select(project, capsys):
    code, _, err = run(capsys, str(project), "--select", "BL1O1")
    assert code == 2
    assert "BL1O1" in err and "did you mean 'BL101'" in err


def test_unknown_rule_name_in_ignore(project, capsys):
    code, _, err = run(capsys, str(project), "--ignore", "select-stars")
    assert code == 2 and "did you mean 'select-star'" in err


def test_missing_path_still_reports_the_others(project, capsys):
    code, out, err = run(capsys, str(project / "good.py"), str(project / "nope.py"))
    assert code == 2
    assert "nope.py: no such file or folder" in err
    assert "BL101" in out


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlink_loop(project, capsys):
    os.symlink(project / "loop_b.py", project / "loop_a.py")
    os.symlink(project / "loop_a.py", project / "loop_b.py")
    os.symlink(project, project / "self_dir")  # a folder linking to its parent
    code, out, err = run(capsys, str(project))
    assert code == 1
    assert "BL101" in out
    assert "loop_a.py: broken or looping symlink; skipped" in out


def test_rule_that_raises_becomes_bl900(project, capsys, monkeypatch):
    from backendlint.checks.sql import bl102_select_star

    def boom(self, statement):
        raise KeyError("boom")

    monkeypatch.setattr(bl102_select_star.SelectStar, "check", boom)
    write(project, {"q.sql": "SELECT * FROM t;\n"})
    _, by_file, _ = findings_by_file(capsys, project)
    assert by_file["q.sql"][0][0] == "BL900"
    assert "BL102 (select-star) failed: KeyError" in by_file["q.sql"][0][2]
    assert by_file["good.py"][0][0] == "BL101"


def test_newer_python_syntax_is_not_a_syntax_error(project, capsys):
    import sys

    if sys.version_info >= (3, 12):
        pytest.skip("this interpreter knows PEP 695")
    write(project, {"generic.py": "type Pair[T] = tuple[T, T]\n",
                    "tstring.py": "x = 1\ngreeting = t'hello {x}'\n",
                    "broken.py": "x = 't' +\n"})
    _, by_file, _ = findings_by_file(capsys, project)
    assert by_file["generic.py"][0][0] == "BL901"
    assert "needs Python >= 3.12" in by_file["generic.py"][0][2]
    # A quote after a `t` is a t-string only if libcst (which knows 3.14) agrees.
    assert "needs Python >= 3.14" in by_file["tstring.py"][0][2]
    assert "syntax error" in by_file["broken.py"][0][2]


def test_known_newer_syntax_needs_no_second_parser(monkeypatch):
    import sys

    from backendlint.python import parse

    if sys.version_info >= (3, 12):
        pytest.skip("this interpreter knows PEP 695")
    monkeypatch.setattr(parse, "_libcst_accepts", lambda text: pytest.fail("libcst asked"))
    failure = parse.parse_python("x = 1\nclass Box[T]:\n    pass\n", "box.py")
    assert "needs Python >= 3.12" in failure.message and failure.line == 2


def test_deeply_nested_expression_does_not_crash(project, capsys):
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    chain = "q = 'SELECT a FROM t WHERE b = ' " + " + uid" * 10_000 + "\ncur.execute(q)\n"
    write(project, {"deep.py": deep, "chain.py": "def f(cur, uid):\n    " + chain.replace("\n", "\n    ")})
    code, by_file, err = findings_by_file(capsys, project)
    assert "Traceback" not in err
    assert by_file["deep.py"][0][0] == "BL901"
    assert [r[0] for r in by_file["chain.py"]] == ["BL101"]


def test_pep701_fstrings_are_analysed_on_older_pythons(project, capsys):
    """Python 3.12 lets an f-string reuse its quote inside the braces; on 3.11 the inner
    quotes are swapped (same lengths) so the file is still analysed, at exact columns."""
    line = '    cur.execute(f"SELECT a FROM t WHERE id = {uid} AND k = {"x"}")'
    write(project, {"new_fstrings.py": "def f(cur, uid):\n" + line + "\n",
                    "cannot.py": 'x = f"a {"it\'s"} b"\n'})
    from backendlint import check

    found = {(f.location.path, f.rule_id, f.location.line, f.location.column)
             for f in check([project]).findings}
    assert ("new_fstrings.py", "BL101", 2, line.index('f"') + 1) in found
    import sys

    if sys.version_info < (3, 12):
        assert any(p == "cannot.py" and r == "BL901" for p, r, _, _ in found)


def test_sqlglot_internal_errors_and_dropped_indexes(project, capsys):
    """Found by the crash-free run on PostgreSQL's regression SQL: a statement on which
    sqlglot itself fails, and an index on an unknown table created then dropped."""
    write(project, {"regress.sql": (
        "CREATE TABLE itest (a int generated always as identity) PARTITION OF parent;\n"
        "CREATE INDEX ix_orphan ON not_defined_here (a);\n"
        "DROP INDEX ix_orphan;\n"
        "SELECT * FROM itest;\n")})
    from backendlint import check

    found = [(f.rule_id, f.location.path) for f in check([project]).findings]
    assert not [f for f in found if f[0] == "BL900"], found
    assert ("BL102", "regress.sql") in found
