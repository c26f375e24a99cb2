"""`backendlint init`: a commented section, never clobbering, optional baseline."""
from __future__ import annotations

from backendlint.config import tomllib
from backendlint.cli import main  # noqa: E402
from helpers import VULNERABLE, run, write


def test_creates_pyproject_with_a_valid_section(tmp_path, capsys):
    assert main(["init", str(tmp_path)]) == 0
    data = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert data["tool"]["backendlint"] == {"fail-on": "low", "sql-dialect": "postgres"}


def test_appends_without_touching_existing_content(tmp_path, capsys):
    original = '[project]\nname = "shop"\n\n[tool.black]\nline-length = 100\n'
    write(tmp_path, {"pyproject.toml": original})
    assert main(["init", str(tmp_path), "--sql-dialect", "mysql"]) == 0
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original)
    assert tomllib.loads(text)["tool"]["backendlint"]["sql-dialect"] == "mysql"
    assert main(["init", str(tmp_path)]) == 0
    assert (tmp_path / "pyproject.toml").read_text() == text  # second run changes nothing
    assert "already has" in capsys.readouterr().out


def test_init_with_baseline_gives_a_clean_run(tmp_path, capsys):
    write(tmp_path, {"legacy.py": VULNERABLE, "q.sql": "SELECT * FROM t;\n"})
    assert run(capsys, str(tmp_path))[0] == 1
    assert main(["init", str(tmp_path), "--baseline"]) == 0
    assert (tmp_path / "backendlint-baseline.json").exists()
    assert run(capsys, str(tmp_path))[0] == 0
    write(tmp_path, {"new.py": VULNERABLE})
    assert run(capsys, str(tmp_path))[0] == 1
