"""Loads the TOML knowledge bases in `rules/` (shipped in the wheel as `backendlint/_rules`)
and the user's `extend-knowledge` files, which add entries under the same base names."""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class KnowledgeError(Exception):
    pass


def rules_dir() -> Path:
    """The knowledge folder: inside the installed package, else the checkout's `rules/`."""
    packaged = Path(__file__).resolve().parent / "_rules"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "rules"
    if checkout.is_dir():
        return checkout
    raise KnowledgeError(f"knowledge bases not found (looked in {packaged} and {checkout})")


@lru_cache(maxsize=None)
def _load_file(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KnowledgeError(f"{path}: {exc}") from None


def base_names() -> list[str]:
    return sorted(p.stem for p in rules_dir().glob("*.toml"))


# The run's `extend-knowledge` files, set once per run by the engine (and in each worker).
_extra_files: tuple[str, ...] = ()


def configure(extra_files) -> None:
    """Use these extension files for every `load()` from now on."""
    global _extra_files
    extra = tuple(str(f) for f in extra_files)
    if extra != _extra_files:
        _extra_files = extra
        for clear in _caches:
            clear()


_caches: list = []


def cached(function):
    """Like functools.lru_cache(maxsize=1) for a knowledge loader without arguments, but
    forgotten when `configure()` changes the extension files."""
    wrapped = lru_cache(maxsize=1)(function)
    _caches.append(wrapped.cache_clear)
    return wrapped


def load(name: str, extra_files: tuple[str, ...] | None = None) -> dict[str, list[dict]]:
    """The knowledge base `name`: {table name: [entries]}, the shipped file first, then each
    extension file's `[[name.table]]` entries appended (the configured ones by default)."""
    if extra_files is None:
        extra_files = _extra_files
    merged: dict[str, list[dict]] = {}
    for table, entries in _load_file(rules_dir() / f"{name}.toml").items():
        if isinstance(entries, list):
            merged[table] = list(entries)
    for extra in extra_files:
        section = _load_file(Path(extra)).get(name, {})
        for table, entries in section.items():
            if not isinstance(entries, list):
                raise KnowledgeError(f"{extra}: [{name}.{table}] must be an array of tables ([[{name}.{table}]])")
            merged.setdefault(table, []).extend(entries)
    return merged
