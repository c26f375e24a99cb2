"""`--diff [REV]`: the lines added or changed since REV, from git, so that only findings on
them are reported. Uncommitted and untracked files count as changed."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class DiffError(Exception):
    pass


def _git(args: list[str], cwd: Path) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                encoding="utf-8", errors="replace", timeout=120)
    except FileNotFoundError:
        raise DiffError("--diff needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise DiffError(f"git {' '.join(args)} took too long") from None
    if result.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def default_base(root: Path) -> str:
    """The merge base with the default branch, else HEAD."""
    for branch in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
        try:
            base = _git(["merge-base", "HEAD", branch], root).strip()
        except DiffError:
            continue
        head = _git(["rev-parse", "HEAD"], root).strip()
        if base and base != head:
            return base
    return "HEAD"


def changed_lines(root: Path, rev: str | None) -> tuple[str, dict[str, set[int] | None]]:
    """(the revision used, {path relative to `root`: changed line numbers}); None as the
    value means the whole file is new."""
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], root).strip())
    except DiffError:
        raise DiffError(f"--diff needs a git repository, and {root} is not in one") from None
    rev = rev or default_base(root)
    _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
    changed: dict[str, set[int] | None] = {}
    current: str | None = None
    for line in _git(["diff", "--unified=0", "--no-color", "--no-ext-diff", "--relative", rev, "--", "."],
                     root).splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else _strip_prefix(name)
            if current is not None:
                changed.setdefault(current, set())
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or 1)
            lines = changed[current]
            if lines is not None:
                lines.update(range(start, start + count))
    for name in _git(["ls-files", "--others", "--exclude-standard"], root).splitlines():
        changed[name] = None
    del top
    return rev, changed


def _strip_prefix(name: str) -> str:
    if name.startswith('"'):  # git quotes unusual names
        name = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode(
            "latin-1", "replace").decode("utf-8", "replace")
    return name[2:] if name.startswith("b/") else name


def on_changed_line(finding, changed: dict[str, set[int] | None]) -> bool:
    loc = finding.location
    if loc.path not in changed:
        return False
    lines = changed[loc.path]
    return lines is None or any(n in lines for n in range(loc.line, loc.end_line + 1))
