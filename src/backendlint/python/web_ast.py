"""Syntax-level knowledge of web frameworks shared by the route extractors and the
per-file API rules: route decorators, view classes, status codes, handler discovery.

Nothing here imports or runs analysed code; names are resolved through the module's
imports (relative imports against the module's own dotted name)."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from http import HTTPStatus

from .walk import children_reversed

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Decorator attributes that declare a route: `@app.get(...)`, `@bp.route(...)`.
ROUTE_ATTRS = {"route": None, "api_route": None, "get": ("GET",), "post": ("POST",),
               "put": ("PUT",), "patch": ("PATCH",), "delete": ("DELETE",),
               "head": ("HEAD",), "options": ("OPTIONS",)}
CLASS_METHOD_NAMES = ("get", "post", "put", "patch", "delete", "head", "options")

# Method sets of generic class-based views, by class name (Django, DRF, Flask).
GENERIC_VIEW_METHODS = {
    "TemplateView": ("GET",), "ListView": ("GET",), "DetailView": ("GET",),
    "RedirectView": ("GET",),
    "ArchiveIndexView": ("GET",), "YearArchiveView": ("GET",), "MonthArchiveView": ("GET",),
    "DayArchiveView": ("GET",), "DateDetailView": ("GET",), "TodayArchiveView": ("GET",),
    "WeekArchiveView": ("GET",),
    "FormView": ("GET", "POST"), "CreateView": ("GET", "POST"), "UpdateView": ("GET", "POST"),
    "DeleteView": ("GET", "POST"), "LoginView": ("GET", "POST"), "LogoutView": ("POST",),
    "PasswordChangeView": ("GET", "POST"), "PasswordResetView": ("GET", "POST"),
    "PasswordResetConfirmView": ("GET", "POST"), "PasswordResetDoneView": ("GET",),
    "PasswordResetCompleteView": ("GET",), "PasswordChangeDoneView": ("GET",),
    "ListAPIView": ("GET",), "RetrieveAPIView": ("GET",), "CreateAPIView": ("POST",),
    "DestroyAPIView": ("DELETE",), "UpdateAPIView": ("PUT", "PATCH"),
    "ListCreateAPIView": ("GET", "POST"), "RetrieveUpdateAPIView": ("GET", "PUT", "PATCH"),
    "RetrieveDestroyAPIView": ("GET", "DELETE"),
    "RetrieveUpdateDestroyAPIView": ("GET", "PUT", "PATCH", "DELETE"),
    "ObtainAuthToken": ("POST",), "TokenObtainPairView": ("POST",),
    "TokenRefreshView": ("POST",), "TokenVerifyView": ("POST",), "TokenBlacklistView": ("POST",),
    "TokenObtainSlidingView": ("POST",), "TokenRefreshSlidingView": ("POST",),
}
# DRF mixins and the viewset actions they give.
MIXIN_ACTIONS = {
    "ListModelMixin": ("list",), "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",), "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",),
}
VIEWSET_ACTIONS = {
    "ModelViewSet": ("list", "create", "retrieve", "update", "partial_update", "destroy"),
    "ReadOnlyModelViewSet": ("list", "retrieve"),
}
VIEWSET_BASES = ("ViewSet", "GenericViewSet", "ModelViewSet", "ReadOnlyModelViewSet",
                 "ViewSetMixin")
# A router's list route serves these actions, its detail route the others.
LIST_ACTIONS = {"list": "GET", "create": "POST"}
DETAIL_ACTIONS = {"retrieve": "GET", "update": "PUT", "partial_update": "PATCH",
                  "destroy": "DELETE"}
VIEW_BASE_HINTS = ("View", "APIView", "ViewSet", "MethodView", "Resource", "HTTPEndpoint",
                   "Mixin", "Handler", "Endpoint")


def module_name(relpath: str) -> str:
    """Dotted module name of a project file: `src/shop/api/users.py` -> `shop.api.users`."""
    path = relpath[:-4] if relpath.endswith(".pyi") else relpath[:-3] if relpath.endswith(".py") else relpath
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 1 and parts[0] == "src":
        parts.pop(0)
    return ".".join(parts)


def is_package(relpath: str) -> bool:
    return relpath.endswith("__init__.py") or relpath.endswith("__init__.pyi")


class Names:
    """Resolves names of one module to absolute dotted names: imported names through the
    import table (relative imports against the module's package), names defined in the
    module as `module.name`."""

    def __init__(self, file) -> None:
        self.file = file
        self.module = module_name(file.relpath)
        package = self.module if is_package(file.relpath) else self.module.rpartition(".")[0]
        self.package = package
        self.local: set[str] = set()
        self.relative: dict[str, str] = {}  # name bound by a relative import -> absolute name
        tree = getattr(file, "tree", None)
        if tree is not None:
            for node in file.of_type(ast.ImportFrom):
                if node.level:
                    base = self.absolute("." * node.level + (node.module or ""))
                    for alias in node.names:
                        if alias.name != "*":
                            self.relative[alias.asname or alias.name] = \
                                f"{base}.{alias.name}" if base else alias.name
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.local.add(node.name)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.local.add(target.id)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    self.local.add(node.target.id)

    def absolute(self, dotted: str) -> str:
        if not dotted.startswith("."):
            return dotted
        level = len(dotted) - len(dotted.lstrip("."))
        rest = dotted[level:]
        base = self.package.split(".") if self.package else []
        if level > 1:
            base = base[: max(0, len(base) - (level - 1))]
        return ".".join(base + ([rest] if rest else []))

    def resolve(self, node: ast.AST | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, ast.Call):
            node = node.func
        qual = self._qual(node)
        if qual is None:
            return None
        head = qual.split(".")[0]
        if isinstance(_head(node), ast.Name) and not self.file.names.is_imported(head) \
                and head in self.local:
            return f"{self.module}.{qual}" if self.module else qual
        return qual

    def _qual(self, node: ast.AST) -> str | None:
        head = _head(node)
        if isinstance(head, ast.Name) and head.id in self.relative:
            rest = self.file.names.qualname(node)
            if rest is None:
                return None
            tail = dotted(node)[len(head.id):]
            return self.relative[head.id] + tail
        qual = self.file.names.qualname(node)
        if qual is not None and qual.startswith("."):
            return self.absolute(qual)
        return qual

    def ref(self, node: ast.AST | None) -> str:
        """A reference to an object (app, router, view) as a dotted name; '' if unknown.
        Names not imported and not module-level (a local in `create_app()`) still get the
        module's prefix, so that one module's `app` is one object."""
        if node is None:
            return ""
        qual = self._qual(node)
        if qual is None:
            return ""
        head = _head(node)
        if isinstance(head, ast.Name) and head.id in self.relative:
            return qual
        if isinstance(head, ast.Name) and not self.file.names.is_imported(head.id):
            return f"{self.module}.{qual}" if self.module else qual
        return qual


def _head(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"{PREFIX}/users": keep the literal parts
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = const_str(node.left), const_str(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def str_items(node: ast.AST | None) -> tuple[str, ...] | None:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [const_str(e) for e in node.elts]
        if all(i is not None for i in items):
            return tuple(items)  # type: ignore[arg-type]
    return None


def keyword(call: ast.Call, name: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, index: int, name: str) -> ast.AST | None:
    value = keyword(call, name)
    if value is not None:
        return value
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    if len(call.args) == len(positional) and index < len(positional):
        return positional[index]
    return None


_STATUS_NAME = re.compile(r"HTTP_(\d{3})(?:_|$)")


def status_value(node: ast.AST | None) -> int | None:
    """201 from `201`, `status.HTTP_201_CREATED`, `HTTPStatus.CREATED`, `HTTPStatus(201)`."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value if 100 <= node.value <= 599 else None
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    if name:
        match = _STATUS_NAME.search(name)
        if match:
            return int(match.group(1))
        if isinstance(node, ast.Attribute) and last(_dotted(node.value)) in ("HTTPStatus", "codes", "status"):
            try:
                return int(HTTPStatus[name.upper()])
            except KeyError:
                return None
    if isinstance(node, ast.Call) and last(_dotted(node.func)) == "HTTPStatus" and node.args:
        return status_value(node.args[0])
    if isinstance(node, ast.Attribute) and node.attr == "value":
        return status_value(node.value)
    return None


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def dotted(node: ast.AST | None) -> str:
    """The dotted text of a Name/Attribute chain, unresolved ('' otherwise)."""
    return _dotted(node) if node is not None else ""


@dataclass
class RouteDecorator:
    """What a route decorator says: `@bp.route("/x", methods=["POST"])`."""

    owner: ast.AST
    attr: str
    path: str
    methods: tuple[str, ...]
    status_code: int | None
    dependencies: list[ast.AST] = field(default_factory=list)
    call: ast.Call | None = None


def route_decorator(node: ast.AST) -> RouteDecorator | None:
    """A route-declaring decorator call, recognised by shape: `<obj>.<verb or route>(path)`
    whose path is a string literal that is empty or starts with '/'."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    attr = node.func.attr
    if attr not in ROUTE_ATTRS:
        return None
    path_node = argument(node, 0, "path") if attr != "route" else (argument(node, 0, "rule") or argument(node, 0, "path"))
    path = const_str(path_node)
    if path is None or not (path == "" or path.startswith("/")):
        return None
    methods = ROUTE_ATTRS[attr]
    if methods is None:
        declared = str_items(keyword(node, "methods"))
        methods = tuple(m.upper() for m in declared) if declared else ("GET",)
    status = status_value(keyword(node, "status_code"))
    deps = keyword(node, "dependencies")
    dependencies = list(deps.elts) if isinstance(deps, (ast.List, ast.Tuple)) else []
    return RouteDecorator(node.func.value, attr, path, tuple(methods), status, dependencies, node)


def depends_target(node: ast.AST) -> ast.AST | None:
    """`Depends(get_user)` / `Security(get_user, scopes=[...])` -> the `get_user` node.
    `Depends(RateLimiter(times=5))` -> the `RateLimiter(...)` call."""
    if isinstance(node, ast.Call) and last(dotted(node.func)) in ("Depends", "Security"):
        target = argument(node, 0, "dependency")
        return target
    return None


def param_dependency_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """Dependency callables of a FastAPI handler's parameters: `= Depends(x)`,
    `Annotated[T, Depends(x)]`, and bare annotations (which may name an Annotated alias)."""
    found: list[ast.AST] = []
    args = func.args
    params = args.posonlyargs + args.args + args.kwonlyargs
    defaults = [None] * (len(args.posonlyargs + args.args) - len(args.defaults)) + list(args.defaults) \
        + list(args.kw_defaults)
    for param, default in zip(params, defaults):
        if default is not None:
            target = depends_target(default)
            if target is not None:
                found.append(target)
        ann = param.annotation
        if isinstance(ann, ast.Subscript) and last(dotted(ann.value)) == "Annotated":
            items = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            for item in items[1:]:
                target = depends_target(item)
                if target is not None:
                    found.append(target)
        elif isinstance(ann, (ast.Name, ast.Attribute)):
            found.append(ann)  # maybe an alias such as CurrentUser; the model resolves it
    return found


def decorator_targets(decorators: list[ast.AST]) -> list[ast.AST]:
    """The callables of decorators, unwrapping calls and Django's `method_decorator(x)`
    and `decorator_from_middleware`-style wrappers with one argument."""
    out = []
    for dec in decorators:
        node = dec
        if isinstance(node, ast.Call):
            name = last(dotted(node.func))
            if name == "method_decorator" and node.args:
                inner = node.args[0]
                if isinstance(inner, (ast.List, ast.Tuple)):
                    out.extend(e.func if isinstance(e, ast.Call) else e for e in inner.elts)
                    continue
                node = inner
            if isinstance(node, ast.Call):
                node = node.func
        out.append(node)
    return out


def class_is_view(cls: ast.ClassDef) -> bool:
    for base in cls.bases:
        name = last(dotted(base.value if isinstance(base, ast.Subscript) else base))
        if any(name.endswith(h) for h in VIEW_BASE_HINTS) or name in GENERIC_VIEW_METHODS:
            return True
    return False


def request_methods_compared(func: ast.AST) -> tuple[str, ...]:
    """HTTP methods a Django view compares `request.method` against."""
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Compare) and dotted(node.left).endswith("request.method"):
            for comparator in node.comparators:
                values = [const_str(comparator)] if const_str(comparator) else list(str_items(comparator) or ())
                found.extend(v.upper() for v in values if v and v.upper() in HTTP_METHODS)
    return tuple(dict.fromkeys(found))


def first_param(func) -> str:
    params = func.args.posonlyargs + func.args.args
    return params[0].arg if params else ""


@dataclass
class Handler:
    """A function that handles requests, as one file shows it."""

    func: ast.FunctionDef | ast.AsyncFunctionDef
    framework: str  # "flask", "fastapi", "django", "drf"
    methods: tuple[str, ...]
    path: str | None  # the path declared here, when there is one
    status_code: int | None = None
    cls: ast.ClassDef | None = None
    decorator: RouteDecorator | None = None


def file_framework(file) -> str:
    aliases = " ".join(file.names.aliases.values())
    if "fastapi" in aliases or "starlette" in aliases:
        return "fastapi"
    if "rest_framework" in aliases:
        return "drf"
    if "django" in aliases:
        return "django"
    if "flask" in aliases:
        return "flask"
    return ""


def handlers(file) -> list[Handler]:
    """Request handlers of one module: route-decorated functions, methods of view classes,
    DRF `@api_view` functions and Django function views (first parameter `request`,
    in a module that imports Django)."""
    tree = file.tree
    if tree is None:
        return []
    cached = getattr(file, "_web_handlers", None)
    if cached is not None and cached[0] is tree:
        return cached[1]
    found = _handlers(file, tree)
    try:
        file._web_handlers = (tree, found)
    except AttributeError:  # pragma: no cover
        pass
    return found


def _handlers(file, tree) -> list[Handler]:
    framework = file_framework(file)
    found: list[Handler] = []
    nodes = file.nodes() if tree is file.tree else list(ast.walk(tree))
    methods_ids = {id(item) for node in nodes if isinstance(node, ast.ClassDef)
                   for item in node.body}
    for node in nodes:
        if isinstance(node, ast.ClassDef):
            if not class_is_view(node):
                continue
            class_route = next((r for r in map(route_decorator, node.decorator_list) if r), None)
            fw = "drf" if framework == "drf" else framework or "django"
            for item in node.body:
                if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                name = item.name
                action = next((d for d in item.decorator_list if isinstance(d, ast.Call)
                               and last(dotted(d.func)) == "action"), None)
                if name in CLASS_METHOD_NAMES:
                    methods = (name.upper(),)
                elif name in LIST_ACTIONS:
                    methods = (LIST_ACTIONS[name],)
                elif name in DETAIL_ACTIONS:
                    methods = (DETAIL_ACTIONS[name],)
                elif action is not None:
                    declared = str_items(keyword(action, "methods"))
                    methods = tuple(m.upper() for m in declared) if declared else ("GET",)
                else:
                    continue
                found.append(Handler(item, fw, methods, class_route.path if class_route else None,
                                     None, node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            routes = [r for r in map(route_decorator, node.decorator_list) if r]
            if routes:
                route = routes[0]
                methods = tuple(dict.fromkeys(m for r in routes for m in r.methods))
                fw = framework if framework in ("flask", "fastapi") else (
                    "flask" if route.attr == "route" else "fastapi")
                found.append(Handler(node, fw, methods, route.path, route.status_code, None, route))
                continue
            api_view = next((d for d in node.decorator_list if isinstance(d, ast.Call)
                             and last(dotted(d.func)) == "api_view"), None)
            if api_view is not None:
                declared = str_items(argument(api_view, 0, "http_method_names"))
                methods = tuple(m.upper() for m in declared) if declared else ("GET",)
                found.append(Handler(node, "drf", methods, None))
                continue
            if first_param(node) == "request" and framework in ("django", "drf") \
                    and id(node) not in methods_ids:
                declared = _required_methods(node)
                methods = declared or request_methods_compared(node) or ("GET",)
                found.append(Handler(node, "django", methods, None))
    return found


def _is_method(func, tree) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and func in node.body:
            return True
    return False


def _required_methods(func) -> tuple[str, ...] | None:
    for dec in func.decorator_list:
        name = last(dotted(dec.func if isinstance(dec, ast.Call) else dec))
        if name == "require_POST":
            return ("POST",)
        if name in ("require_GET", "require_safe"):
            return ("GET",)
        if name == "require_http_methods" and isinstance(dec, ast.Call) and dec.args:
            items = str_items(dec.args[0])
            if items:
                return tuple(m.upper() for m in items)
    return None


required_methods = _required_methods


# -- responses ----------------------------------------------------------------------------

_RESPONSE_CALLS = {"jsonify": None, "JsonResponse": "status", "Response": "status",
                   "JSONResponse": "status_code", "ORJSONResponse": "status_code",
                   "UJSONResponse": "status_code", "HttpResponse": "status",
                   "make_response": None}
_HTML_CALLS = ("render_template", "render", "redirect", "render_to_response", "TemplateResponse",
               "HttpResponseRedirect", "RedirectResponse", "send_file", "send_from_directory",
               "FileResponse", "StreamingResponse", "url_for", "HTMLResponse", "PlainTextResponse",
               "render_template_string", "HttpResponseNotAllowed", "HttpResponseBadRequest",
               "HttpResponseNotFound", "HttpResponseForbidden", "Http404")

UNKNOWN = -1  # a status given by a non-constant expression


@dataclass
class ReturnedResponse:
    node: ast.AST  # the return statement's value
    body: ast.AST | None  # the payload expression (dict, serializer data, object...)
    status: int | None  # None: the default (200 for a body); UNKNOWN: not a constant
    kind: str  # "json", "html", "empty", "other"


def _status_of(node) -> int | None:
    value = status_value(node)
    return value if value is not None else UNKNOWN


def returned_response(value: ast.AST, default_status: int | None = None) -> ReturnedResponse:
    """What a handler's `return <value>` sends: the payload, the status (or None for the
    framework's default), and whether it is a JSON-ish body, an HTML/redirect/file
    response, or empty."""
    if isinstance(value, ast.Tuple) and value.elts:
        inner = returned_response(value.elts[0])
        status = _status_of(value.elts[1]) if len(value.elts) > 1 else inner.status
        return ReturnedResponse(value, inner.body, status, inner.kind)
    if isinstance(value, ast.Call):
        name = last(dotted(value.func))
        if name in _HTML_CALLS:
            return ReturnedResponse(value, None, None, "html")
        if name == "make_response":
            inner = returned_response(value.args[0]) if value.args else ReturnedResponse(value, None, None, "empty")
            status = _status_of(value.args[1]) if len(value.args) > 1 else inner.status
            return ReturnedResponse(value, inner.body, status, inner.kind)
        if name in _RESPONSE_CALLS:
            body = value.args[0] if value.args else (keyword(value, "data") or keyword(value, "content"))
            if name == "jsonify" and value.keywords and not value.args:
                body = ast.Dict(keys=[ast.Constant(k.arg) for k in value.keywords],
                                values=[k.value for k in value.keywords])
            status_node = keyword(value, _RESPONSE_CALLS[name] or "status") or keyword(value, "status_code") \
                or keyword(value, "status")
            if status_node is None and name in ("Response", "JSONResponse", "HttpResponse") and len(value.args) > 1:
                status_node = value.args[1]
            status = _status_of(status_node) if status_node is not None else None
            if body is None or (isinstance(body, ast.Constant) and body.value in (None, "", b"")):
                return ReturnedResponse(value, None, status, "empty")
            return ReturnedResponse(value, body, status, "json")
        return ReturnedResponse(value, value, None, "other")
    if isinstance(value, ast.Constant) and value.value in (None, "", b""):
        return ReturnedResponse(value, None, None, "empty")
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return ReturnedResponse(value, value, None, "other")
    if isinstance(value, (ast.Dict, ast.List, ast.ListComp, ast.DictComp)):
        return ReturnedResponse(value, value, None, "json")
    return ReturnedResponse(value, value, None, "other")


def own_returns(func) -> list[ast.Return]:
    """Return statements of `func` itself (not of nested functions or classes)."""
    found = []
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return):
            found.append(node)
        stack.extend(children_reversed(node))  # order is irrelevant: sorted below
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def own_nodes(func):
    """Every node of `func`'s body, not descending into nested functions or classes."""
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        # `ast.iter_child_nodes` order, without the Load/Store contexts no caller asks for.
        children = children_reversed(node)
        children.reverse()
        stack.extend(children)


# -- where the code lives -------------------------------------------------------------------

_TEST_DIRS = {"tests", "test", "testing"}
_EXAMPLE_DIRS = {"docs", "docs_src", "doc", "examples", "example", "samples", "sample"}


def code_context(relpath: str) -> str:
    """'test' for test code (a tests/ folder, test_*.py, *_test.py, conftest.py),
    'example' for documentation and example code (docs/, docs_src/, examples/), else ''.
    Routes in tests are fixtures of the test, not an application's API."""
    parts = relpath.replace("\\", "/").split("/")
    name = parts[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py") \
            or any(p in _TEST_DIRS for p in parts[:-1]):
        return "test"
    if any(p in _EXAMPLE_DIRS for p in parts[:-1]):
        return "example"
    return ""
