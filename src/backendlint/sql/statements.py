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
        return None, _crash_message(exc)
    return _statement_of(expressions, text)


def _crash_message(exc: Exception) -> str:
    if isinstance(exc, TypeError) and _compiled_sqlglot():
        # mypyc-compiled sqlglot (sqlglotc) type-checks at run time: on some malformed
        # statements it raises TypeError where pure-Python sqlglot raises a ParseError.
        return "sqlglot could not parse it (TypeError in compiled sqlglot)"
    return f"sqlglot failed: {type(exc).__name__}"


@lru_cache(maxsize=1)
def _compiled_sqlglot() -> bool:
    import sqlglot.parser

    return not sqlglot.parser.__file__.endswith(".py")


def _statement_of(expressions, text: str):
    """(tree, error) from what sqlglot parsed out of one statement's text."""
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

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except Exception:  # SqlglotError, or a bug of the tokenizer: one span, parsed whole
        return [(0, len(text))] if text.strip() else []
    return [(start, end) for start, end, _first, _last in _token_spans(tokens, len(text))]


def _token_spans(tokens, length: int):
    """(start, end, first token index, index after the last token) of each statement."""
    from sqlglot.tokens import TokenType

    spans, start, first = [], None, 0
    semicolon = TokenType.SEMICOLON
    for index, token in enumerate(tokens):
        if token.token_type == semicolon:
            if start is not None:
                spans.append((start, token.start, first, index))
            start = None
        elif start is None:
            start, first = token.start, index
    if start is not None:
        spans.append((start, length, first, len(tokens)))
    return spans


# Statement text -> (tree, error, offset in its file where the tree's node offsets start).
_FILE_MEMO: dict[tuple[str, str], tuple] = {}


def parse_statements(text: str, dialect: str):
    """Split a SQL file into statements and parse each on its own (as `split_statements`
    then `parse_one`), but tokenize the file only once: each statement is parsed from its
    slice of the file's tokens. Yields (start, end, tree, error, offsets, tokens): `offsets`
    maps a node's meta (start, end) to offsets into `text`; `tokens` (None when the file
    could not be tokenized) are the statement's tokens, with offsets into `text`."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import ErrorLevel

    sqlglot_dialect = Dialect.get_or_raise(dialect)
    try:
        tokens = sqlglot_dialect.tokenize(text)
    except Exception:  # SqlglotError, or a bug of the tokenizer: one span, parsed whole
        if text.strip():
            yield (0, len(text), *parse_one(text, dialect), _offset_mapper(0, 0), None)
        return
    parser = None
    for start, end, first, last in _token_spans(tokens, len(text)):
        chunk = text[start:end]
        own = tokens[first:last]
        if own[0].comments:
            own[0] = _without_leading_comments(own[0], text, tokens[first - 1] if first else None)
        # The same statement recurs (in a file and across files): parse it once.
        memo = _FILE_MEMO.get((chunk, dialect))
        if memo is None:
            try:
                # `text` is the whole file, which the tokens' offsets point into.
                if parser is None:  # one parser for the file: `parse` resets its state
                    parser = sqlglot_dialect.parser(error_level=ErrorLevel.RAISE)
                expressions = parser.parse(own, text)
                memo = (*_statement_of(expressions, chunk), start)
            except Exception:
                # Parse the statement's own text instead, so the message (its "Line N,
                # Col: M") is relative to the statement, as for embedded SQL.
                memo = (*parse_one(chunk, dialect), 0)
            if len(_FILE_MEMO) >= 4096:
                _FILE_MEMO.clear()
            _FILE_MEMO[(chunk, dialect)] = memo
        tree, error, origin = memo
        yield start, end, tree, error, _offset_mapper(start, origin), own


def _without_leading_comments(token, text: str, semicolon):
    """The statement's first token without the comments written before it (the file's
    tokenizer gives them to it; the statement's own text does not hold them)."""
    from sqlglot.tokens import Token

    gap = text[semicolon.end + 1 if semicolon else 0:token.start]
    count, at = 0, 0
    while True:
        while at < len(gap) and gap[at].isspace():
            at += 1
        if gap.startswith("--", at):
            at = gap.find("\n", at)
            at = len(gap) if at < 0 else at
        elif gap.startswith("/*", at):
            depth, at = 1, at + 2
            while depth and at < len(gap):
                if gap.startswith("*/", at):
                    depth, at = depth - 1, at + 2
                elif gap.startswith("/*", at):
                    depth, at = depth + 1, at + 2
                else:
                    at += 1
        else:
            break
        count += 1
    # The comments after the semicolon on its line are its own; the rest are the token's.
    leading = count - (len(semicolon.comments) if semicolon else 0)
    return Token(token.token_type, token.text, token.line, token.col, token.start, token.end,
                 token.comments[max(leading, 0):])


def _offset_mapper(start: int, origin: int):
    """Node offsets (relative to `origin` in the file first parsed) -> offsets here."""
    def mapped(s: int, e: int) -> tuple[int, int]:
        if s < origin:  # a node sqlglot made from a synthetic token (offset 0), like a parse
            return start + s, start + e  # of the statement alone: the statement's start
        return start + s - origin, start + e - origin
    return mapped


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "parse error"
    return re.sub(r"\x1b\[[0-9;]*m", "", line)[:200]
