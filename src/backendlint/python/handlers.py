"""Request handlers and the functions of one module, as the per-file heuristic rules
(BL111, BL213, BL214) need them: which functions serve requests, which are CLI commands
or scripts, which module functions each one calls, and what each one contains.

A request handler is recognised by syntax (nothing is imported or run):
- a function decorated by a route decorator (`@app.route`, `@app.get`, `@router.post`,
  `@bp.route`, ...) — see `web_ast.route_decorator`;
- a method named for an HTTP verb (or a DRF viewset action) of a view class (`View`,
  `APIView`, `MethodView`, `HTTPEndpoint`, ... subclasses);
- a DRF `@api_view` function;
- a Django function view: first parameter `request`, in a module that imports Django or
  is named `views.py` (or lives in a `views/` package);
- a function registered by name with Starlette's `Route(path, endpoint)`, Flask's
  `add_url_rule(..., view_func=f)` or FastAPI's `add_api_route(path, f)`.
Functions a handler uses as FastAPI dependencies (`Depends(get_db)`) run once per request
too: `dependencies()` lists them.

The index is built once per file, on first use (from a rule's `finish()`), with one walk.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from . import web_ast
from .walk import children_reversed

FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_CLI_DECORATORS = {"command", "group", "cli_command", "manager_command", "callback"}
_SCRIPT_DIRS = {"scripts", "script", "bin", "tools", "migrations", "alembic", "versions",
                "management", "commands", "seeds", "seed", "docs",
                "benchmarks", "bench"}
_TEST_DIRS = {"tests", "test", "testing"}


@dataclass
class FunctionInfo:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: ast.ClassDef | None = None
    parent: ast.AST | None = None  # the enclosing function, for nested functions
    handler: web_ast.Handler | None = None
    path: str | None = None  # the route path declared on it, when there is one
    calls: list[ast.Call] = field(default_factory=list)  # its own calls (not nested defs)
    nodes: list[ast.AST] = field(default_factory=list)  # its own nodes
    callees: list["FunctionInfo"] = field(default_factory=list)
    callers: list["FunctionInfo"] = field(default_factory=list)
    called_in_loop: bool = False  # called by name inside a loop somewhere in the module
    loop_sites: list = field(default_factory=list)  # (call, loop node) of those calls
    called_at_module_level: bool = False  # `client = get_client()` at import time
    called_from_main: bool = False  # called from `if __name__ == "__main__":` or main()
    dependency: bool = False  # used as `Depends(...)` of a handler

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def is_handler(self) -> bool:
        return self.handler is not None

    @property
    def methods(self) -> tuple[str, ...]:
        return self.handler.methods if self.handler is not None else ()


class ModuleIndex:
    def __init__(self, file) -> None:
        self.file = file
        tree = file.tree
        self.functions: list[FunctionInfo] = []
        self.by_node: dict[int, FunctionInfo] = {}
        self.module_functions: dict[str, FunctionInfo] = {}
        self.class_methods: dict[int, dict[str, FunctionInfo]] = {}
        self.main_calls: list[ast.Call] = []  # calls under `if __name__ == "__main__":`
        self.route_refs: set[str] = set()  # function names registered as endpoints
        self.nested: dict[tuple[int, str], FunctionInfo] = {}
        if tree is None:
            return
        self._collect(tree)
        self._handlers()
        self._link()

    # -- collection ---------------------------------------------------------------------
    def _collect(self, tree: ast.Module) -> None:
        # (node, enclosing class, enclosing function info, in loop, under main guard)
        # (node, enclosing class, enclosing function info, innermost loop, under main guard)
        stack: list[tuple[ast.AST, ast.ClassDef | None, FunctionInfo | None, object, bool]] = [
            (child, None, None, None, False) for child in reversed(tree.body)]
        self._loop_calls: list[tuple[ast.Call, FunctionInfo | None, ast.AST]] = []
        self._module_calls: list[ast.Call] = []
        while stack:
            node, cls, owner, in_loop, in_main = stack.pop()
            if isinstance(node, FUNCTION_TYPES):
                info = FunctionInfo(node, cls if owner is None else None, owner.node if owner else None)
                self.functions.append(info)
                self.by_node[id(node)] = info
                if owner is None and cls is None:
                    self.module_functions[node.name] = info
                elif owner is None and cls is not None:
                    self.class_methods.setdefault(id(cls), {})[node.name] = info
                elif owner is not None:
                    self.nested[(id(owner.node), node.name)] = info
                for deco in node.decorator_list:
                    stack.append((deco, cls, owner, in_loop, in_main))
                for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                    stack.append((default, cls, info, None, False))
                for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                    if arg.annotation is not None:
                        stack.append((arg.annotation, cls, info, None, False))
                for child in reversed(node.body):
                    stack.append((child, None, info, None, False))
                continue
            if isinstance(node, ast.ClassDef):
                for child in reversed(node.body):
                    stack.append((child, node, owner, in_loop, in_main))
                for base in node.bases + node.decorator_list:
                    stack.append((base, cls, owner, in_loop, in_main))
                continue
            if owner is not None:
                owner.nodes.append(node)
            if isinstance(node, ast.Call):
                if owner is not None:
                    owner.calls.append(node)
                if in_main:
                    self.main_calls.append(node)
                elif owner is None:
                    self._module_calls.append(node)
                if in_loop is not None and in_loop is not False:
                    self._loop_calls.append((node, owner, in_loop))
                self._route_registration(node)
            if isinstance(node, ast.If) and owner is None and _is_main_guard(node.test):
                for child in reversed(node.body):
                    stack.append((child, cls, owner, in_loop, True))
                for child in reversed(node.orelse):
                    stack.append((child, cls, owner, in_loop, in_main))
                stack.append((node.test, cls, owner, in_loop, in_main))
                continue
            loop = isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.ListComp,
                                     ast.SetComp, ast.DictComp, ast.GeneratorExp))
            # Last child first, so that children pop in source order; the Load/Store
            # contexts are left out (no user of `nodes` asks for them).
            for child in children_reversed(node):
                entering = loop and not (
                    isinstance(node, (ast.For, ast.AsyncFor)) and child is node.iter) and not (
                    isinstance(node, ast.comprehension))
                stack.append((child, cls, owner, node if entering else in_loop, in_main))

    def _route_registration(self, call: ast.Call) -> None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else "")
        target = None
        if name in ("Route", "WebSocketRoute", "add_api_route", "add_route", "api_route") \
                and len(call.args) >= 2:
            target = call.args[1]
        elif name in ("Route", "add_api_route", "add_route"):
            target = web_ast.keyword(call, "endpoint")
        elif name == "add_url_rule":
            target = web_ast.keyword(call, "view_func") or (call.args[2] if len(call.args) > 2 else None)
        elif name in ("path", "re_path", "url") and len(call.args) >= 2:
            target = call.args[1]  # Django urls.py in the same module (rare)
        if isinstance(target, ast.Name):
            self.route_refs.add(target.id)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            self.route_refs.add(target.attr)

    def _handlers(self) -> None:
        for handler in web_ast.handlers(self.file):
            info = self.by_node.get(id(handler.func))
            if info is not None:
                info.handler = handler
                info.path = handler.path
        views_module = _is_views_module(self.file.relpath)
        for info in self.functions:
            if info.handler is not None or info.parent is not None:
                continue
            node = info.node
            if info.cls is None and (node.name in self.route_refs or (
                    views_module and web_ast.first_param(node) == "request")):
                info.handler = web_ast.Handler(node, "", ("GET",), None)
            elif info.cls is not None and node.name in self.route_refs:
                pass
        for info in self.functions:
            if info.handler is None:
                continue
            for target in web_ast.param_dependency_nodes(info.node):
                if isinstance(target, ast.Name) and target.id in self.module_functions:
                    dep = self.module_functions[target.id]
                    dep.dependency = True
            if info.handler.decorator is not None:
                for dep_node in info.handler.decorator.dependencies:
                    target = web_ast.depends_target(dep_node)
                    if isinstance(target, ast.Name) and target.id in self.module_functions:
                        self.module_functions[target.id].dependency = True

    def _link(self) -> None:
        for info in self.functions:
            seen: set[int] = set()
            for call in info.calls:
                callee = self.resolve_call(call, info)
                if callee is not None and id(callee) not in seen and callee is not info:
                    seen.add(id(callee))
                    info.callees.append(callee)
                    callee.callers.append(info)
        for call, _owner, loop in self._loop_calls:
            callee = self.resolve_call(call, _owner)
            if callee is not None:
                callee.called_in_loop = True
                callee.loop_sites.append((call, loop))
        for call in self._module_calls:
            callee = self.resolve_call(call, None)
            if callee is not None:
                callee.called_at_module_level = True
        for call in self.main_calls:
            callee = self.resolve_call(call, None)
            if callee is not None:
                callee.called_from_main = True
        main = self.module_functions.get("main")
        if main is not None and main.called_from_main:
            for callee in self.reachable(main, 3):
                callee.called_from_main = True

    # -- queries ------------------------------------------------------------------------
    def resolve_call(self, call: ast.Call, caller: FunctionInfo | None) -> FunctionInfo | None:
        """The function of this module a call runs: `helper(...)` (a module function, or a
        function nested in the caller) or `self.method(...)` / `cls.method(...)`."""
        func = call.func
        if isinstance(func, ast.Name):
            if self.file.names.is_imported(func.id):
                return None
            if caller is not None:
                nested = self.nested.get((id(caller.node), func.id))
                if nested is not None:
                    return nested
            return self.module_functions.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id in ("self", "cls") and caller is not None:
            cls = self.class_of(caller)
            if cls is not None:
                return self.class_methods.get(id(cls), {}).get(func.attr)
        return None

    def class_of(self, info: FunctionInfo) -> ast.ClassDef | None:
        while info is not None and info.cls is None and info.parent is not None:
            info = self.by_node.get(id(info.parent))
        return info.cls if info is not None else None

    def reachable(self, info: FunctionInfo, depth: int) -> list[FunctionInfo]:
        """Module functions `info` calls, directly or through others (up to `depth`)."""
        return _closure(info, depth, "callees")

    def reaching(self, info: FunctionInfo, depth: int) -> list[FunctionInfo]:
        """Module functions that call `info`, directly or through others (up to `depth`)."""
        return _closure(info, depth, "callers")

    def top(self, info: FunctionInfo) -> FunctionInfo:
        """The outermost function holding a nested function."""
        while info.parent is not None and id(info.parent) in self.by_node:
            info = self.by_node[id(info.parent)]
        return info


def index(file) -> ModuleIndex:
    cached = getattr(file, "_bl_module_index", None)
    if cached is not None and cached[0] is file.tree:
        return cached[1]
    built = ModuleIndex(file)
    file._bl_module_index = (file.tree, built)
    return built


# -- context ------------------------------------------------------------------------------


def _is_main_guard(test: ast.AST) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _parts(relpath: str) -> list[str]:
    return relpath.replace("\\", "/").lower().split("/")


def _is_views_module(relpath: str) -> bool:
    parts = _parts(relpath)
    return parts[-1] in ("views.py", "api.py", "viewsets.py") or "views" in parts[:-1]


def is_test_path(relpath: str) -> bool:
    parts = _parts(relpath)
    stem = parts[-1]
    if stem.startswith("test_") or stem.endswith(("_test.py", "_tests.py")) or stem in (
            "tests.py", "conftest.py", "test.py", "testing.py"):
        return True
    return any(p in _TEST_DIRS for p in parts[:-1])


def is_offline_path(relpath: str) -> bool:
    """Tests, migrations, scripts, management commands, docs and examples: code that runs
    once, by hand, outside request handling."""
    if is_test_path(relpath):
        return True
    parts = _parts(relpath)
    return any(p in _SCRIPT_DIRS for p in parts[:-1]) or parts[-1] in (
        "manage.py", "setup.py", "noxfile.py", "fabfile.py", "tasks_cli.py", "conf.py")


def is_cli_command(func: ast.AST) -> bool:
    """A click / typer / Flask CLI command or group (`@click.command()`, `@app.cli.command`,
    `@cli.command("x")`), or a Django management command's `handle`."""
    for decorator in getattr(func, "decorator_list", ()):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in _CLI_DECORATORS:
            return True
        if web_ast.dotted(target).endswith(("cli.command", "manager.command")):
            return True
    return False


def words(name: str) -> list[str]:
    from .jwt_helpers import words as _words

    return _words(name)


def call_name(call: ast.Call) -> str:
    """The last identifier of a call's function (`self.repo.delete_user` -> `delete_user`)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _closure(info: FunctionInfo, depth: int, edges: str) -> list[FunctionInfo]:
    """Functions reached from `info` along `edges` ("callees" or "callers"), breadth
    first, at most `depth` steps away, each once."""
    out: list[FunctionInfo] = []
    seen = {id(info)}
    frontier = [info]
    for _ in range(depth):
        nxt = []
        for item in frontier:
            for other in getattr(item, edges):
                if id(other) not in seen:
                    seen.add(id(other))
                    out.append(other)
                    nxt.append(other)
        frontier = nxt
    return out
