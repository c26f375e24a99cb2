"""One walk over a module's `ast` for all active rules, dispatching by node type name.

Iterative (no recursion limit on deeply nested expressions); keeps the ancestor stack
on the `PythonFile` so that visitors can ask where they are."""
from __future__ import annotations

import ast
from collections import defaultdict
from typing import Callable

Handler = Callable[[ast.AST], None]
ErrorHook = Callable[[object, BaseException, ast.AST], None]


def build_dispatch(visitors: list[object]) -> tuple[dict[str, list], dict[str, list]]:
    """Map node type names to the bound `visit_X` / `leave_X` methods of the visitors."""
    enter: dict[str, list] = defaultdict(list)
    leave: dict[str, list] = defaultdict(list)
    for visitor in visitors:
        for attr in dir(type(visitor)):
            if attr.startswith("visit_"):
                enter[attr[6:]].append((visitor, getattr(visitor, attr)))
            elif attr.startswith("leave_"):
                leave[attr[6:]].append((visitor, getattr(visitor, attr)))
    return dict(enter), dict(leave)


def walk(tree: ast.AST, ancestors: list[ast.AST], enter: dict, leave: dict,
         on_error: ErrorHook) -> None:
    """Depth-first, in source order. A visitor that raises is dropped for the rest of the
    walk and reported through `on_error`; the others go on."""
    failed: set[int] = set()
    _LEAVE = object()
    stack: list = [tree]
    iter_children = ast.iter_child_nodes
    while stack:
        item = stack.pop()
        if item is _LEAVE:
            node = ancestors.pop()
            handlers = leave.get(type(node).__name__)
            if handlers:
                _call(handlers, node, failed, on_error)
            continue
        handlers = enter.get(type(item).__name__)
        if handlers:
            _call(handlers, item, failed, on_error)
        ancestors.append(item)
        stack.append(_LEAVE)
        children = list(iter_children(item))
        children.reverse()
        stack.extend(children)


def _call(handlers, node, failed, on_error) -> None:
    for visitor, method in handlers:
        if id(visitor) in failed:
            continue
        try:
            method(node)
        except Exception as exc:  # a rule bug must not stop the other rules
            failed.add(id(visitor))
            on_error(visitor, exc, node)
