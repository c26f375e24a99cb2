"""Small syntax helpers shared by the transport and cache rules (BL301-BL304, BL501-BL504):
keyword-argument lookup, constant evaluation of literals, the constant text of strings
built with f-strings or `+`, and what a name was bound to in a module or function.

Everything is arithmetic on the syntax tree; nothing is imported or run."""
from __future__ import annotations

import ast
from typing import Any, Iterator

from .walk import children_reversed

MISSING = object()  # "not a constant" (None is a constant)


def keyword(call: ast.Call, *names: str) -> ast.expr | None:
    """The value of the first keyword argument among `names`, or None."""
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    return None


def has_keyword(call: ast.Call, *names: str) -> bool:
    return any(kw.arg in names for kw in call.keywords)


def has_star_kwargs(call: ast.Call) -> bool:
    """`f(**options)`: any keyword may be hidden in there."""
    return any(kw.arg is None for kw in call.keywords)


def argument(call: ast.Call, position: int | None, *names: str) -> ast.expr | None:
    """The argument at `position` (0-based) or passed as one of `names`; None when absent
    or hidden behind a `*args` that comes first."""
    value = keyword(call, *names)
    if value is not None:
        return value
    if position is None or len(call.args) <= position:
        return None
    if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return None
    return call.args[position]


def constant(node: ast.AST | None) -> Any:
    """The Python value of a literal (numbers, strings, bools, None, tuples, lists, sets,
    dicts of literals, unary minus / not); `MISSING` for anything else."""
    if node is None:
        return MISSING
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        inner = constant(node.operand)
        if inner is MISSING:
            return MISSING
        try:
            if isinstance(node.op, ast.USub):
                return -inner
            if isinstance(node.op, ast.Not):
                return not inner
        except TypeError:
            return MISSING
        return MISSING
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [constant(e) for e in node.elts]
        if any(i is MISSING for i in items):
            return MISSING
        return tuple(items) if isinstance(node, ast.Tuple) else list(items)
    if isinstance(node, ast.Dict):
        out = {}
        for key, value in zip(node.keys, node.values):
            k, v = constant(key), constant(value)
            if k is MISSING or v is MISSING or isinstance(k, (list, dict)):
                return MISSING
            out[k] = v
        return out
    return MISSING


def is_false(node: ast.AST | None) -> bool:
    """The literal False (or 0)."""
    value = constant(node)
    return value is False or (type(value) is int and value == 0)


def is_true(node: ast.AST | None) -> bool:
    """The literal True (or 1)."""
    value = constant(node)
    return value is True or (type(value) is int and value == 1)


def str_constant(node: ast.AST | None) -> str | None:
    value = constant(node)
    return value if isinstance(value, str) else None


def string_pieces(node: ast.AST | None) -> list[str | None] | None:
    """The parts of a string expression: constant text as str, unknown values as None.
    Handles literals, f-strings, `+` concatenation and `"..." % x` / `"...".format()`
    templates (whose fields become None). None when `node` is not a string expression."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        out: list[str | None] = []
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                out.append(part.value)
            else:
                out.append(None)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = string_pieces(node.left), string_pieces(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else [None]) + (right if right is not None else [None])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template = str_constant(node.left)
        if template is None:
            return None
        return _split_template(template, "%")
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        template = str_constant(node.func.value)
        if template is None:
            return None
        return _split_template(template, "{")
    return None


def _split_template(template: str, marker: str) -> list[str | None]:
    import re

    pattern = r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]" if marker == "%" else r"\{[^{}]*\}"
    out: list[str | None] = []
    position = 0
    for match in re.finditer(pattern, template):
        if match.group(0) == "%%":
            continue
        out.append(template[position:match.start()])
        out.append(None)
        position = match.end()
    out.append(template[position:])
    return out


def constant_prefix(node: ast.AST | None) -> str | None:
    """The constant text a string expression starts with (None when it starts with an
    unknown value or is not a string expression)."""
    pieces = string_pieces(node)
    if not pieces:
        return None
    prefix = ""
    for piece in pieces:
        if piece is None:
            break
        prefix += piece
    return prefix if pieces[0] is not None else None


def constant_text(node: ast.AST | None) -> str | None:
    """All the constant text of a string expression joined (unknown parts dropped)."""
    pieces = string_pieces(node)
    if pieces is None:
        return None
    return "".join(p for p in pieces if p is not None)


def dotted(node: ast.AST | None) -> str:
    """`a.b.c` for a Name/Attribute chain, unresolved ('' otherwise)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def last_name(node: ast.AST | None) -> str:
    """The last identifier of a Name/Attribute (`self.redis` -> `redis`), '' otherwise."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def target_names(target: ast.AST) -> Iterator[str]:
    """The dotted names an assignment target binds (`x`, `self.client`, `a, b`)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from target_names(element)
    else:
        name = dotted(target)
        if name:
            yield name


def assignments(tree: ast.AST) -> Iterator[tuple[str, ast.expr, ast.AST]]:
    """(target dotted name, value, statement) for every `=` / annotated assignment with a
    value under `tree` (not descending into nested functions or classes)."""
    for node in walk_shallow(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in target_names(target):
                    yield name, node.value, node
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            for name in target_names(node.target):
                yield name, node.value, node
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    for name in target_names(item.optional_vars):
                        yield name, item.context_expr, node


def walk_shallow(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node under `tree` except the insides of nested functions, lambdas and classes
    (the nested definition node itself is yielded)."""
    # Children are pushed last first, so they pop in source order (Load/Store contexts,
    # which no caller wants, are not yielded).
    stack = children_reversed(tree)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(children_reversed(node))


def calls_in(tree: ast.AST, shallow: bool = True) -> Iterator[ast.Call]:
    nodes = walk_shallow(tree) if shallow else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Call):
            yield node


def inside_conditional(ancestors: list[ast.AST], stop_at_function: bool = True) -> ast.AST | None:
    """The innermost `if` / conditional expression / `try` handler enclosing the node whose
    ancestors these are (within its function), or None."""
    for node in reversed(ancestors):
        if isinstance(node, (ast.If, ast.IfExp, ast.ExceptHandler, ast.While)):
            return node
        if stop_at_function and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return None
    return None


def parse_example(text: str, relpath: str = "example.py"):
    """A `PythonFile` for a small module with its import table filled (knowledge tests)."""
    from pathlib import Path

    from .context import PythonFile

    file = PythonFile(Path(relpath), relpath, text)
    file.tree = ast.parse(text)
    for node in ast.walk(file.tree):
        if isinstance(node, ast.Import):
            file.names.visit_Import(node)
        elif isinstance(node, ast.ImportFrom):
            file.names.visit_ImportFrom(node)
    return file


def bound_value(tree: ast.Module | None, name: str, scope: ast.AST | None) -> ast.expr | None:
    """The value a plain name is bound to: its only assignment in `scope` (a function), else
    its only assignment at module level; None when unbound, rebound, or a parameter."""
    if scope is not None:
        args = getattr(scope, "args", None)
        if args is not None and name in {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs}:
            return None
        found = [value for target, value, _ in assignments(scope) if target == name]
        if len(found) == 1:
            return found[0]
        if found:
            return None
    if tree is None:
        return None
    found = [value for target, value, _ in assignments(tree) if target == name]
    return found[0] if len(found) == 1 else None


def resolve(tree: ast.Module | None, node: ast.AST | None, scope: ast.AST | None,
            depth: int = 3) -> ast.AST | None:
    """Follow a plain name to the expression it was bound to (a few hops)."""
    while depth > 0 and isinstance(node, ast.Name):
        value = bound_value(tree, node.id, scope)
        if value is None:
            return node
        node, depth = value, depth - 1
    return node


def option_switch(ancestors: list[ast.AST], words: tuple[str, ...]) -> ast.If | None:
    """The enclosing `if` (within the function) that implements an option: its test reads a
    name or attribute containing one of `words` (`if not verify:`, `if self.verify_tls:`,
    `if allow_all_origins:`). Code there is a library or helper honouring its caller's
    choice, not a choice of its own."""
    function = None
    for node in reversed(ancestors):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            function = node
            break
    for node in reversed(ancestors):
        if node is function:
            break
        if not isinstance(node, (ast.If, ast.IfExp)):
            continue
        for inner in ast.walk(node.test):
            identifier = inner.id if isinstance(inner, ast.Name) else (
                inner.attr if isinstance(inner, ast.Attribute) else None)
            if identifier is None:
                continue
            if any(w in identifier.lower() for w in words):
                return node
    return None
