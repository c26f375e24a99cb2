"""Where does an interpolated value land in a SQL statement? The statement was parsed
with a marker identifier in place of each value; this finds the marker in the tree."""
from __future__ import annotations

VALUE = "value"  # a literal or operand position: the classic injection
IDENTIFIER = "identifier"  # a table or column name: cannot be a bound parameter
FRAGMENT = "fragment"  # part of the SQL syntax itself (whole clauses, conditions)
KEYWORD = "keyword"  # a keyword such as an ORDER BY direction (ASC/DESC)


def placement(tree, marker: str) -> str:
    """VALUE, IDENTIFIER or FRAGMENT for the marker's position in a sqlglot tree."""
    from sqlglot import exp

    if tree is None:
        return FRAGMENT
    for node in tree.walk():
        if isinstance(node, exp.Literal):
            if marker in str(node.this):
                return VALUE  # inside quotes, or a number position
            continue
        if not isinstance(node, (exp.Identifier, exp.Var)):
            continue
        name = str(node.this)
        if marker not in name:
            continue
        if getattr(node, "quoted", False) or name != marker:
            return IDENTIFIER  # part of a longer name, e.g. logs_{year}
        parent = node.parent
        if isinstance(parent, exp.Column) and parent.this is node and not parent.table:
            return _context(parent, IDENTIFIER)
        if isinstance(parent, (exp.Table, exp.Column, exp.TableAlias, exp.Alias, exp.Schema)):
            return IDENTIFIER
        return _context(node, FRAGMENT)
    return FRAGMENT


def _context(node, default: str) -> str:
    """What SQL expects where this bare name stands: a value (right of a comparison, in
    a VALUES row, IN list, LIMIT), a name (left of a comparison, ORDER BY, select list),
    or a whole condition (`WHERE {cond}`: a fragment)."""

    result = _walk_context(node, default)
    return result


def _walk_context(node, default: str) -> str:
    from sqlglot import exp

    child, parent = node, node.parent
    arithmetic = False  # an operand of `price * {rate}` can be a bound parameter: a value
    while parent is not None:
        if isinstance(parent, (exp.Where, exp.Having, exp.And, exp.Or, exp.Not)) and child is node:
            return FRAGMENT
        if isinstance(parent, (exp.Ordered, exp.Order, exp.Group, exp.Select, exp.Table,
                               exp.Schema, exp.ColumnDef)):
            return VALUE if arithmetic and not isinstance(parent, (exp.Table, exp.Schema)) else IDENTIFIER
        if isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch, exp.Values, exp.In,
                               exp.Between, exp.Tuple)):
            return VALUE if parent.this is not child or isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch, exp.Values, exp.Tuple)) else IDENTIFIER
        if isinstance(parent, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe, exp.Paren,
                               exp.Cast, exp.Neg)):
            arithmetic = arithmetic or not isinstance(parent, (exp.Paren, exp.Cast))
            child, parent = parent, parent.parent  # arithmetic keeps the operand's role
            continue
        if isinstance(parent, (exp.Binary, exp.Predicate)):
            return VALUE if parent.args.get("expression") is child else IDENTIFIER
        if isinstance(parent, exp.Update):
            return VALUE
        child, parent = parent, parent.parent
    return default


def placement_without_tree(text: str, marker: str, dialect: str) -> str:
    """Where the marker stands when the rebuilt SQL did not parse: when the SQL parses with
    the marker removed, it stood where a keyword may (`ORDER BY created {direction}`);
    inside quotes or right of a comparison it is a value; otherwise a piece of syntax."""
    import re

    from .statements import parse_one

    index = text.find(marker)
    if index < 0:
        return FRAGMENT
    before = text[:index]
    if _inside_quotes(before):
        return VALUE
    without = re.sub(r"\b%s\d*\b" % re.escape(marker.rstrip("0123456789")), "", text)
    tree, _ = parse_one(without, dialect)
    if tree is not None and not is_command(tree):
        return KEYWORD
    if re.search(r"(=|<>|!=|<|>|\bLIKE|\bIN\s*\(|\bLIMIT|\bOFFSET|\bVALUES\s*\(|,)\s*$", before, re.I):
        return VALUE
    return FRAGMENT


def _inside_quotes(before: str) -> bool:
    """Is the end of `before` inside a single-quoted SQL string? ('' escapes count twice.)"""
    return before.count("'") % 2 == 1


def markers_in_strings(text: str, prefix: str, dialect: str) -> set[str]:
    """The markers (words starting with `prefix`) that stand inside quoted SQL strings
    (`'%{term}%'`, `interval '{n} days'`). Asked of the tokens, because sqlglot may
    normalise such literals and lose the marker. One pass over the text."""
    import re

    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    pattern = re.compile(re.escape(prefix) + r"\d+")
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except Exception:  # SqlglotError, or a bug of the tokenizer: fall back to the text
        found = set()
        for match in pattern.finditer(text):
            if _inside_quotes(text[:match.start()]):
                found.add(match.group())
        return found
    kinds = {TokenType.STRING, getattr(TokenType, "NATIONAL_STRING", TokenType.STRING),
             getattr(TokenType, "RAW_STRING", TokenType.STRING),
             getattr(TokenType, "HEREDOC_STRING", TokenType.STRING)}
    return {m for token in tokens if token.token_type in kinds for m in pattern.findall(token.text)}


def is_command(tree) -> bool:
    """sqlglot keeps statements it has no grammar for as raw text (`exp.Command`)."""
    from sqlglot import exp

    return isinstance(tree, exp.Command)


def is_setting(tree) -> bool:
    """SET / PRAGMA: their values cannot be bound parameters in most databases."""
    from sqlglot import exp

    return isinstance(tree, (exp.Set, exp.Pragma))
