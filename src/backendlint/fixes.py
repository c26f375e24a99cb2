"""`--fix`: rewrite what the fixable rules found, only where the rewrite cannot make the
code worse. Each fixable rule class defines

    @classmethod
    def fix(cls, source: str, findings: list[Finding], file: PythonFile) -> str | None

returning the new source (or None when it declines). Rules write with libcst, so
formatting and comments survive. The fixer runs the rules' fixes one after the other,
re-parses the result before writing (a fix that breaks the syntax is dropped), writes each
file atomically, and with `dry_run` only returns unified diffs."""
from __future__ import annotations

import ast
import difflib
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .registry import all_rules


@dataclass
class FixOutcome:
    fixed: dict[str, int] = field(default_factory=dict)  # path -> findings fixed
    diffs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def apply(report, dry_run: bool = False) -> FixOutcome:
    from .python.context import PythonFile
    from .source import DecodeError, decode_python

    outcome = FixOutcome()
    rules = all_rules()
    by_file: dict[str, list] = defaultdict(list)
    for finding in report.findings:
        rule = rules.get(finding.rule_id)
        if rule is not None and getattr(rule.meta, "fixable", False) and hasattr(rule, "fix"):
            by_file[finding.location.path].append(finding)
    root = Path(report.config.root)
    for relpath in sorted(by_file):
        path = root / relpath
        if path.suffix not in (".py", ".pyi"):
            continue
        try:
            data = path.read_bytes()
            original = decode_python(data)
        except (OSError, DecodeError) as exc:
            outcome.errors.append(f"{relpath}: not fixed: {exc}")
            continue
        source, count = original, 0
        for rule_id in sorted({f.rule_id for f in by_file[relpath]}):
            findings = [f for f in by_file[relpath] if f.rule_id == rule_id]
            file = PythonFile(path, relpath, source)
            try:
                file.tree = ast.parse(source)
                new = rules[rule_id].fix(source, findings, file)
            except Exception as exc:  # a fixer bug leaves the file as it was
                outcome.errors.append(f"{relpath}: {rule_id} fix failed: {type(exc).__name__}: {exc}")
                continue
            if new is None or new == source:
                continue
            try:
                ast.parse(new)
            except SyntaxError as exc:
                outcome.errors.append(f"{relpath}: {rule_id} fix dropped, it would not parse: {exc.msg}")
                continue
            source, count = new, count + len(findings)
        if source == original:
            continue
        outcome.fixed[relpath] = count
        outcome.diffs.append("".join(difflib.unified_diff(
            original.splitlines(keepends=True), source.splitlines(keepends=True),
            fromfile=f"a/{relpath}", tofile=f"b/{relpath}")))
        if not dry_run:
            _write_atomically(path, source, data)
    return outcome


def _write_atomically(path: Path, text: str, original: bytes) -> None:
    # Keep the file's encoding (from its coding cookie) and line endings.
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    newline = "\r\n" if b"\r\n" in original else "\n"
    payload = text.replace("\r\n", "\n").replace("\n", newline).encode(encoding)
    if original.startswith(b"\xef\xbb\xbf") and not payload.startswith(b"\xef\xbb\xbf"):
        payload = b"\xef\xbb\xbf" + payload
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
