"""`[tool.backendlint]` in the nearest pyproject.toml, or a `.backendlint.toml`, validated
key by key: an unknown key, rule id or option, or a wrong type, is an error that names the
key and suggests the closest valid one."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_EXCLUDE = [
    ".git", ".hg", ".svn", ".venv", "venv", ".env/", "env/", "node_modules", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs", "*.egg-info",
    "build", "dist", "site-packages", ".backendlint_cache",
]


class ConfigError(Exception):
    """A configuration problem: the CLI prints it and exits 2."""


@dataclass
class Config:
    root: Path
    source: Path | None = None
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    fail_on: Severity = Severity.LOW
    sql_dialect: str = "postgres"
    extend_knowledge: list[str] = field(default_factory=list)
    respect_gitignore: bool = True
    force_exclude: bool = False
    baseline: Path | None = None
    max_file_size: int = 2 * 2**20  # bytes; larger files are skipped with a note
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rule_ids(self) -> set[str]:
        from .registry import resolve_selection

        return resolve_selection(self.select, self.extend_select, self.ignore)

    def settings_for(self, rule_cls) -> dict[str, Any]:
        settings = {option.name: option.default for option in rule_cls.options}
        settings.update(self.rule_options.get(rule_cls.meta.id, {}))
        return settings


# key -> (expected type, Config attribute)
_KEYS: dict[str, tuple[type, str]] = {
    "select": (list, "select"),
    "extend-select": (list, "extend_select"),
    "ignore": (list, "ignore"),
    "exclude": (list, "exclude"),
    "extend-exclude": (list, "extend_exclude"),
    "per-file-ignores": (dict, "per_file_ignores"),
    "fail-on": (str, "fail_on"),
    "sql-dialect": (str, "sql_dialect"),
    "extend-knowledge": (list, "extend_knowledge"),
    "respect-gitignore": (bool, "respect_gitignore"),
    "baseline": (str, "baseline"),
    "max-file-size": (int, "max_file_size"),
    "rules": (dict, "rule_options"),
}
CONFIG_KEYS = tuple(_KEYS)
# What each key means, for the generated configuration reference (docs/rules/options.md).
KEY_HELP = {
    "select": "rules to run: ids (`BL101`), id prefixes (`BL1`), names or `ALL`; replaces the default (every rule)",
    "extend-select": "rules added to the selection",
    "ignore": "rules taken out of the selection",
    "exclude": "gitignore-style patterns of paths never checked; replaces the defaults",
    "extend-exclude": "patterns excluded on top of the defaults",
    "per-file-ignores": "a table of glob -> rule selectors ignored in matching files",
    "fail-on": "lowest severity that makes the exit code 1: `low`, `medium`, `high` or `critical`",
    "sql-dialect": "sqlglot dialect of `.sql` files and embedded SQL",
    "extend-knowledge": "extra TOML knowledge files (paths relative to the configuration file)",
    "respect-gitignore": "skip files that `.gitignore` files ignore",
    "baseline": "baseline file; findings recorded in it are not reported",
    "max-file-size": "files larger than this many bytes are skipped with a note",
    "rules": "per-rule options, as `[tool.backendlint.rules.BL205]` tables",
}


def find_config(start: Path) -> tuple[Path | None, dict | None]:
    """The nearest `.backendlint.toml`, or `pyproject.toml` with a `[tool.backendlint]`
    table, walking up from `start`."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        dedicated = folder / ".backendlint.toml"
        if dedicated.is_file():
            return dedicated, _read_toml(dedicated)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            table = data.get("tool", {}).get("backendlint")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.backendlint] must be a table")
                return pyproject, table
    return None, None


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load(paths: list[Path], config_file: Path | None = None) -> Config:
    """The configuration for a run over `paths` (explicit `config_file` wins)."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: no such configuration file")
        data = _read_toml(config_file)
        if config_file.name == "pyproject.toml":
            data = data.get("tool", {}).get("backendlint", {})
        source, table = config_file.resolve(), data
    else:
        first = paths[0] if paths else Path.cwd()
        source, table = find_config(first if first.exists() else Path.cwd())
    first = (paths[0] if paths else Path.cwd()).absolute()
    # The project root: the configuration's folder, else the git work tree, else the
    # folder named first. Paths in every report are relative to it.
    root = source.parent if source else _git_root(first) or (
        first if first.is_dir() else first.parent)
    config = Config(root=root.resolve(), source=source)
    if table:
        apply_table(config, table, str(source))
    return config


def apply_table(config: Config, table: dict, where: str) -> None:
    from .registry import SelectorError, expand, suggest

    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{suggest(key, list(_KEYS))}")
        expected, attribute = _KEYS[key]
        if not isinstance(value, expected) or (expected is list and not all(
                isinstance(v, str) for v in value)) or (expected is int and (
                isinstance(value, bool) or value < 1)):
            kind = {list: "a list of strings", dict: "a table", str: "a string",
                    bool: "true or false", int: "a whole number"}[expected]
            raise ConfigError(f"{where}: {key!r} must be {kind}, got {value!r}")
        if key == "fail-on":
            try:
                value = Severity.parse(value)
            except ValueError as exc:
                raise ConfigError(f"{where}: 'fail-on': {exc}") from None
        elif key == "sql-dialect":
            value = validate_dialect(value, f"{where}: 'sql-dialect'")
        elif key == "extend-knowledge":
            base = Path(where).parent
            value = [str((base / v).resolve()) for v in value]
            for path in value:
                if not Path(path).is_file():
                    raise ConfigError(f"{where}: 'extend-knowledge': no such file {path}")
        elif key == "baseline":
            value = (Path(where).parent / value).resolve()
        elif key == "per-file-ignores":
            value = _per_file_ignores(value, where)
        elif key == "rules":
            value = _rule_options(value, where)
        if key in ("select", "extend-select", "ignore"):
            for selector in value:
                try:
                    expand(selector)
                except SelectorError as exc:
                    raise ConfigError(f"{where}: {key!r}: {exc}") from None
        setattr(config, attribute, value)


def _per_file_ignores(table: dict, where: str) -> dict[str, list[str]]:
    from .registry import SelectorError, expand

    result = {}
    for pattern, selectors in table.items():
        if not isinstance(selectors, list) or not all(isinstance(s, str) for s in selectors):
            raise ConfigError(f"{where}: 'per-file-ignores.{pattern}' must be a list of rule ids")
        ids: set[str] = set()
        for selector in selectors:
            try:
                ids |= expand(selector)
            except SelectorError as exc:
                raise ConfigError(f"{where}: 'per-file-ignores.{pattern}': {exc}") from None
        result[pattern] = sorted(ids)
    return result


def _rule_options(table: dict, where: str) -> dict[str, dict[str, Any]]:
    from .registry import all_rules, lookup, suggest

    rules = all_rules()
    result: dict[str, dict[str, Any]] = {}
    for key, options in table.items():
        rule_cls = lookup(key)
        if rule_cls is None:
            raise ConfigError(f"{where}: 'rules.{key}': unknown rule{suggest(key, list(rules))}")
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: 'rules.{key}' must be a table of options")
        known = {option.name: option for option in rule_cls.options}
        checked = {}
        for name, value in options.items():
            if name not in known:
                hint = suggest(name, list(known)) or (
                    f" ({rule_cls.meta.id} has no options)" if not known else
                    f" (options: {', '.join(known)})")
                raise ConfigError(f"{where}: 'rules.{key}.{name}': unknown option{hint}")
            checked[name] = known[name].validate(value, f"{where}: 'rules.{key}.{name}'")
        result[rule_cls.meta.id] = checked
    return result


def validate_dialect(name: str, where: str) -> str:
    from sqlglot.dialects.dialect import Dialects

    valid = sorted(d.value for d in Dialects if d.value)
    if name.lower() not in valid:
        from .registry import suggest

        raise ConfigError(f"{where}: unknown SQL dialect {name!r}{suggest(name.lower(), valid)}")
    return name.lower()


def _git_root(path: Path) -> Path | None:
    start = path.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
