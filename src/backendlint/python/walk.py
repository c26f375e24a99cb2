"""One walk over a module's `ast` for all active rules, dispatching by node type name.

Iterative (no recursion limit on deeply nested expressions); keeps the ancestor stack
on the `PythonFile` so that visitors can ask where they are."""
from __future__ import annotations

import ast
from collections import defaultdict
from typing import Callable

Handler = Callable[[ast.AST], None]
ErrorHook = Callable[[object, BaseException, ast.AST], None]

_AST = ast.AST
# Per node class, the fields that can hold child nodes, last first (for pushing on a stack).
# `ctx` is left out: Load/Store/Del are a third of all nodes, shared singletons no rule
# visits, and `ast.iter_child_nodes` (a generator over `iter_fields`) was half the walk.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


_CHILD_FIELDS_FORWARD: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS[cls] = tuple(reversed([f for f in cls._fields if f != "ctx"]))
    return fields


def child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold child nodes, in order (no `ctx`)."""
    fields = _CHILD_FIELDS_FORWARD.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS_FORWARD[cls] = tuple(f for f in cls._fields if f != "ctx")
    return fields


def children_reversed(node: ast.AST) -> list[ast.AST]:
    """The node's children, last first: `reversed(list(ast.iter_child_nodes(node)))`
    without the expression contexts."""
    out: list[ast.AST] = []
    cls = node.__class__
    fields = _CHILD_FIELDS.get(cls) or _child_fields(cls)
    for name in fields:
        value = getattr(node, name, None)
        if value.__class__ is list:
            for child in reversed(value):
                if isinstance(child, _AST):
                    out.append(child)
        elif isinstance(value, _AST):
            out.append(value)
    return out


def build_dispatch(visitors: list[object]) -> tuple[dict[type, list], dict[type, list]]:
    """Map node classes to the bound `visit_X` / `leave_X` methods of the visitors."""
    enter: dict[type, list] = defaultdict(list)
    leave: dict[type, list] = defaultdict(list)
    for visitor in visitors:
        for attr in dir(type(visitor)):
            if attr.startswith(("visit_", "leave_")):
                node_class = getattr(ast, attr[6:], None)
                if not (isinstance(node_class, type) and issubclass(node_class, ast.AST)):
                    continue
                table = enter if attr.startswith("visit_") else leave
                table[node_class].append((visitor, getattr(visitor, attr)))
    return dict(enter), dict(leave)


def walk(tree: ast.AST, ancestors: list[ast.AST], enter: dict, leave: dict,
         on_error: ErrorHook) -> None:
    """Depth-first, in source order. A visitor that raises is dropped for the rest of the
    walk and reported through `on_error`; the others go on."""
    failed: set[int] = set()
    leave_marker = None  # never a node
    stack: list = [tree]
    fields_of = _CHILD_FIELDS
    enter_get, leave_get = enter.get, leave.get
    push, pop = stack.append, stack.pop
    while stack:
        item = pop()
        if item is leave_marker:
            node = ancestors.pop()
            handlers = leave_get(node.__class__)
            if handlers:
                _call(handlers, node, failed, on_error)
            continue
        cls = item.__class__
        handlers = enter_get(cls)
        if handlers:
            _call(handlers, item, failed, on_error)
        ancestors.append(item)
        push(leave_marker)
        # Inlined `children_reversed`: this loop runs once per node of every file.
        for name in fields_of.get(cls) or _child_fields(cls):
            value = getattr(item, name, None)
            if value.__class__ is list:
                for child in reversed(value):
                    if isinstance(child, _AST):
                        push(child)
            elif isinstance(value, _AST):
                push(value)


def _call(handlers, node, failed, on_error) -> None:
    for visitor, method in handlers:
        if failed and id(visitor) in failed:
            continue
        try:
            method(node)
        except Exception as exc:  # a rule bug must not stop the other rules
            failed.add(id(visitor))
            on_error(visitor, exc, node)
