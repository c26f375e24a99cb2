"""Small helpers for tests that run the CLI on throw-away projects."""
from __future__ import annotations

from pathlib import Path

from backendlint.cli import main

VULNERABLE = 'def f(cur, uid):\n    cur.execute("SELECT name FROM users WHERE id = " + uid)\n'


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", "--color", "never", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args: str):
    import json

    code = main(["check", "--output-format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err
