"""Split SQL text into statements and parse each on its own with sqlglot, so one
statement sqlglot cannot read does not hide the rest of the file."""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Callable

from ..findings import Confidence, Location

# sqlglot logs warnings for unsupported syntax; they must not reach the user's terminal.
logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

_STATEMENT_KEYWORDS = frozenset("""
    select insert update delete with create alter drop truncate merge replace upsert
    grant revoke copy call exec execute explain analyze vacuum pragma values comment
    refresh begin commit rollback savepoint release set reset show lock declare prepare
    listen notify unlisten do cluster reindex checkpoint discard load import security move
    fetch close deallocate abort end start use describe desc attach detach unload optimize
    rename kill flush purge handler unlock install uninstall cache uncache msck
    """.split())
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(*\s*([A-Za-z]+)", re.S)


def looks_like_sql(text: str) -> bool:
    """Does the text start like a SQL statement? (The gate before we ask sqlglot.)"""
    match = _FIRST_WORD.match(text)
    return bool(match) and match.group(1).lower() in _STATEMENT_KEYWORDS


@dataclass
class SqlStatement:
    text: str  # the statement's SQL (for embedded SQL, with placeholders for holes)
    tree: object | None  # sqlglot Expression, or None when it did not parse
    locate_offsets: Callable[[int, int], Location]  # character span in `text` -> file location
    whole: Location  # the statement (or the Python expression that holds it)
    embedded: bool = False
    # Embedded SQL rebuilt from pieces cannot be more certain than its rebuilding.
    confidence_cap: Confidence | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)

    def locate(self, node) -> Location:
        """File location of a sqlglot node, falling back to the whole statement."""
        if node is None:
            return self.whole
        meta = getattr(node, "meta", None) or {}
        start, end = meta.get("start"), meta.get("end")
        if start is None:
            for child in node.walk():
                cmeta = getattr(child, "meta", None) or {}
                if cmeta.get("start") is not None:
                    start, end = cmeta["start"], cmeta.get("end", cmeta["start"])
                    break
        if start is None:
            return self.whole
        return self.locate_offsets(start, end + 1)


def parse_one(text: str, dialect: str):
    """(expression, error message). Never raises. Results are memoised (the same query
    text recurs across a module and a project), so the tree is shared: never mutate it."""
    return _parse_cached(text, dialect)


@lru_cache(maxsize=2048)
def _parse_cached(text: str, dialect: str):
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        expressions = sqlglot.parse(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    except SqlglotError as exc:
        return None, _first_line(str(exc))
    except Exception as exc:  # sqlglot's own bugs (seen: UnboundLocalError on odd DDL)
        return None, f"sqlglot failed: {type(exc).__name__}"
    expressions = [e for e in expressions if e is not None]
    if not expressions:
        return None, "empty statement"
    tree = expressions[0]
    if _is_bare_expression(tree):
        # sqlglot reads `SELEC x` as the expression `SELEC AS x`: not a statement.
        if looks_like_sql(text):
            return None, ""  # a statement sqlglot has no grammar for (LISTEN x): skip quietly
        first = _FIRST_WORD.match(text)
        word = first.group(1) if first else text.strip()[:20]
        return None, f"not a SQL statement (unknown keyword {word!r})"
    return tree, ""


def _is_bare_expression(tree) -> bool:
    from sqlglot import exp

    return isinstance(tree, (exp.Alias, exp.Condition, exp.Identifier)) and not isinstance(
        tree, (exp.Query, exp.Subquery))


def split_statements(text: str, dialect: str) -> list[tuple[int, int]]:
    """Character spans of the statements in `text`, split at top-level semicolons as
    sqlglot's tokenizer sees them (so semicolons in strings, comments and dollar-quoted
    bodies do not split). Falls back to one span when the text cannot be tokenized."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except Exception:  # SqlglotError, or a bug of the tokenizer: one span, parsed whole
        return [(0, len(text))] if text.strip() else []
    spans, start = [], None
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                spans.append((start, token.start))
            start = None
            continue
        if start is None:
            start = token.start
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "parse error"
    return re.sub(r"\x1b\[[0-9;]*m", "", line)[:200]
