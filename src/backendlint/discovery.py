"""Which files a run checks: the named paths, walked in a deterministic order, with
`.gitignore` files honoured (via pathspec's git-compatible matcher), default and
configured excludes applied, and every file classified by what reads it."""
from __future__ import annotations

import os
import re
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
    return classify_name(path.name)


def classify_name(name: str) -> str | None:
    if name in _LOCK_FILES:
        return None
    if name == ".env" or name.startswith(".env."):
        return CONFIG
    return _SUFFIXES.get(os.path.splitext(name)[1].lower())


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
        self._gitignores: dict[str, object | None] = {}
        self._chains: dict[str, list] = {}
        self._root = str(root)
        self._root_prefix = str(root).rstrip(os.sep) + os.sep

    def _gitignore(self, folder: str):
        if folder not in self._gitignores:
            spec = None
            ignore_file = Path(folder) / ".gitignore"
            if self.respect_gitignore and ignore_file.is_file():
                try:
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    lines = []
                spec = _spec(lines, relative(ignore_file, self.root), self.notices)
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def _chain(self, folder: str) -> list[tuple[str, object]]:
        """The .gitignore matchers that speak for files in `folder` (its own and its
        ancestors' up to the root), as (folder path, matcher); memoised per folder."""
        chain = self._chains.get(folder)
        if chain is None:
            parent = os.path.dirname(folder)
            at_top = folder == self._root or parent == folder or not folder.startswith(self._root_prefix)
            chain = [] if at_top else self._chain(parent)
            spec = self._gitignore(folder)
            if spec is not None:
                chain = chain + [(folder, spec)]
            self._chains[folder] = chain
        return chain

    def excluded(self, path: Path, is_dir: bool) -> bool:
        text = str(path)
        return self.excluded_text(text, os.path.basename(text), is_dir)

    def excluded_text(self, text: str, name: str, is_dir: bool) -> bool:
        """`excluded` for an absolute path given as a string (the walk stays in strings)."""
        slash = "/" if is_dir else ""
        if text.startswith(self._root_prefix):
            rel = text[len(self._root_prefix):].replace(os.sep, "/")
            if self.excludes.match_file(rel + slash):
                return True
        if self.excludes.match_file(name + slash):
            return True
        if not self.respect_gitignore:
            return False
        for base, spec in self._chain(os.path.dirname(text)):
            if spec.match_file(text[len(base) + 1:].replace(os.sep, "/") + slash):
                return True
        return False


def _spec(lines: list[str], where: str, notices: list[str]):
    """A git-compatible matcher; lines git itself would reject are skipped with a note."""
    import pathspec

    try:
        return _QuickSpec(pathspec.GitIgnoreSpec.from_lines(lines))
    except Exception:  # one bad line: keep the others
        good = []
        for number, line in enumerate(lines, start=1):
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except Exception:
                notices.append(f"{where}: line {number}: invalid pattern {line!r} ignored")
                continue
            good.append(line)
        return _QuickSpec(pathspec.GitIgnoreSpec.from_lines(good))


class _QuickSpec:
    """A pathspec matcher behind a one-regex pre-check. A path is ignored only when an
    including pattern matches it (negations can only take that back), and most paths match
    none: one combined regex answers that, instead of trying each pattern in turn (which
    was a third of discovery on a large tree)."""

    def __init__(self, spec) -> None:
        self.spec = spec
        including = [p.regex.pattern for p in spec.patterns
                     if getattr(p, "include", None) is True and getattr(p, "regex", None) is not None]
        # The patterns' named groups would clash in one regex; their names do not matter here.
        merged = "|".join(f"(?:{re.sub(r'[(][?]P<[^>]*>', '(?:', pattern)})" for pattern in including)
        try:
            self._any = re.compile(merged) if including else None
        except re.error:
            self._any = re.compile("")  # cannot merge: always ask pathspec

    def match_file(self, path: str) -> bool:
        if self._any is None or not self._any.match(path):
            return False
        return self.spec.match_file(path)


def discover(paths: list[Path], config) -> Discovery:
    root = config.root
    result = Discovery()
    matcher = _Matcher(root, config.exclude + config.extend_exclude, config.respect_gitignore)
    seen: set[str] = set()
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


def _add(result: Discovery, seen: set[str], path: Path, root: Path, kind: str, explicit: bool) -> None:
    try:
        key = str(path.resolve(strict=True))
    except (OSError, RuntimeError):  # broken link or a symlink loop
        result.notices.append(f"{relative(path, root)}: broken or looping symlink; skipped")
        return
    if key in seen:
        return
    seen.add(key)
    result.files.append(SourcePath(relative(path, root), path, kind, explicit))


def _walk(top: Path, root: Path, matcher: _Matcher, result: Discovery, seen: set[str]) -> None:
    # Strings, not Paths, on the way down (a Path per directory entry was most of the
    # cost). Linked folders are never followed, so a plain entry's real path is its real
    # folder joined with its name: no resolve() per file.
    root_prefix = str(root).rstrip(os.sep) + os.sep
    stack = [(str(top), os.path.realpath(top))]
    while stack:
        folder, real_folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            result.notices.append(f"{relative(Path(folder), root)}: cannot list folder: {exc.strerror}")
            continue
        subfolders = []
        for entry in entries:
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_link:
                # Linked folders are not followed (loops, and trees outside the project);
                # a linked file is checked when it resolves inside the project.
                path = Path(entry.path)
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    result.notices.append(f"{relative(path, root)}: broken or looping symlink; skipped")
                    continue
                if target.is_dir() or (root not in target.parents):
                    continue
                kind = classify_name(entry.name)
                if kind is not None and not matcher.excluded(path, False):
                    _add(result, seen, path, root, kind, explicit=False)
                continue
            if is_dir:
                if not matcher.excluded_text(entry.path, entry.name, True):
                    subfolders.append((entry.path, os.path.join(real_folder, entry.name)))
                continue
            kind = classify_name(entry.name)
            if kind is None or matcher.excluded_text(entry.path, entry.name, False):
                continue
            key = os.path.join(real_folder, entry.name)
            if key in seen:
                continue
            seen.add(key)
            text = entry.path
            relpath = (text[len(root_prefix):].replace(os.sep, "/") if text.startswith(root_prefix)
                       else relative(Path(text), root))
            result.files.append(SourcePath(relpath, Path(text), kind, False))
        stack.extend(reversed(subfolders))
