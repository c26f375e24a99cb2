"""Rebuild the string an expression evaluates to, as constant pieces and holes.

`"SELECT * FROM t WHERE id = " + uid` becomes [Piece("SELECT ... id = "), Hole(uid, "+")].
A hole records *how* it got into the string (f-string, %-format, .format(), concatenation,
join) and where its value came from, which is what the SQL rules judge.

Names are followed with a small flow-sensitive interpreter of the enclosing function
(`python.dataflow`): reassignment, `+=` in loops, branches (a branch whose condition is a
constant is dead), containers with constant keys, allow-list checks, and functions of the
same module that return a built string. No code is ever run: this is arithmetic on the
syntax tree."""
from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, field, replace
from typing import Union

HOW_FSTRING = "f-string"
HOW_PERCENT = "%-formatting"
HOW_FORMAT = ".format()"
HOW_CONCAT = "concatenation"
HOW_JOIN = "str.join()"

MAX_DEPTH = 40
# Calls whose result cannot carry SQL syntax: numbers and booleans.
SAFE_CASTS = {"int", "float", "len", "bool", "abs", "round", "math.floor", "math.ceil",
              "uuid.UUID", "decimal.Decimal", "Decimal", "UUID", "sum", "min", "max", "hash",
              "id", "ord", "uuid.uuid4", "uuid.uuid1", "time.time", "random.randint"}
_NUMERIC_CONVERSIONS = set("diouxXeEfFgGcb")
_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])")
SAFE_MARK = "bl_safe"


@dataclass
class Piece:
    text: str
    node: ast.AST | None = None  # the literal it came from
    is_text: bool = True  # False for numbers (which make `a + b` arithmetic, not a string)
    exact: bool = True  # False when only the kind is known (`int(x)` is some number)


@dataclass
class Hole:
    node: ast.AST
    how: str | None  # None: the expression is opaque, nothing was built
    origin: str = ""  # where the value came from, for messages
    checked: bool = False  # passed an explicit allow-list / format check first

    @property
    def label(self) -> str:
        try:
            return ast.unparse(self.node)
        except Exception:
            return "<expression>"


Part = Union[Piece, Hole]


@dataclass
class Built:
    parts: list[Part] = field(default_factory=list)

    @property
    def holes(self) -> list[Hole]:
        return [p for p in self.parts if isinstance(p, Hole)]

    @property
    def built_holes(self) -> list[Hole]:
        """Holes that string building put there (not a wholly opaque expression)."""
        return [h for h in self.holes if h.how]

    @property
    def is_constant(self) -> bool:
        return not any(isinstance(p, Hole) for p in self.parts)

    @property
    def is_opaque(self) -> bool:
        """Nothing known: one hole that no string building made."""
        return len(self.parts) == 1 and isinstance(self.parts[0], Hole) and not self.parts[0].how

    def text(self, hole_text=lambda index, hole: "") -> str:
        out, index = [], 0
        for part in self.parts:
            if isinstance(part, Piece):
                out.append(part.text)
            else:
                out.append(hole_text(index, part))
                index += 1
        return "".join(out)

    def add(self, other: "Built") -> "Built":
        return Built(self.parts + other.parts)

    def with_how(self, how: str) -> "Built":
        """The value put into a string by `how`: opaque holes become built ones."""
        return Built([replace(p, how=how) if isinstance(p, Hole) and p.how is None else p
                      for p in self.parts])

    def checked(self) -> "Built":
        return Built([replace(p, checked=True) if isinstance(p, Hole) else p for p in self.parts])


def opaque(node: ast.AST, how: str | None = None, origin: str = "") -> Built:
    return Built([Hole(node, how, origin)])


def number(exact_value=None) -> Built:
    if exact_value is None:
        return Built([Piece("0", None, is_text=False, exact=False)])
    return Built([Piece(str(exact_value), None, is_text=False)])


def has_text(built: Built) -> bool:
    return any(isinstance(p, Piece) and p.is_text for p in built.parts)


class StringResolver:
    """Resolves expressions of one module; `file` is a `PythonFile`. `safe_calls` are
    extra qualified names or last names of calls whose result is safe in SQL."""

    def __init__(self, file, safe_calls=(), receivers=None) -> None:
        from .dataflow import Interpreter

        self.file = file
        self.interpreter = Interpreter(file, self, set(safe_calls), receivers or {})

    def resolve(self, node: ast.AST, scope: ast.AST | None = None, depth: int = 0) -> Built:
        """The string `node` evaluates to. `scope` is the enclosing function (or None)."""
        value = self.interpreter.value_at(node, scope)
        return self.interpreter.as_built(value, node)

    def value(self, node: ast.AST, scope: ast.AST | None = None):
        """The abstract value (a `Built` or a `dataflow.Obj`) of `node` where it stands."""
        return self.interpreter.value_at(node, scope)


# -- helpers shared with the interpreter -------------------------------------------------

def percent_format(fmt: str, right: ast.AST, interpolate) -> Built:
    """`fmt % right`; `interpolate(node, numeric)` gives each value's Built."""
    positional = list(right.elts) if isinstance(right, ast.Tuple) else [right]
    mapping = dict_items(right)
    out, pos, last = Built(), 0, 0
    for match in _PERCENT_SPEC.finditer(fmt):
        out.parts.append(Piece(fmt[last:match.start()], None))
        last = match.end()
        conv, key = match.group("conv"), match.group("key")
        if conv == "%":
            out.parts.append(Piece("%", None))
            continue
        if key is not None:
            value = mapping.get(key) if mapping is not None else None
            target = value if value is not None else right
        elif pos < len(positional) and (isinstance(right, ast.Tuple) or pos == 0):
            target = positional[pos]
            pos += 1
        else:
            target = right
        out = out.add(interpolate(target, conv in _NUMERIC_CONVERSIONS))
    out.parts.append(Piece(fmt[last:], None))
    return out


def format_fields(template: str):
    """[(literal, field head, whole field name, spec)] of a str.format template, or None."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None
    out = []
    for literal, field_name, spec, _conversion in fields:
        head = None if field_name is None else re.split(r"[.\[]", field_name, maxsplit=1)[0]
        out.append((literal, head, field_name, spec or ""))
    return out


def is_numeric_spec(spec: str) -> bool:
    return bool(spec) and spec[-1] in _NUMERIC_CONVERSIONS


def repeated_element(iterable: ast.AST) -> ast.AST | None:
    """The element of `[x] * n`, `(x,) * n`, `repeat(x, n)`."""
    if isinstance(iterable, ast.BinOp) and isinstance(iterable.op, ast.Mult):
        for side in (iterable.left, iterable.right):
            if isinstance(side, (ast.List, ast.Tuple)) and len(side.elts) == 1:
                return side.elts[0]
    if isinstance(iterable, ast.Call) and iterable.args and getattr(iterable.func, "id", getattr(
            iterable.func, "attr", None)) == "repeat":
        return iterable.args[0]
    return None


def dict_items(node: ast.AST) -> dict[str, ast.AST] | None:
    if isinstance(node, ast.Dict):
        return {k.value: v for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        return {k.arg: k.value for k in node.keywords if k.arg}
    return None


def constant_spec(spec: ast.AST | None) -> str:
    if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
        return "".join(str(v.value) for v in spec.values)
    return ""


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
