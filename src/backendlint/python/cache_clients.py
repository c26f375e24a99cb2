"""Recognising cache clients and their methods from the `cache_clients` knowledge base
(BL501, BL502): which object a method is called on (a redis-py client, Django's
`cache`, a Flask-Caching or aiocache instance), judged from the module's imports and
what the receiver was bound to in the same function, class or module. Nothing is run.

A receiver's kind is known (`bound`) when it is an imported cache object, a name or
`self.` attribute assigned from a known constructor, a pipeline of such a client, or a
parameter annotated with a client type; it is guessed (`named`) when only its name says
`redis`. Callers lower their confidence for guesses."""
from __future__ import annotations

import ast
from dataclasses import dataclass

from .. import knowledge
from . import calls

BOUND, NAMED = "bound", "named"


@dataclass(frozen=True)
class Receiver:
    kind: str  # redis | django | flask_caching | aiocache
    how: str  # BOUND | NAMED
    constructor: ast.Call | None = None  # the call that made the client, when seen


@dataclass(frozen=True)
class Method:
    table: str  # write | delete | expire
    entry: dict
    receiver: Receiver


class CacheKnowledge:
    def __init__(self, base: dict[str, list[dict]]):
        self.clients = base.get("client", [])
        self.constructors: dict[str, dict] = {}
        self.objects: dict[str, dict] = {}
        self.subscript_objects: dict[str, dict] = {}
        self.annotations: dict[str, dict] = {}
        for entry in self.clients:
            for name in entry.get("qualnames", []):
                self.constructors[name] = entry
            for name in entry.get("objects", []):
                self.objects[name] = entry
            for name in entry.get("subscript_objects", []):
                self.subscript_objects[name] = entry
            for name in entry.get("annotations", []):
                self.annotations[name] = entry
        self.methods: dict[tuple[str, str], tuple[str, dict]] = {}
        for table in ("write", "delete", "expire"):
            for entry in base.get(table, []):
                for name in entry.get("names", []):
                    self.methods.setdefault((entry["kind"], name), (table, entry))

    def client(self, kind: str) -> dict:
        return next((e for e in self.clients if e["kind"] == kind), {})

    def names_of(self, table: str, kind: str) -> set[str]:
        return {name for (k, name), (t, _) in self.methods.items() if k == kind and t == table}


@knowledge.cached
def cache_knowledge() -> CacheKnowledge:
    return CacheKnowledge(knowledge.load("cache_clients"))


class ReceiverIndex:
    """Per-module memo of what names and `self.` attributes are bound to."""

    def __init__(self, file) -> None:
        self.file = file
        self._module: dict[str, list[ast.expr]] | None = None

    def _module_bindings(self) -> dict[str, list[ast.expr]]:
        if self._module is None:
            found: dict[str, list[ast.expr]] = {}
            tree = self.file.tree
            if tree is not None:
                for name, value, _ in calls.assignments(tree):
                    found.setdefault(name, []).append(value)
                # `self.x = ...` / `cls.x = ...` anywhere in the module's classes
                for node in self.file.of_type(ast.Assign, ast.AnnAssign, ast.ClassDef):
                    if isinstance(node, (ast.Assign, ast.AnnAssign)):
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        value = node.value
                        if value is None:
                            continue
                        for target in targets:
                            name = calls.dotted(target)
                            if name.startswith(("self.", "cls.")):
                                found.setdefault(name, []).append(value)
                    elif isinstance(node, ast.ClassDef):
                        for statement in node.body:
                            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                                    and isinstance(statement.targets[0], ast.Name):
                                found.setdefault("self." + statement.targets[0].id, []).append(statement.value)
            self._module = found
        return self._module

    def receiver(self, node: ast.AST, scope: ast.AST | None, depth: int = 0) -> Receiver | None:
        kb = cache_knowledge()
        file = self.file
        if depth > 4:
            return None
        name = file.qualname(node)
        if name is not None and name in kb.objects:
            return Receiver(kb.objects[name]["kind"], BOUND)
        if isinstance(node, ast.Subscript):
            owner = file.qualname(node.value)
            if owner in kb.subscript_objects:
                return Receiver(kb.subscript_objects[owner]["kind"], BOUND)
            return None
        if isinstance(node, ast.Call):
            return self._made_by(node, scope, depth)
        if isinstance(node, ast.Await):
            return self.receiver(node.value, scope, depth + 1)
        dotted = calls.dotted(node)
        if not dotted:
            return None
        values: list[ast.expr] = []
        if isinstance(node, ast.Name) and scope is not None:
            annotated = _annotation(scope, node.id)
            if annotated is not None:
                for key in (file.qualname(annotated) or "", calls.dotted(annotated)):
                    if key in kb.annotations or key.rsplit(".", 1)[-1] in kb.annotations:
                        entry = kb.annotations.get(key) or kb.annotations[key.rsplit(".", 1)[-1]]
                        return Receiver(entry["kind"], BOUND)
            values = [v for t, v, _ in calls.assignments(scope) if t == dotted]
        if not values:
            values = self._module_bindings().get(dotted, [])
        for value in values:
            found = self.receiver(value, scope if isinstance(node, ast.Name) else None, depth + 1)
            if found is not None:
                return found
        if values:
            return None  # bound to something else: not a guess
        if "redis" in calls.last_name(node).lower():
            return Receiver("redis", NAMED)
        return None

    def _made_by(self, call: ast.Call, scope, depth: int) -> Receiver | None:
        kb = cache_knowledge()
        name = self.file.qualname(call.func) or ""
        if name in kb.constructors:
            return Receiver(kb.constructors[name]["kind"], BOUND, call)
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr in ("pipeline", "client", "get_client", "master_for"):
                inner = self.receiver(func.value, scope, depth + 1)
                if inner is not None and inner.kind == "redis":
                    return Receiver("redis", inner.how)
            if func.attr == "from_url" and (self.file.qualname(func.value) or "") in kb.constructors:
                entry = kb.constructors[self.file.qualname(func.value)]
                return Receiver(entry["kind"], BOUND, call)
        return None


def _annotation(scope: ast.AST, name: str) -> ast.AST | None:
    args = getattr(scope, "args", None)
    if args is None:
        return None
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        if arg.arg == name and arg.annotation is not None:
            annotation = arg.annotation
            if isinstance(annotation, ast.Subscript):  # Optional[Redis], Annotated[Redis, ...]
                inner = annotation.slice
                annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            return annotation
    return None


def classify_method(file, call: ast.Call, index: ReceiverIndex | None = None,
                    scope: ast.AST | None = None) -> Method | None:
    """The cache method `call` is (write / delete / expire) with its receiver, or None."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    kb = cache_knowledge()
    if not any(name == func.attr for (_, name) in kb.methods):
        return None
    index = index or ReceiverIndex(file)
    receiver = index.receiver(func.value, scope)
    if receiver is None:
        return None
    found = kb.methods.get((receiver.kind, func.attr))
    if found is None:
        return None
    table, entry = found
    return Method(table, entry, receiver)


def forever_values(entry: dict) -> list:
    return [None if value == "None" else value for value in entry.get("forever", [])]
