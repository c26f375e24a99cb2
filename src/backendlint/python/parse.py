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
        newer_grammar = "nested" not in (exc.msg or "") and "indentation" not in (exc.msg or "")
        bad_line = _line(text, line)
        # Syntax we know to be newer (`type X = ...`, `def f[T]`) needs neither requoting
        # nor a second parser (libcst costs ~0.1 s per thousand lines: a second on Django).
        known_newer = _known_newer_syntax(bad_line, certain_only=True) if newer_grammar else None
        if newer_grammar and not known_newer and sys.version_info < (3, 12):
            # PEP 701 f-strings (3.12) reuse the outer quote inside the braces. Swapping
            # those inner quotes keeps every length, so positions stay exact.
            rewritten = _pep701_quotes_swapped(text)
            if rewritten is not None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return ast.parse(rewritten, filename=filename, type_comments=False)
                except (SyntaxError, RecursionError, MemoryError, ValueError):
                    pass
        if known_newer or (newer_grammar and _libcst_accepts(text)):
            newer = known_newer or _newer_version_for(bad_line)
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


# Syntax newer than the running interpreter, by the first Python that accepts it, and
# whether the pattern is certain enough to skip asking libcst (a quote after a `t` is not).
_NEWER_SYNTAX = (
    (re.compile(r"^\s*type\s+\w+\s*(\[|=)|^\s*(async\s+)?def\s+\w+\s*\[|^\s*class\s+\w+\s*\["), "3.12",
     True),
    (re.compile(r"(?<![\w.])[tT][rR]?[\'\"]|^\s*except\*?\s+[^:(]+,[^:]+:"), "3.14", False),
)


def _known_newer_syntax(line: str, certain_only: bool = False) -> str | None:
    """The first Python version whose grammar this line's construct needs, when that is
    newer than the running one."""
    current = (sys.version_info.major, sys.version_info.minor)
    for pattern, version, certain in _NEWER_SYNTAX:
        if certain_only and not certain:
            continue
        if pattern.search(line) and tuple(map(int, version.split("."))) > current:
            return version
    return None


def _newer_version_for(line: str) -> str:
    current = (sys.version_info.major, sys.version_info.minor)
    return _known_newer_syntax(line) or f"{current[0]}.{current[1] + 1}"


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _pep701_quotes_swapped(text: str) -> str | None:
    """The source with strings nested in f-string braces requoted with the other quote
    character, or None when that is impossible or changes nothing."""
    result: list = []

    def attempt() -> None:
        import libcst as cst

        try:
            module = cst.parse_module(text)
        except Exception:
            return

        class Requote(cst.CSTTransformer):
            def __init__(self) -> None:
                self.quotes: list[str] = []  # quote chars of the f-strings we are inside
                self.changed = False
                self.impossible = False

            def visit_FormattedString(self, node) -> None:
                self.quotes.append(node.end)

            def leave_FormattedString(self, original, updated):
                self.quotes.pop()
                return self._requote(updated, updated.start, updated.end, "start", "end")

            def leave_SimpleString(self, original, updated):
                prefix_len = len(updated.value) - len(updated.value.lstrip("rRbBuU"))
                quote = updated.value[prefix_len:][:3] if updated.value[prefix_len:][:3] in ('"""', "'''") \
                    else updated.value[prefix_len]
                body = updated.value[prefix_len + len(quote):-len(quote)]
                if not self.quotes or quote not in self.quotes:
                    return updated
                other = _other(quote)
                if other in body or "\\" in body or other in self.quotes:
                    self.impossible = True
                    return updated
                self.changed = True
                return updated.with_changes(value=updated.value[:prefix_len] + other + body + other)

            def _requote(self, node, start, end, start_field, end_field):
                if not self.quotes or end not in self.quotes:
                    return node
                other = _other(end)
                if other in self.quotes or other in cst.Module([]).code_for_node(node)[len(start):-len(end)]:
                    self.impossible = True
                    return node
                self.changed = True
                return node.with_changes(**{start_field: start[:-len(end)] + other, end_field: other})

        requote = Requote()
        new = module.visit(requote)
        if requote.changed and not requote.impossible:
            result.append(new.code)

    _on_big_stack(attempt)
    return result[0] if result else None


def _other(quote: str) -> str:
    return {'"': "'", "'": '"', '"""': "'''", "'''": '"""'}[quote]


def _on_big_stack(function) -> None:
    """Run `function` in a thread with a large stack: libcst's native parser recurses on
    the C stack, and pathological input must not take the process down."""
    import threading

    previous = threading.stack_size()
    try:
        threading.stack_size(512 * 1024 * 1024)
        worker = threading.Thread(target=function, name="backendlint-libcst", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()


def _libcst_accepts(text: str) -> bool:
    """libcst's parser knows the grammar up to Python 3.15 (it does not gate by version)."""
    outcome: list[bool] = []

    def attempt() -> None:
        import libcst

        try:
            libcst.parse_module(text)
            outcome.append(True)
        except Exception:  # ParserSyntaxError, or the native parser's own failures
            outcome.append(False)

    _on_big_stack(attempt)
    return bool(outcome and outcome[0])
