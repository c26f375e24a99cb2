"""The command line: exit codes, options and the subcommands."""
from __future__ import annotations

import subprocess
import sys

from backendlint.cli import main
from helpers import VULNERABLE, run, write


def test_exit_codes(tmp_path, capsys):
    write(tmp_path, {"clean.py": "x = 1\n"})
    assert run(capsys, str(tmp_path))[0] == 0
    write(tmp_path, {"bad.py": VULNERABLE})
    assert run(capsys, str(tmp_path))[0] == 1
    assert run(capsys, str(tmp_path), "--exit-zero")[0] == 0
    assert run(capsys, str(tmp_path), "--select", "BL102")[0] == 0


def test_fail_on(tmp_path, capsys):
    write(tmp_path, {"q.sql": "SELECT * FROM t;\n"})  # BL102 is low severity
    assert run(capsys, str(tmp_path), "--fail-on", "medium")[0] == 0
    assert run(capsys, str(tmp_path), "--fail-on", "low")[0] == 1
    code, _, err = run(capsys, str(tmp_path), "--fail-on", "severe")
    assert code == 2 and "invalid choice" in err


def test_console_report_shows_rule_severity_message_and_frame(tmp_path, capsys):
    write(tmp_path, {"bad.py": VULNERABLE})
    code, out, _ = run(capsys, str(tmp_path))
    assert "bad.py" in out
    assert "2:17 BL101 [critical] SQL built with concatenation" in out
    assert '2 |     cur.execute("SELECT name FROM users WHERE id = " + uid)' in out
    assert "1 finding in 1 file: 1 critical" in out
    assert "\x1b[" not in out  # plain when not a terminal


def test_quiet_and_statistics(tmp_path, capsys):
    write(tmp_path, {"bad.py": VULNERABLE, "clean.py": "x = 1\n"})
    _, out, _ = run(capsys, str(tmp_path), "--quiet")
    assert "SQL built" not in out and "1 finding" in out
    _, out, _ = run(capsys, str(tmp_path), "--statistics")
    assert "sql-string-built" in out and "2 files checked, 1 parsed" in out


def test_color_always(tmp_path, capsys):
    write(tmp_path, {"bad.py": VULNERABLE})
    _, out, _ = run(capsys, str(tmp_path)[:0] + str(tmp_path), "--color", "always")
    assert "\x1b[" in out


def test_rules_and_explain(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "BL101" in out and "sql-string-built" in out and "critical" in out
    assert main(["explain", "select-star"]) == 0
    assert "Use instead" in capsys.readouterr().out
    assert main(["explain", "BL10"]) == 2
    assert "unknown rule" in capsys.readouterr().err


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_python_dash_m_and_version():
    result = subprocess.run([sys.executable, "-m", "backendlint", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("backendlint ")


def test_internal_error_exits_2_without_traceback(tmp_path, capsys, monkeypatch):
    import backendlint.engine

    def broken(*args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(backendlint.engine, "check", broken)
    write(tmp_path, {"a.py": "x = 1\n"})
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2 and "internal error: RuntimeError: kaput" in err and "Traceback" not in err
    code, _, err = run(capsys, str(tmp_path), "--verbose")
    assert "Traceback" in err
