"""Rebuild the string an expression evaluates to, as constant pieces and holes.

`"SELECT * FROM t WHERE id = " + uid` becomes [Piece("SELECT ... id = "), Hole(uid, "+")].
Constants, module-level constants and local variables assigned once (or grown with `+=`)
are followed; anything else is a hole. A hole records *how* it got into the string
(f-string, %-format, .format(), concatenation, join), which is what the SQL rules judge.
No code is ever run: this is arithmetic on the syntax tree."""
from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, field
from typing import Union

HOW_FSTRING = "f-string"
HOW_PERCENT = "%-formatting"
HOW_FORMAT = ".format()"
HOW_CONCAT = "concatenation"
HOW_JOIN = "str.join()"

MAX_DEPTH = 40
# Calls whose result cannot carry SQL syntax: numbers and booleans.
SAFE_CASTS = {"int", "float", "len", "bool", "abs", "round", "math.floor", "math.ceil",
              "uuid.UUID", "decimal.Decimal"}
_NUMERIC_CONVERSIONS = set("diouxXeEfFgG")
_PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])")


@dataclass
class Piece:
    text: str
    node: ast.AST | None = None  # the literal it came from
    is_text: bool = True  # False for numbers (which make `a + b` arithmetic, not a string)


@dataclass
class Hole:
    node: ast.AST
    how: str | None  # None: the expression is opaque, nothing was built
    origin: str = ""  # where the value came from, for messages

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
        return not self.holes

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


def opaque(node: ast.AST, how: str | None = None, origin: str = "") -> Built:
    return Built([Hole(node, how, origin)])


class StringResolver:
    """Resolves expressions of one module; `file` is a `PythonFile`."""

    def __init__(self, file) -> None:
        self.file = file
        self._module_bindings: dict[str, list[ast.AST]] | None = None
        self._function_bindings: dict[int, dict[str, list[ast.AST]]] = {}

    # -- entry point -------------------------------------------------------
    def resolve(self, node: ast.AST, scope: ast.AST | None = None, depth: int = 0) -> Built:
        """The string `node` evaluates to. `scope` is the enclosing function (or None)."""
        if depth > MAX_DEPTH:
            return opaque(node)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return Built([Piece(node.value, node)])
            if _is_number(node.value):
                return Built([Piece(str(node.value), node, is_text=False)])
            return opaque(node)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, scope, depth)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                return self._concat(node, scope, depth)
            if isinstance(node.op, ast.Mod):
                return self._percent(node, scope, depth)
            if isinstance(node.op, ast.Mult):
                return self._repeat(node, scope, depth)
        if isinstance(node, ast.Call):
            return self._call(node, scope, depth)
        if isinstance(node, ast.Name):
            return self._name(node, scope, depth)
        return opaque(node)

    # -- building operations --------------------------------------------------
    def _interpolated(self, value: ast.AST, how: str, scope, depth: int,
                      numeric: bool = False) -> Built:
        """A value put into a string by `how`: its own text when constant, else a hole."""
        if numeric or self._is_safe_cast(value):
            return Built([Piece("0", None, is_text=False)])
        inner = self.resolve(value, scope, depth + 1)
        if inner.is_constant:
            return inner
        parts: list[Part] = []
        for part in inner.parts:
            if isinstance(part, Hole) and part.how is None:
                parts.append(Hole(part.node, how, part.origin))
            else:
                parts.append(part)
        return Built(parts)

    def _fstring(self, node: ast.JoinedStr, scope, depth: int) -> Built:
        out = Built()
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.parts.append(Piece(str(value.value), value))
            elif isinstance(value, ast.FormattedValue):
                spec = _constant_spec(value.format_spec)
                numeric = bool(spec) and spec[-1] in _NUMERIC_CONVERSIONS
                out = out.add(self._interpolated(value.value, HOW_FSTRING, scope, depth, numeric))
            else:
                out.parts.append(Hole(value, HOW_FSTRING))
        return out

    def _concat(self, node: ast.BinOp, scope, depth: int) -> Built:
        # Flatten left-nested chains iteratively: `a + b + c + ...` thousands long must
        # not hit the recursion limit.
        operands: list[ast.AST] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            operands.append(current.right)
            current = current.left
        operands.append(current)
        operands.reverse()
        resolved = [self.resolve(op, scope, depth + 1) if not isinstance(op, ast.BinOp)
                    or not isinstance(op.op, ast.Add) else opaque(op) for op in operands]
        if not any(_has_text(b) for b in resolved):
            return opaque(node)  # numbers or unknowns added: not a string we can see
        out = Built()
        for op, built in zip(operands, resolved):
            if self._is_safe_cast(op):
                out.parts.append(Piece("0", None, is_text=False))
                continue
            for part in built.parts:
                if isinstance(part, Hole) and part.how is None:
                    out.parts.append(Hole(part.node, HOW_CONCAT, part.origin))
                else:
                    out.parts.append(part)
        return out

    def _percent(self, node: ast.BinOp, scope, depth: int) -> Built:
        template = self.resolve(node.left, scope, depth + 1)
        if not template.is_constant:
            return opaque(node)
        fmt = template.text()
        right = node.right
        positional = list(right.elts) if isinstance(right, ast.Tuple) else [right]
        mapping = _dict_items(right)
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
            out = out.add(self._interpolated(target, HOW_PERCENT, scope, depth,
                                             numeric=conv in _NUMERIC_CONVERSIONS))
        out.parts.append(Piece(fmt[last:], None))
        return out

    def _format_call(self, node: ast.Call, template: str, scope, depth: int) -> Built:
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        out, auto = Built(), 0
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return opaque(node, HOW_FORMAT)
        for literal, field_name, spec, _conversion in fields:
            if literal:
                out.parts.append(Piece(literal, None))
            if field_name is None:
                continue
            head = re.split(r"[.\[]", field_name, maxsplit=1)[0]
            target: ast.AST | None
            if head == "":
                target = node.args[auto] if auto < len(node.args) else None
                auto += 1
            elif head.isdigit():
                index = int(head)
                target = node.args[index] if index < len(node.args) else None
            else:
                target = keywords.get(head)
            if target is None or isinstance(target, ast.Starred):
                out.parts.append(Hole(node, HOW_FORMAT))
                continue
            numeric = bool(spec) and spec[-1] in _NUMERIC_CONVERSIONS
            if head != field_name:  # attribute or index of the argument: not a constant
                out.parts.append(Hole(target, HOW_FORMAT))
            else:
                out = out.add(self._interpolated(target, HOW_FORMAT, scope, depth, numeric))
        return out

    def _repeat(self, node: ast.BinOp, scope, depth: int) -> Built:
        for text_side, count_side in ((node.left, node.right), (node.right, node.left)):
            built = self.resolve(text_side, scope, depth + 1)
            if _has_text(built) and built.is_constant:
                # `"?, " * n`: two copies show the shape without knowing n.
                return Built([Piece(built.text() * 2, None)])
        return opaque(node)

    def _call(self, node: ast.Call, scope, depth: int) -> Built:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "format":
            template = self.resolve(func.value, scope, depth + 1)
            if template.is_constant and _has_text(template):
                return self._format_call(node, template.text(), scope, depth)
        if isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1:
            separator = self.resolve(func.value, scope, depth + 1)
            if separator.is_constant and _has_text(separator):
                return self._join(node, separator.text(), node.args[0], scope, depth)
        if isinstance(func, ast.Attribute) and func.attr in ("strip", "lstrip", "rstrip",
                                                             "upper", "lower") and not node.args:
            inner = self.resolve(func.value, scope, depth + 1)
            if inner.is_constant and _has_text(inner):
                return Built([Piece(getattr(inner.text(), func.attr)(), None)])
        return opaque(node)

    def _join(self, node: ast.Call, separator: str, iterable: ast.AST, scope, depth: int) -> Built:
        element = _repeated_element(iterable)
        if element is not None:
            built = self.resolve(element, scope, depth + 1)
            if built.is_constant:  # a placeholder list: the values are still bound
                return Built([Piece(separator.join([built.text()] * 2), None)])
            return Built([Hole(node, HOW_JOIN)])
        if isinstance(iterable, (ast.List, ast.Tuple)):
            out = Built()
            for i, elt in enumerate(iterable.elts):
                if i:
                    out.parts.append(Piece(separator, None))
                out = out.add(self._interpolated(elt, HOW_JOIN, scope, depth))
            return out
        if isinstance(iterable, ast.Constant) and isinstance(iterable.value, str):
            return Built([Piece(separator.join(iterable.value), None)])
        if isinstance(iterable, ast.BinOp) and isinstance(iterable.op, ast.Mult):
            text = self._repeat(iterable, scope, depth)
            if text.is_constant:  # `",".join("?" * n)` joins the characters
                return Built([Piece(separator.join(text.text()), None)])
        return Built([Hole(node, HOW_JOIN)])

    # -- names -------------------------------------------------------------
    def _name(self, node: ast.Name, scope, depth: int) -> Built:
        for where in ([scope, None] if scope is not None else [None]):
            found = self._bindings(where).get(node.id)
            if found:  # a name bound in the function is local there (no `global` tracking)
                return self._from_bindings(node, found, where, depth)
        return opaque(node)

    def _from_bindings(self, use: ast.Name, bindings: list[ast.AST], scope, depth: int) -> Built:
        line = use.lineno
        before = [b for b in bindings if getattr(b, "lineno", 0) < line] or bindings
        if any(isinstance(b, ast.arg) for b in before):
            return opaque(use, None, f"parameter `{use.id}`")
        values = [b for b in before if isinstance(b, (ast.Assign, ast.AnnAssign, ast.AugAssign))]
        if len(values) != len(before) or not values:
            first = before[0]
            return opaque(use, None, f"`{use.id}` on line {getattr(first, 'lineno', '?')}")
        # The first plain assignment, then every `+=` after it: a loop or branch may skip
        # some of them, but a string that may contain a value is still a built string.
        plain = [b for b in values if not isinstance(b, ast.AugAssign)]
        result: Built | None = None
        for binding in values:
            if isinstance(binding, ast.AugAssign):
                if result is None or not isinstance(binding.op, ast.Add):
                    return opaque(use, None, f"`{use.id}` on line {binding.lineno}")
                result = result.add(self._interpolated(binding.value, HOW_CONCAT, scope, depth))
            elif binding.value is None:
                return opaque(use)
            else:
                value = self.resolve(binding.value, scope, depth + 1)
                if len(plain) > 1 and result is not None:
                    # Reassigned (branches): keep the variant that carries a value.
                    if not result.built_holes:
                        result = value
                    continue
                result = value
        if result is None:
            return opaque(use)
        return Built([Hole(p.node, p.how, p.origin or f"`{use.id}` on line {before[0].lineno}")
                      if isinstance(p, Hole) else p for p in result.parts])

    def _bindings(self, scope: ast.AST | None) -> dict[str, list[ast.AST]]:
        if scope is None:
            if self._module_bindings is None:
                self._module_bindings = _collect_bindings(self.file.tree.body if self.file.tree else [], None)
            return self._module_bindings
        key = id(scope)
        if key not in self._function_bindings:
            self._function_bindings[key] = _collect_bindings(scope.body, scope)
        return self._function_bindings[key]

    def _is_safe_cast(self, node: ast.AST) -> bool:
        return (isinstance(node, ast.Call) and self.file.qualname(node.func) in SAFE_CASTS) or (
            isinstance(node, ast.Constant) and _is_number(node.value))


def _collect_bindings(body: list[ast.stmt], function) -> dict[str, list[ast.AST]]:
    """Every place a name is bound in a function body (not in nested functions or
    classes), or at module level; parameters included."""
    found: dict[str, list[ast.AST]] = {}

    def add(name: str, node: ast.AST) -> None:
        found.setdefault(name, []).append(node)

    if function is not None:
        args = function.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None:
                add(arg.arg, arg)
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name, node)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    add(target.id, node)
                else:
                    _bind_targets(target, node, add)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            add(node.target.id, node)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            _bind_targets(node.target, node, add)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    _bind_targets(item.optional_vars, node, add)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            add(node.target.id, node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                add((alias.asname or alias.name).split(".")[0], node)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            add(node.name, node)
        children = list(ast.iter_child_nodes(node))
        children.reverse()
        stack.extend(children)
    for nodes in found.values():
        nodes.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    return found


def _bind_targets(target: ast.AST, node: ast.AST, add) -> None:
    for sub in ast.walk(target):
        if isinstance(sub, ast.Name):
            add(sub.id, node if not isinstance(node, ast.Assign) else _Opaque(node))


class _Opaque(ast.AST):
    """A binding whose value is not simply the assigned expression (tuple unpacking)."""

    def __init__(self, node: ast.AST):
        super().__init__()
        self.lineno = node.lineno
        self.col_offset = node.col_offset


def _repeated_element(iterable: ast.AST) -> ast.AST | None:
    """The element of `[x] * n`, `[x for _ in ...]`, `(x for _ in ...)`, `repeat(x, n)`."""
    if isinstance(iterable, ast.BinOp) and isinstance(iterable.op, ast.Mult):
        for side in (iterable.left, iterable.right):
            if isinstance(side, (ast.List, ast.Tuple)) and len(side.elts) == 1:
                return side.elts[0]
    if isinstance(iterable, (ast.ListComp, ast.GeneratorExp)):
        return iterable.elt
    if isinstance(iterable, ast.Call) and iterable.args and getattr(iterable.func, "id", getattr(
            iterable.func, "attr", None)) == "repeat":
        return iterable.args[0]
    return None


def _dict_items(node: ast.AST) -> dict[str, ast.AST] | None:
    if isinstance(node, ast.Dict):
        return {k.value: v for k, v in zip(node.keys, node.values)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        return {k.arg: k.value for k in node.keywords if k.arg}
    return None


def _constant_spec(spec: ast.AST | None) -> str:
    if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
        return "".join(str(v.value) for v in spec.values)
    return ""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_text(built: Built) -> bool:
    return any(isinstance(p, Piece) and p.is_text for p in built.parts)
