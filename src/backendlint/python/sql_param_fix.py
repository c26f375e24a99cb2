"""The BL101 autofix: turn `cur.execute(f"... id = {uid}")` into
`cur.execute("... id = ?", (uid,))`, in the paramstyle of the module's database driver.

It applies only when nothing can change for the worse: the driver is known from the
module's imports (exactly one DB-API driver), the SQL is the call's only argument and is
built right there (f-string, `%`, `.format()` or `+`), every interpolated value lands in a
value position (never an identifier or a piece of syntax), a quoted value is quoted by
the interpolation alone (`'{name}'`, not `'%{name}%'`), and the rebuilt SQL parses."""
from __future__ import annotations

import ast
import re

from ..sql import placement as where
from ..sql.statements import parse_one
from .embedded import HOLE_MARK

# DB-API paramstyle by driver module (PEP 249).
DRIVER_STYLE = {"sqlite3": "qmark", "aiosqlite": "qmark", "psycopg2": "format",
                "psycopg": "format", "pymysql": "format", "MySQLdb": "format",
                "mysql.connector": "format", "asyncpg": "numeric"}
_METHODS = {"execute", "fetch", "fetchrow", "fetchval"}


def driver_style(tree: ast.Module) -> str | None:
    styles = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            for driver, style in DRIVER_STYLE.items():
                if name == driver or name.startswith(driver + "."):
                    styles.add(style)
    return styles.pop() if len(styles) == 1 else None


def parameterise(source: str, findings, file) -> str | None:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    style = driver_style(file.tree)
    if style is None:
        return None
    wanted = {(f.location.line, f.location.column - 1) for f in findings}
    rewrites = _plan(file, style, wanted)
    if not rewrites:
        return None
    wrapper = MetadataWrapper(cst.parse_module(source))
    positions = wrapper.resolve(PositionProvider)

    class Rewrite(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if len(original.args) != 1:
                return updated
            start = positions[original.args[0].value].start
            plan = rewrites.get((start.line, start.column))
            if plan is None:
                return updated
            text, params = plan
            literal = cst.SimpleString(_literal(text))
            first = updated.args[0]
            params_arg = cst.Arg(
                cst.parse_expression(f"({params[0]},)" if len(params) == 1 else f"({', '.join(params)})"),
                comma=first.comma,  # a trailing comma, comments and line breaks stay where they were
                whitespace_after_arg=first.whitespace_after_arg)
            args = [first.with_changes(value=literal, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                                       whitespace_after_arg=cst.SimpleWhitespace("")), params_arg]
            return updated.with_changes(args=args)

    return wrapper.module.visit(Rewrite()).code


def _plan(file, style: str, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[str, list[str]]]:
    """{(line, 0-based column) of the SQL argument: (new SQL, parameter expressions)}."""
    plans = {}
    for call in ast.walk(file.tree):
        if not isinstance(call, ast.Call) or len(call.args) != 1 or call.keywords \
                or not isinstance(call.func, ast.Attribute) or call.func.attr not in _METHODS:
            continue
        query = call.args[0]
        key = (query.lineno, file.char_column(query.lineno, query.col_offset) - 1)
        if key not in wanted:
            continue
        parts = _split(query)
        plan = _rebuild(parts, style, file) if parts else None
        if plan is not None:
            plans[key] = plan
    return plans


def _split(node: ast.AST) -> list | None:
    """The string the expression builds, as written: text and interpolated expressions,
    from the expression alone (no variables followed). None for anything unusual."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out: list = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.conversion == -1 and value.format_spec is None:
                out.append(value.value)
            else:
                return None
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _split(node.left), _split(node.right)
        left = left if left is not None else [node.left]
        right = right if right is not None else [node.right]
        return left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
            and isinstance(node.left.value, str):
        values = list(node.right.elts) if isinstance(node.right, ast.Tuple) else [node.right]
        out, last = [], 0
        template = node.left.value
        for match in _PERCENT.finditer(template):
            out.append(template[last:match.start()])
            last = match.end()
            if match.group(0) == "%%":
                out.append("%")
            elif values:
                out.append(values.pop(0))
            else:
                return None
        if values:
            return None
        out.append(template[last:])
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
            and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str) \
            and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
        import string

        out, auto = [], 0
        try:
            fields = list(string.Formatter().parse(node.func.value.value))
        except ValueError:
            return None
        for literal, name, spec, conversion in fields:
            out.append(literal)
            if name is None:
                continue
            if spec or conversion or (name and not name.isdigit()):
                return None
            index = int(name) if name else auto
            auto += 1
            if index >= len(node.args):
                return None
            out.append(node.args[index])
        return out
    return None


_PERCENT = re.compile(r"%%|%[sd]")


def _rebuild(parts: list, style: str, file) -> tuple[str, list[str]] | None:
    holes = [p for p in parts if not isinstance(p, str)]
    if not holes:
        return None
    marked, index = [], 0
    for part in parts:
        if isinstance(part, str):
            marked.append(part)
        else:
            marked.append(f"{HOLE_MARK}{index}")
            index += 1
    tree, _ = parse_one("".join(marked), "postgres")
    if tree is None:
        return None
    quoted = []
    for index in range(len(holes)):
        marker = f"{HOLE_MARK}{index}"
        if where.placement(tree, marker) != where.VALUE:
            return None
        alone = _quoted_alone(tree, marker)
        if alone is None:
            return None  # '%{term}%' and the like: the value is part of a longer literal
        quoted.append(alone)
    texts = [p if isinstance(p, str) else None for p in parts]
    out, params, number = [], [], 0
    for index, part in enumerate(parts):
        if isinstance(part, str):
            text = texts[index]
            out.append(text.replace("%", "%%") if style == "format" else text)
            continue
        if quoted[number]:
            following = texts[index + 1] if index + 1 < len(texts) else None
            if not (out and out[-1].endswith("'")) or not (following or "").startswith("'"):
                return None
            out[-1] = out[-1][:-1]
            texts[index + 1] = following[1:]
        expression = file.source_segment(part)
        if not expression or "\n" in expression:
            return None
        number += 1
        params.append(expression)
        out.append({"qmark": "?", "format": "%s", "numeric": f"${number}"}[style])
    return "".join(out), params


def _quoted_alone(tree, marker: str) -> bool | None:
    """True when the marker is a whole quoted literal ('marker'), False when it stands
    unquoted, None when it is only part of a literal."""
    from sqlglot import exp

    for node in tree.walk():
        if isinstance(node, exp.Literal) and node.is_string and marker in str(node.this):
            return True if str(node.this) == marker else None
    return False


def _literal(text: str) -> str:
    body = text.replace("\\", "\\\\")
    if "\n" in text:
        return '"""' + body.replace('"""', '\\"\\"\\"') + '"""'
    return '"' + body.replace('"', '\\"') + '"'
