"""Small helpers shared by the Python fact extractors (no extractor here)."""
from __future__ import annotations

import ast


def module_name(relpath: str) -> str:
    """Dotted module path of a file: "shop/models/__init__.py" -> "shop.models"."""
    path = relpath[:-3] if relpath.endswith(".py") else relpath
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def const(node):
    """The value of a constant expression: strings, numbers, booleans, None, and tuples or
    lists of those; `...` (Ellipsis) when it is not constant."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [const(e) for e in node.elts]
        return ... if any(v is ... for v in values) else tuple(values)
    return ...


def const_str(node) -> str | None:
    value = const(node)
    return value if isinstance(value, str) else None


def strings(node) -> tuple[str, ...] | None:
    value = const(node)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return value
    return None


def keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def kw_true(call: ast.Call, name: str) -> bool:
    node = keyword(call, name)
    return node is not None and const(node) is True


def last_name(node) -> str:
    """`models.CharField` -> "CharField"; `Column` -> "Column"."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return last_name(node.func)
    return ""


def snake_case(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def each_statement(statement):
    """The statements of a SqlStatement: itself, or — for an embedded string holding
    several (`executescript("CREATE TABLE ...; CREATE INDEX ...;")`) — each of them, since
    the engine parses only the first statement of an embedded string."""
    if not statement.embedded or statement.tree is None or ";" not in statement.text.strip().rstrip(";"):
        return [statement]
    from ..sql.statements import SqlStatement, parse_one, split_statements

    spans = split_statements(statement.text, "postgres")
    if len(spans) < 2:
        return [statement]
    out = []
    for start, end in spans:
        chunk = statement.text[start:end]
        tree, error = parse_one(chunk, "postgres")
        if tree is None:
            continue
        locate = (lambda s, e, base=start: statement.locate_offsets(base + s, base + e))
        out.append(SqlStatement(chunk, tree, locate, locate(0, len(chunk.rstrip())), embedded=True,
                                confidence_cap=statement.confidence_cap, error=error))
    return out or [statement]
