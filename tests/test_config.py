"""Configuration: found by walking up, validated key by key, CLI beats config."""
from __future__ import annotations

import pytest

from backendlint.config import ConfigError, load
from backendlint.findings import Severity
from helpers import VULNERABLE, run, write


def test_found_by_walking_up_from_the_first_path(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.backendlint]\nfail-on = "high"\n',
                     "src/app/x.py": "x = 1\n"})
    config = load([tmp_path / "src" / "app"])
    assert config.root == tmp_path.resolve()
    assert config.fail_on is Severity.HIGH


def test_pyproject_without_our_table_is_passed_over(tmp_path):
    write(tmp_path, {".backendlint.toml": 'sql-dialect = "mysql"\n',
                     "sub/pyproject.toml": "[tool.black]\nline-length = 100\n",
                     "sub/x.py": "x = 1\n"})
    config = load([tmp_path / "sub"])
    assert config.sql_dialect == "mysql"
    assert config.root == tmp_path.resolve()


@pytest.mark.parametrize("table, message", [
    ('selec = ["BL1"]', "unknown key 'selec' (did you mean 'select'?)"),
    ('select = "BL101"', "'select' must be a list of strings"),
    ('fail-on = "severe"', "'fail-on': 'severe' is not one of"),
    ('sql-dialect = "postgress"', "unknown SQL dialect 'postgress' (did you mean 'postgres'?)"),
    ('select = ["BL999"]', "unknown rule selector 'BL999'"),
    ('[tool.backendlint.rules.BL1010]\nx = 1', "'rules.BL1010': unknown rule (did you mean 'BL101'?)"),
    ('[tool.backendlint.rules.BL101]\nmax = 1', "'rules.BL101.max': unknown option"),
    ('[tool.backendlint.per-file-ignores]\n"tests/*" = ["BL2O1"]', "per-file-ignores.tests/*"),
    ('extend-knowledge = ["nope.toml"]', "no such file"),
])
def test_config_errors_name_the_key(tmp_path, capsys, table, message):
    header = "" if table.startswith("[") else "[tool.backendlint]\n"
    write(tmp_path, {"pyproject.toml": header + table + "\n", "a.py": VULNERABLE})
    code, out, err = run(capsys, str(tmp_path))
    assert code == 2, out
    assert message in err
    assert "pyproject.toml" in err
    assert "Traceback" not in err


def test_cli_beats_config(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": '[tool.backendlint]\nselect = ["BL102"]\nfail-on = "critical"\n',
                     "a.py": 'def f(cur, uid):\n    cur.execute("SELECT * FROM t WHERE id = " + uid)\n'})
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0 and "BL102" in out and "BL101" not in out  # low finding, fail-on critical
    code, out, _ = run(capsys, str(tmp_path), "--select", "BL101", "--fail-on", "low")
    assert code == 1 and "BL101" in out and "BL102" not in out


def test_selectors_prefix_and_name(tmp_path, capsys):
    write(tmp_path, {"a.py": 'def f(cur, uid):\n    cur.execute("SELECT * FROM t WHERE id = " + uid)\n'})
    _, out, _ = run(capsys, str(tmp_path), "--select", "BL1", "--ignore", "select-star")
    assert "BL101" in out and "BL102" not in out


def test_per_file_ignores(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": '[tool.backendlint.per-file-ignores]\n"scripts/*" = ["BL101"]\n',
                     "scripts/oneoff.py": VULNERABLE, "app.py": VULNERABLE})
    code, out, _ = run(capsys, str(tmp_path))
    assert "app.py" in out and "scripts/oneoff.py" not in out
    assert "1 suppressed" in out


def test_explicit_config_file(tmp_path):
    write(tmp_path, {"ci.toml": 'ignore = ["BL102"]\n'})
    config = load([tmp_path], tmp_path / "ci.toml")
    assert "BL102" not in config.rule_ids() and "BL101" in config.rule_ids()
    with pytest.raises(ConfigError, match="no such configuration file"):
        load([tmp_path], tmp_path / "missing.toml")


def test_rule_options_are_typed(tmp_path):
    from backendlint.config import Config, apply_table
    from backendlint.rule import Option

    option = Option("max-expiry-minutes", int, 60, "")
    assert option.validate(30, "here") == 30
    with pytest.raises(ConfigError, match="expected an integer"):
        option.validate("30", "here")
    with pytest.raises(ConfigError, match="expected an integer"):
        option.validate(True, "here")
    config = Config(root=tmp_path)
    apply_table(config, {"exclude": ["vendor"]}, "x.toml")
    assert config.exclude == ["vendor"]
