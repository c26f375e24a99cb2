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


def parse_python(text: str, filename: str) -> ast.Module | ParseFailure:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences etc. are not ours to report
            return ast.parse(text, filename=filename, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        if _libcst_accepts(text):
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
    """libcst's parser knows the grammar up to Python 3.15 (it does not gate by version)."""
    import libcst

    try:
        libcst.parse_module(text)
    except Exception:  # ParserSyntaxError, or the native parser's own failures
        return False
    return True
