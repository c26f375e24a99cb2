"""`backendlint init`: add a commented `[tool.backendlint]` section to pyproject.toml
(creating the file if there is none, never touching what is already there), and with
`--baseline` record today's findings so the next run starts clean."""
from __future__ import annotations

import sys
from pathlib import Path

NAME = "init"
HELP = "write a commented [tool.backendlint] section into pyproject.toml"
BASELINE_FILE = "backendlint-baseline.json"

SECTION = '''
[tool.backendlint]
# Rules to run: ids (BL101), families (BL1 = SQL, BL2 = auth, BL3 = transport,
# BL4 = API design, BL5 = caches and jobs), names (select-star) or "ALL".
# select = ["ALL"]
# extend-select = []
# ignore = []
# Lowest severity that fails the run: low, medium, high or critical.
fail-on = "low"
# SQL dialect of your .sql files and embedded SQL (any sqlglot dialect).
sql-dialect = "{dialect}"
# Folders to skip besides .gitignore'd files and the defaults (.venv, build, ...).
# extend-exclude = ["migrations/legacy"]
# [tool.backendlint.per-file-ignores]
# "tests/**" = ["BL201"]
'''


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=Path("."),
                        help="project folder (default: .)")
    parser.add_argument("--baseline", action="store_true",
                        help=f"also record the current findings in {BASELINE_FILE}")
    parser.add_argument("--sql-dialect", default="postgres")


def run(args) -> int:
    from ..config import ConfigError, validate_dialect

    folder = args.path.resolve()
    if not folder.is_dir():
        print(f"backendlint: error: {args.path}: not a folder", file=sys.stderr)
        return 2
    try:
        dialect = validate_dialect(args.sql_dialect, "--sql-dialect")
    except ConfigError as exc:
        print(f"backendlint: error: {exc}", file=sys.stderr)
        return 2
    pyproject = folder / "pyproject.toml"
    existing = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    if _has_section(existing):
        print(f"{pyproject} already has a [tool.backendlint] section; nothing changed")
        return 0
    section = SECTION.format(dialect=dialect)
    if args.baseline:
        section = section.replace('fail-on = "low"', f'fail-on = "low"\nbaseline = "{BASELINE_FILE}"')
    if existing and not existing.endswith("\n"):
        existing += "\n"
    pyproject.write_text(existing + (section if existing else section.lstrip("\n")), encoding="utf-8")
    print(f"wrote [tool.backendlint] to {pyproject}")
    if args.baseline:
        return _write_baseline(folder)
    return 0


def _has_section(text: str) -> bool:
    if not text:
        return False
    from ..config import tomllib

    try:
        return "backendlint" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return "[tool.backendlint" in text


def _write_baseline(folder: Path) -> int:
    from ..baseline import Baseline
    from ..config import load
    from ..engine import check

    config = load([folder])
    report = check([folder], config)
    Baseline.of(report.findings).write(folder / BASELINE_FILE)
    print(f"recorded {len(report.findings)} findings in {folder / BASELINE_FILE}")
    return 0
