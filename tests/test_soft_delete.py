"""BL110 support: the `mentioned` / `function` query facts and the soft-delete section of
`backendlint schema`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from backendlint.config import load
from backendlint.engine import check

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "BL110"


def _write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "t"\n\n[tool.backendlint]\n')
    return tmp_path


def _findings(project: Path, **options):
    config = load([project])
    config.select = ["BL110"]
    if options:
        config.rule_options.setdefault("BL110", {}).update(options)
    return check([project], config).findings


SCHEMA = "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT, deleted_at TIMESTAMPTZ);\n"


def test_is_null_under_or_and_not_counts_as_filtered(tmp_path):
    project = _write(tmp_path, {
        "migrations/1.sql": SCHEMA,
        "app.py": (
            "def a(cur):\n"
            "    cur.execute(\"SELECT id FROM users WHERE NOT (deleted_at IS NOT NULL)\")\n"
            "def b(cur):\n"
            "    cur.execute(\"SELECT id FROM users WHERE email = %s OR deleted_at IS NULL\", (1,))\n"
            "def c(cur):\n"
            "    cur.execute(\"SELECT id FROM users WHERE email = %s\", (1,))\n"
        ),
    })
    assert [f.location.line for f in _findings(project)] == [6]


def test_restore_patterns_match_function_names_and_are_configurable(tmp_path):
    project = _write(tmp_path, {
        "migrations/1.sql": SCHEMA,
        "app.py": "def revive_user(cur):\n    cur.execute(\"SELECT id FROM users\")\n",
    })
    assert len(_findings(project)) == 1
    assert _findings(project, **{"restore-patterns": ["revive"]}) == []


def test_soft_delete_columns_option(tmp_path):
    project = _write(tmp_path, {
        "migrations/1.sql": "CREATE TABLE items (id INT PRIMARY KEY, archived_at TIMESTAMPTZ);\n",
        "app.py": "def f(cur):\n    cur.execute(\"SELECT id FROM items\")\n",
    })
    assert _findings(project) == []  # archived_at is not a default soft-delete column
    assert len(_findings(project, **{"soft-delete-columns": ["archived_at"]})) == 1


def test_schema_command_lists_soft_delete_indexes():
    out = subprocess.run([sys.executable, "-m", "backendlint", "schema", "--output-format", "json",
                          str(FIXTURES / "flask_raw_sql")], capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)["soft_deletes"]
    assert rows == [{"table": "users", "column": "deleted_at", "partial": True,
                     "index": "index idx_users_active_email (email) WHERE deleted_at IS NULL",
                     "location": "migrations/2_soft_delete.sql:2"}]
