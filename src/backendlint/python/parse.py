"""Parsing Python with `ast`, and telling a real syntax error from syntax that only a
newer interpreter knows."""
from __future__ import annotations

import ast
import re
import sys
import warnings
from dataclasses import dataclass


@dataclass
class ParseFailure:
    message: str
    line: int
    column: int  # 1-based, characters


# ast.parse turns long left-nested chains (`a + b + ...` thousands long, as generated code
# has) into nested nodes, and converting them counts against the recursion limit.
_PARSE_RECURSION_LIMIT = 50_000


def parse_python(text: str, filename: str) -> ast.Module | ParseFailure:
    previous = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(previous, _PARSE_RECURSION_LIMIT))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not ours to report
            return ast.parse(text, filename=filename, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        # Nesting limits are the same in newer Pythons: no point asking libcst.
        if "nested" not in (exc.msg or "") and "indentation" not in (exc.msg or "") \
                and _libcst_accepts(text):
            bad_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
            newer = _newer_version_for(bad_line)
            return ParseFailure(
                f"needs Python >= {newer} to analyse; run backendlint under that Python "
                f"(this is {sys.version_info.major}.{sys.version_info.minor})", line, 1)
        return ParseFailure(f"syntax error: {exc.msg}", line, max(exc.offset or 1, 1))
    except (RecursionError, MemoryError):
        return ParseFailure("too deeply nested for Python's parser; not analysed", 1, 1)
    except ValueError as exc:  # e.g. source with NUL bytes
        return ParseFailure(f"cannot parse: {exc}", 1, 1)
    finally:
        sys.setrecursionlimit(previous)


# Syntax newer than the running interpreter, by the first Python that accepts it.
_NEWER_SYNTAX = (
    (re.compile(r"^\s*type\s+\w+\s*(\[|=)|^\s*(async\s+)?def\s+\w+\s*\[|^\s*class\s+\w+\s*\["), "3.12"),
    (re.compile(r"(?<![\w.])[tT][rR]?[\'\"]|^\s*except\*?\s+[^:(]+,[^:]+:"), "3.14"),
)


def _newer_version_for(line: str) -> str:
    current = (sys.version_info.major, sys.version_info.minor)
    for pattern, version in _NEWER_SYNTAX:
        if pattern.search(line) and tuple(map(int, version.split("."))) > current:
            return version
    return f"{current[0]}.{current[1] + 1}"


def _libcst_accepts(text: str) -> bool:
    """libcst's parser knows the grammar up to Python 3.15 (it does not gate by version).
    Its native parser recurses on the C stack, so it runs in a thread with a large stack:
    pathological input must not take the process down."""
    import threading

    outcome: list[bool] = []

    def attempt() -> None:
        import libcst

        try:
            libcst.parse_module(text)
            outcome.append(True)
        except Exception:  # ParserSyntaxError, or the native parser's own failures
            outcome.append(False)

    previous = threading.stack_size()
    try:
        threading.stack_size(512 * 1024 * 1024)
        worker = threading.Thread(target=attempt, name="backendlint-libcst", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    return bool(outcome and outcome[0])
