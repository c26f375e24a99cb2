"""Which files a run checks: the named paths, walked in a deterministic order, with
`.gitignore` files honoured (via pathspec's git-compatible matcher), default and
configured excludes applied, and every file classified by what reads it."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PYTHON, SQL, CONFIG = "python", "sql", "config"
_SUFFIXES = {".py": PYTHON, ".pyi": PYTHON, ".sql": SQL, ".toml": CONFIG, ".yaml": CONFIG,
             ".yml": CONFIG, ".json": CONFIG, ".ini": CONFIG, ".cfg": CONFIG, ".env": CONFIG}
_LOCK_FILES = {"poetry.lock", "Pipfile.lock", "package-lock.json", "yarn.lock", "uv.lock",
               "pdm.lock", "composer.lock", "Cargo.lock"}


@dataclass(frozen=True, order=True)
class SourcePath:
    relpath: str  # relative to the project root, '/'-separated (sort key)
    path: Path
    kind: str
    explicit: bool = False


@dataclass
class Discovery:
    files: list[SourcePath] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # skipped things worth telling
    missing: list[str] = field(default_factory=list)  # named paths that do not exist


def classify(path: Path) -> str | None:
    name = path.name
    if name in _LOCK_FILES:
        return None
    if name == ".env" or name.startswith(".env."):
        return CONFIG
    return _SUFFIXES.get(path.suffix.lower())


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, root)).as_posix()


class _Matcher:
    """Config excludes plus the `.gitignore` files met on the way down."""

    def __init__(self, root: Path, patterns: list[str], respect_gitignore: bool):
        self.root = root
        self.notices: list[str] = []
        self.excludes = _spec(patterns, "exclude", self.notices)
        self.respect_gitignore = respect_gitignore
        self._gitignores: dict[Path, object | None] = {}
        self._chains: dict[str, list] = {}
        self._root_prefix = str(root).rstrip(os.sep) + os.sep

    def _gitignore(self, folder: Path):
        if folder not in self._gitignores:
            spec = None
            ignore_file = folder / ".gitignore"
            if self.respect_gitignore and ignore_file.is_file():
                try:
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = []
                spec = _spec(lines, relative(ignore_file, self.root), self.notices)
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def _chain(self, folder: Path) -> list[tuple[str, object]]:
        """The .gitignore matchers that speak for files in `folder` (its own and its
        ancestors' up to the root), as (folder path, matcher); memoised per folder."""
        key = str(folder)
        chain = self._chains.get(key)
        if chain is None:
            at_top = folder == self.root or folder == folder.parent or not key.startswith(self._root_prefix)
            chain = [] if at_top else self._chain(folder.parent)
            spec = self._gitignore(folder)
            if spec is not None:
                chain = chain + [(key, spec)]
            self._chains[key] = chain
        return chain

    def excluded(self, path: Path, is_dir: bool) -> bool:
        text = str(path)
        slash = "/" if is_dir else ""
        if text.startswith(self._root_prefix):
            rel = text[len(self._root_prefix):].replace(os.sep, "/")
            if self.excludes.match_file(rel + slash):
                return True
        if self.excludes.match_file(path.name + slash):
            return True
        if not self.respect_gitignore:
            return False
        for base, spec in self._chain(path.parent):
            if spec.match_file(text[len(base) + 1:].replace(os.sep, "/") + slash):
                return True
        return False


def _spec(lines: list[str], where: str, notices: list[str]):
    """A git-compatible matcher; lines git itself would reject are skipped with a note."""
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception:  # one bad line: keep the others
        good = []
        for number, line in enumerate(lines, start=1):
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:
                notices.append(f"{where}: line {number}: invalid pattern {line!r} ignored")
                continue
            good.append(line)
        return pathspec.GitIgnoreSpec.from_lines(good)


def discover(paths: list[Path], config) -> Discovery:
    root = config.root
    result = Discovery()
    matcher = _Matcher(root, config.exclude + config.extend_exclude, config.respect_gitignore)
    seen: set[Path] = set()
    for given in paths:
        if not given.exists() and not given.is_symlink():
            result.missing.append(str(given))
            continue
        path = given.absolute()
        if given.is_file() or (given.is_symlink() and not given.is_dir()):
            kind = classify(path)
            if kind is None:
                result.notices.append(f"{given}: not a Python, SQL or config file; skipped")
                continue
            if config.force_exclude and matcher.excluded(path, False):
                continue
            _add(result, seen, path, root, kind, explicit=True)
            continue
        _walk(path, root, matcher, result, seen)
    result.files.sort()
    result.notices.extend(matcher.notices)
    return result


def _add(result: Discovery, seen: set[Path], path: Path, root: Path, kind: str, explicit: bool) -> None:
    try:
        key = path.resolve(strict=True)
    except (OSError, RuntimeError):  # broken link or a symlink loop
        result.notices.append(f"{relative(path, root)}: broken or looping symlink; skipped")
        return
    if key in seen:
        return
    seen.add(key)
    result.files.append(SourcePath(relative(path, root), path, kind, explicit))


def _walk(top: Path, root: Path, matcher: _Matcher, result: Discovery, seen: set[Path]) -> None:
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            result.notices.append(f"{relative(folder, root)}: cannot list folder: {exc.strerror}")
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_link:
                # Linked folders are not followed (loops, and trees outside the project);
                # a linked file is checked when it resolves inside the project.
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    result.notices.append(f"{relative(path, root)}: broken or looping symlink; skipped")
                    continue
                if target.is_dir() or (root not in target.parents):
                    continue
            if is_dir:
                if not matcher.excluded(path, True):
                    subfolders.append(path)
                continue
            kind = classify(path)
            if kind is None or matcher.excluded(path, False):
                continue
            _add(result, seen, path, root, kind, explicit=False)
        stack.extend(reversed(subfolders))
