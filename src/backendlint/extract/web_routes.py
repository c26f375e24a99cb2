"""Route facts from Python files: Flask, FastAPI/Starlette, Django and Django REST framework.

One extractor reads a module once (in `finish()`, over its whole tree) and emits what it
declares: app and router objects, routes declared by decorators or registration calls,
include/register/mount calls, Django `urlpatterns`, DRF router registrations, view
classes and functions, settings, dependency aliases and what handler bodies do. The
route model (`backendlint.python.routes_model`) joins them across modules."""
from __future__ import annotations

import ast
import re

from ..facts.routes import (AliasFact, BodyFact, IncludeFact, RegisterFact, RouteDecl,
                            RouterFact, SettingFact, UrlPatternFact, ViewFact, ViewMethod)
from ..python import web_ast as w
from . import FactExtractor

APP_CTORS = {"Flask": "flask", "Quart": "flask", "FastAPI": "fastapi", "Starlette": "fastapi"}
ROUTER_CTORS = {"Blueprint": "flask", "APIRouter": "fastapi", "APIBlueprint": "flask"}
DRF_ROUTERS = ("DefaultRouter", "SimpleRouter", "ExtendedDefaultRouter", "ExtendedSimpleRouter",
               "NestedSimpleRouter", "NestedDefaultRouter", "OptionalSlashRouter")
URL_FUNCS = ("path", "re_path", "url")
VIEW_METHOD_NAMES = set(w.CLASS_METHOD_NAMES) | set(w.LIST_ACTIONS) | set(w.DETAIL_ACTIONS)

_AUTH_BODY = re.compile(
    r"is_authenticated|is_anonymous|verify_jwt_in_request|get_jwt_identity|current_identity|"
    r"abort\(\s*(?:401|403)|HTTP_40[13]|status_code\s*=\s*40[13]|status\s*=\s*40[13]|"
    r"PermissionDenied|NotAuthenticated|AuthenticationFailed|check_object_permissions|"
    r"has_perm\(|Unauthorized|Forbidden|decode_token|jwt\.decode|verify_token|"
    r"session\[['\"]user|session\.get\(['\"]user|g\.user\s+is\s+None|request\.user\.is_")
_LIMIT_BODY = re.compile(r"ratelimit|rate_limit|is_ratelimited|limiter\.|throttle|TooManyRequests|429",
                         re.IGNORECASE)
_SIGNATURE_BODY = re.compile(r"signature|hmac|construct_event|compare_digest|verify_webhook|"
                             r"validate_request|verify_request", re.IGNORECASE)
_HTML_BODY = re.compile(r"\brender_template\(|\brender\(|TemplateResponse|\bredirect\(|render_to_response")
_PAGINATION_WORDS = re.compile(r"paginat|\.limit\(|\[\s*:|\[\s*[\w.()+\-*]*\s*:\s*[\w.()+\-*]*\s*\]|\.offset\(|per_page|"
                               r"page_size|\bpage\b|cursor=|\.slice\(|islice|\blimit\b|LIMIT\s",
                               re.IGNORECASE)


class RouteExtractor(FactExtractor):
    kinds = ("route.decl", "route.router", "route.include", "route.urlpattern", "route.view",
             "route.register", "route.setting", "route.alias", "route.body")
    triggers = ("route", "urlpatterns", "blueprint", "router", "api_view", "view", "flask",
                "fastapi", "starlette", "rest_framework", "limiter", "middleware", "depends",
                "\"/api", "'/api", "prefix", "root_urlconf", "installed_apps")

    def finish(self) -> None:
        tree = self.file.tree
        if tree is None:
            return
        self.n = w.Names(self.file)
        self.module = self.n.module
        self._url_module = self.module
        self.framework = w.file_framework(self.file)
        self.routers: dict[str, str] = {}  # local ref -> constructor name
        self._handlers_seen: set[int] = set()
        self._top_ids: set[int] | None = None
        self._collect_objects(tree)
        for node in self.file.of_type(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Call, ast.For):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node)
            elif isinstance(node, ast.ClassDef):
                self._class(node)
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.For):
                self._for_loop(node)
        self._module_level(tree)

    # -- objects -----------------------------------------------------------------------

    def _collect_objects(self, tree) -> None:
        for node in self.file.of_type(ast.Assign, ast.AnnAssign):
            if not isinstance(node.value, ast.Call):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            call = node.value
            ctor = w.last(w.dotted(call.func))
            for target in targets:
                if not isinstance(target, (ast.Name, ast.Attribute)):
                    continue
                ref = self.n.ref(target)
                if ctor in APP_CTORS or ctor in ROUTER_CTORS:
                    self._router(ref, ctor, call)
                elif ctor in DRF_ROUTERS or (ctor.endswith("Router") and "rest_framework" in
                                               (self.n.resolve(call.func) or "")):
                    trailing = w.keyword(call, "trailing_slash")
                    self.routers[ref] = ctor if not (isinstance(trailing, ast.Constant)
                                                     and trailing.value in (False, "")) else ctor + ":noslash"
                elif ctor in ("Api", "Namespace"):  # flask-restful / flask-restx
                    self.routers[ref] = ctor
                    self.emit(RouterFact(self.file.location(call), ref=ref, framework="flask",
                                         constructor=ctor, prefix=w.const_str(w.keyword(call, "prefix")
                                                                              or w.keyword(call, "path")) or ""))
                    parent = call.args[0] if call.args else w.keyword(call, "app")
                    if parent is not None and ctor == "Api":
                        self.emit(IncludeFact(self.file.location(call), parent=self.n.ref(parent),
                                              child=ref, prefix=None))
                elif ctor == "Limiter":
                    self._limiter(call, ref)

    def _router(self, ref: str, ctor: str, call: ast.Call) -> None:
        framework = APP_CTORS.get(ctor) or ROUTER_CTORS.get(ctor, "")
        self.routers[ref] = ctor
        prefix_node = w.keyword(call, "url_prefix") if framework == "flask" else w.keyword(call, "prefix")
        if prefix_node is None and ctor == "APIBlueprint":
            prefix_node = w.keyword(call, "url_prefix")
        deps = w.keyword(call, "dependencies")
        self.emit(RouterFact(
            self.file.location(call), ref=ref, framework=framework, constructor=ctor,
            prefix=self._prefix_text(prefix_node) or "", is_app=ctor in APP_CTORS,
            dependencies=self._deps(deps.elts if isinstance(deps, (ast.List, ast.Tuple)) else []),
            routes_list=self.n.ref(w.keyword(call, "routes")) if isinstance(
                w.keyword(call, "routes"), (ast.Name, ast.Attribute)) else ""))
        routes = w.keyword(call, "routes")
        if isinstance(routes, (ast.List, ast.Tuple)):
            self._starlette_list(routes, ref)
        middleware = w.keyword(call, "middleware")
        if isinstance(middleware, (ast.List, ast.Tuple)):
            for item in middleware.elts:
                target = item.args[0] if isinstance(item, ast.Call) and item.args else item
                self._middleware(target, ref, item)

    def _limiter(self, call: ast.Call, ref: str) -> None:
        defaults = w.keyword(call, "default_limits") or w.keyword(call, "application_limits")
        if defaults is None or (isinstance(defaults, (ast.List, ast.Tuple)) and not defaults.elts):
            return
        self.emit(SettingFact(self.file.location(call), name="rate-limit", target="*",
                              values=(f"{w.dotted(call.func)}(default_limits=...)",)))

    def _middleware(self, node, owner: str, where) -> None:
        name = self.n.resolve(node) or w.dotted(node)
        lowered = name.lower()
        if any(word in lowered for word in ("ratelimit", "rate_limit", "throttl", "limiter", "slowapi")):
            self.emit(SettingFact(self.file.location(where), name="rate-limit", target=owner,
                                  values=(name,)))
        elif any(word in lowered for word in ("authenticationmiddleware", "loginrequired",
                                              "authmiddleware", "jwtmiddleware")) \
                and "django.contrib" not in lowered and "starlette.middleware.authentication" not in lowered:
            self.emit(SettingFact(self.file.location(where), name="auth", target=owner,
                                  values=(name,)))

    def _deps(self, nodes) -> tuple[str, ...]:
        out = []
        for node in nodes:
            target = w.depends_target(node)
            if target is None:
                if isinstance(node, (ast.Name, ast.Attribute)):
                    out.append(self.n.ref(node))
                continue
            out.append(self._dep_name(target))
        return tuple(o for o in out if o)

    def _dep_name(self, target) -> str:
        if isinstance(target, ast.Call):  # Depends(RateLimiter(times=2)) / Depends(Role("admin"))
            return self.n.ref(target.func) + "()"
        return self.n.ref(target)

    # -- functions and classes -----------------------------------------------------------

    def _decorators(self, nodes) -> tuple[str, ...]:
        out = []
        for target in w.decorator_targets(nodes):
            if w.route_decorator(target) is not None:
                continue
            ref = self.n.ref(target) or w.dotted(target)
            if ref:
                out.append(ref)
        # route decorators are calls: decorator_targets unwraps them, so filter by shape
        route_owners = {self.n.ref(r.call.func) for r in map(w.route_decorator, nodes) if r}
        return tuple(d for d in out if d not in route_owners)

    def _function(self, func) -> None:
        routes = [r for r in map(w.route_decorator, func.decorator_list) if r]
        ref = f"{self.module}.{func.name}"
        decorators = self._decorators(func.decorator_list)
        if routes:
            loc = self.file.location(func)
            deps = self._deps(w.param_dependency_nodes(func))
            for route in routes:
                deps_here = deps + self._deps(route.dependencies)
                self.emit(RouteDecl(
                    self.file.location(route.call), framework=self._framework_of(route),
                    owner=self.n.ref(route.owner), methods=route.methods, path=route.path,
                    handler=ref, handler_location=loc, decorators=decorators,
                    dependencies=deps_here, status_code=route.status_code))
            self._body(func, ref)
            self._hooks(func, decorators)
            return
        self._hooks(func, decorators)
        api_view = next((d for d in func.decorator_list if isinstance(d, ast.Call)
                         and w.last(w.dotted(d.func)) == "api_view"), None)
        is_view = api_view is not None or (w.first_param(func) == "request" and self._top_level(func))
        if is_view:
            declared = w.str_items(w.argument(api_view, 0, "http_method_names")) if api_view else None
            self.emit(ViewFact(
                self.file.location(func), ref=ref, is_class=False, decorators=decorators,
                api_view_methods=(tuple(m.upper() for m in declared) if declared else ("GET",))
                if api_view is not None else None,
                require_methods=w.required_methods(func),
                body_methods=w.request_methods_compared(func),
                permission_classes=self._decorator_classes(func, "permission_classes"),
                throttle_classes=self._decorator_classes(func, "throttle_classes"),
                authentication_classes=self._decorator_classes(func, "authentication_classes")))
            self._body(func, ref)
        elif self._top_level(func):
            self._custom_decorator(func, ref)

    def _top_level(self, func) -> bool:
        if self._top_ids is None:  # asked for most functions: a set, not a list scan each time
            self._top_ids = {id(node) for node in self.file.tree.body}
        return id(func) in self._top_ids

    def _decorator_classes(self, func, name: str) -> tuple[str, ...] | None:
        for dec in func.decorator_list:
            if isinstance(dec, ast.Call) and w.last(w.dotted(dec.func)) == name and dec.args:
                return self._class_list(dec.args[0])
        return None

    def _class_list(self, node) -> tuple[str, ...] | None:
        if isinstance(node, (ast.List, ast.Tuple)):
            return tuple(self.n.ref(e.func if isinstance(e, ast.Call) else e) or w.dotted(e)
                         for e in node.elts)
        if isinstance(node, ast.BinOp):  # [A] + [B], A | B (DRF permission composition)
            left, right = self._class_list(node.left), self._class_list(node.right)
            if isinstance(node.op, ast.Add):
                return (left or ()) + (right or ())
            return ((left or ()) + (right or ())) or None
        if isinstance(node, (ast.Name, ast.Attribute)):
            return (self.n.ref(node),)
        if isinstance(node, ast.Constant) and node.value is None:
            return ()
        return None

    def _hooks(self, func, decorators) -> None:
        """A Flask `before_request` / FastAPI `middleware("http")` hook that checks login."""
        for dec in func.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if isinstance(target, ast.Attribute) and target.attr in ("before_request", "before_app_request",
                                                                     "middleware"):
                source = self.file.source_segment(func)
                if _AUTH_BODY.search(source) or any("login" in d or "auth" in d or "jwt" in d
                                                    for d in decorators):
                    self.emit(SettingFact(self.file.location(func), name="auth",
                                          target=self.n.ref(target.value), values=(func.name,)))
                if target.attr == "middleware" and _LIMIT_BODY.search(source):
                    self.emit(SettingFact(self.file.location(func), name="rate-limit",
                                          target=self.n.ref(target.value), values=(func.name,)))

    def _custom_decorator(self, func, ref: str) -> None:
        """A decorator defined here (a function returning an inner function) that checks
        login or limits the rate: its uses count as such."""
        inner = [n for n in func.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if not inner:
            return
        source = self.file.source_segment(func)
        values = []
        if _AUTH_BODY.search(source) or re.search(r"login_required|jwt_required|current_user|"
                                                  r"Authorization|get_current_user", source):
            values.append("auth")
        if re.search(r"ratelimit|rate_limit|is_ratelimited|TooManyRequests|\b429\b", source, re.I):
            values.append("rate-limit")
        if values:
            self.emit(AliasFact(self.file.location(func), ref=ref, values=tuple(values)))

    def _class(self, cls: ast.ClassDef) -> None:
        class_routes = [r for r in map(w.route_decorator, cls.decorator_list) if r]
        methods: list[ViewMethod] = []
        attrs: dict[str, ast.AST] = {}
        for item in cls.body:
            if isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name):
                        attrs[target.id] = item.value
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value:
                attrs[item.target.id] = item.value
            elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                action = next((d for d in item.decorator_list if isinstance(d, ast.Call)
                               and w.last(w.dotted(d.func)) == "action"), None)
                if item.name not in VIEW_METHOD_NAMES and action is None:
                    continue
                declared = w.str_items(w.keyword(action, "methods")) if action is not None else None
                detail = w.keyword(action, "detail") if action is not None else None
                methods.append(ViewMethod(
                    item.name, item.lineno, self._decorators(item.decorator_list),
                    action_detail=(bool(detail.value) if isinstance(detail, ast.Constant) else False)
                    if action is not None else None,
                    action_methods=tuple(m.upper() for m in declared) if declared else (
                        ("GET",) if action is not None else ()),
                    action_path=(w.const_str(w.keyword(action, "url_path")) or item.name)
                    if action is not None else "",
                    throttle_classes=self._class_list(w.keyword(action, "throttle_classes"))
                    if action is not None and w.keyword(action, "throttle_classes") is not None else None,
                    permission_classes=self._class_list(w.keyword(action, "permission_classes"))
                    if action is not None and w.keyword(action, "permission_classes") is not None else None))
                self._body(item, f"{self.module}.{cls.name}.{item.name}")
        viewish = w.class_is_view(cls) or class_routes or any(
            k in attrs for k in ("permission_classes", "queryset", "serializer_class", "throttle_classes"))
        if not viewish and not (methods and any(m.name in w.CLASS_METHOD_NAMES for m in methods)
                                and cls.bases):
            return
        ref = f"{self.module}.{cls.name}"
        pagination = attrs.get("pagination_class")
        http_names = w.str_items(attrs.get("http_method_names"))
        lookup = w.const_str(attrs.get("lookup_url_kwarg")) or w.const_str(attrs.get("lookup_field")) or ""
        self.emit(ViewFact(
            self.file.location(cls), ref=ref, is_class=True,
            bases=tuple(self.n.ref(b.value if isinstance(b, ast.Subscript) else b) or w.dotted(b)
                        for b in cls.bases),
            decorators=self._decorators(cls.decorator_list) + self._class_decorators(attrs),
            methods=tuple(methods),
            permission_classes=self._class_list(attrs["permission_classes"]) if "permission_classes" in attrs else None,
            authentication_classes=self._class_list(attrs["authentication_classes"])
            if "authentication_classes" in attrs else None,
            throttle_classes=self._class_list(attrs["throttle_classes"]) if "throttle_classes" in attrs else None,
            pagination_class=None if pagination is None else (
                "" if isinstance(pagination, ast.Constant) and pagination.value is None
                else (self.n.ref(pagination) or "custom")),
            paginate_by=isinstance(attrs.get("paginate_by"), ast.Constant) and bool(attrs["paginate_by"].value),
            has_queryset="queryset" in attrs or any(
                isinstance(i, ast.FunctionDef) and i.name == "get_queryset" for i in cls.body),
            custom_queryset=_custom_queryset(cls, self.file),
            http_method_names=tuple(m.upper() for m in http_names) if http_names else None,
            lookup=lookup))
        for route in class_routes:
            self.emit(RouteDecl(
                self.file.location(route.call), framework=self._framework_of(route),
                owner=self.n.ref(route.owner), methods=(), path=route.path, handler=ref,
                handler_location=self.file.location(cls), class_based=True,
                decorators=self._decorators(cls.decorator_list)))

    def _class_decorators(self, attrs) -> tuple[str, ...]:
        """MethodView `decorators = [...]`, flask-restful `method_decorators = [...]`."""
        out: list[str] = []
        for name in ("decorators", "method_decorators"):
            value = attrs.get(name)
            if isinstance(value, ast.Dict):  # method_decorators = {"post": [auth]}
                value = ast.List(elts=[e for v in value.values if isinstance(v, (ast.List, ast.Tuple))
                                       for e in v.elts])
            if isinstance(value, (ast.List, ast.Tuple)):
                for target in w.decorator_targets(value.elts):
                    ref = self.n.ref(target) or w.dotted(target)
                    if ref:
                        out.append(ref)
        return tuple(out)

    def _framework_of(self, route: w.RouteDecorator) -> str:
        ctor = self.routers.get(self.n.ref(route.owner), "")
        if ctor:
            return APP_CTORS.get(ctor) or ROUTER_CTORS.get(ctor) or "flask"
        if self.framework in ("flask", "fastapi"):
            return self.framework
        return "flask" if route.attr == "route" else "fastapi"

    # -- registration calls -------------------------------------------------------------

    def _call(self, call: ast.Call) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        attr, owner = func.attr, func.value
        if attr == "register_blueprint" and call.args:
            self._include(call, owner, call.args[0], w.keyword(call, "url_prefix"))
        elif attr == "include_router" and call.args:
            deps = w.keyword(call, "dependencies")
            self._include(call, owner, call.args[0], w.keyword(call, "prefix"),
                          self._deps(deps.elts if isinstance(deps, (ast.List, ast.Tuple)) else []))
        elif attr == "mount" and call.args and w.const_str(call.args[0]) is not None:
            child = w.argument(call, 1, "app")
            if child is not None:
                self._include(call, owner, child.func if isinstance(child, ast.Call) else child,
                              call.args[0], mount=True)
        elif attr == "init_app" and call.args and self.routers.get(self.n.ref(owner)) == "Api":
            self.emit(IncludeFact(self.file.location(call), parent=self.n.ref(call.args[0]),
                                  child=self.n.ref(owner)))
        elif attr == "add_url_rule" and call.args:
            self._add_url_rule(call, owner)
        elif attr == "add_api_route" and call.args:
            self._add_api_route(call, owner)
        elif attr in ("add_resource", "add_namespace") and call.args:
            self._add_resource(call, owner)
        elif attr == "register" and len(call.args) >= 2 and w.const_str(call.args[0]) is not None:
            self._register(call, owner)
        elif attr == "add_middleware" and call.args:
            self._middleware(call.args[0], self.n.ref(owner), call)

    def _prefix_text(self, node) -> str | None:
        """A prefix as text; names of constants as `{=dotted.name}` for the model to fill."""
        if node is None:
            return None
        value = w.const_str(node)
        if value is not None:
            return value
        if isinstance(node, (ast.Name, ast.Attribute)):
            ref = self.n.ref(node)
            return "{=" + ref + "}" if ref else "/{prefix}"
        if isinstance(node, ast.JoinedStr):
            parts = []
            for item in node.values:
                if isinstance(item, ast.Constant):
                    parts.append(str(item.value))
                elif isinstance(item, ast.FormattedValue) and isinstance(item.value, (ast.Name, ast.Attribute)):
                    parts.append("{=" + self.n.ref(item.value) + "}")
                else:
                    return "/{prefix}"
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._prefix_text(node.left), self._prefix_text(node.right)
            if left is not None and right is not None:
                return left + right
        return "/{prefix}"  # computed at run time

    def _include(self, call, owner, child, prefix_node, deps=(), mount=False) -> None:
        prefix = self._prefix_text(prefix_node)
        self.emit(IncludeFact(self.file.location(call), parent=self.n.ref(owner),
                              child=self.n.ref(child), prefix=prefix, dependencies=tuple(deps)))

    def _for_loop(self, loop: ast.For) -> None:
        """`for bp in (auth.bp, blog.bp): app.register_blueprint(bp)`."""
        if not isinstance(loop.target, ast.Name) or not isinstance(loop.iter, (ast.List, ast.Tuple)):
            return
        for stmt in ast.walk(loop):
            if isinstance(stmt, ast.Call) and isinstance(stmt.func, ast.Attribute) \
                    and stmt.func.attr in ("register_blueprint", "include_router") and stmt.args \
                    and isinstance(stmt.args[0], ast.Name) and stmt.args[0].id == loop.target.id:
                prefix = w.keyword(stmt, "url_prefix" if stmt.func.attr == "register_blueprint" else "prefix")
                for item in loop.iter.elts:
                    self._include(stmt, stmt.func.value, item, prefix)

    def _view_target(self, node) -> tuple[str, bool]:
        """(ref, class_based) of `view_func=` / endpoint values."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "as_view":
            return self.n.ref(node.func.value), True
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.n.ref(node), False
        return "", False

    def _add_url_rule(self, call, owner) -> None:
        path = w.const_str(call.args[0] if call.args else w.keyword(call, "rule"))
        if path is None or not path.startswith("/"):
            return
        view = w.argument(call, 2, "view_func")
        if view is None:
            return
        ref, class_based = self._view_target(view)
        declared = w.str_items(w.keyword(call, "methods"))
        methods = tuple(m.upper() for m in declared) if declared else (() if class_based else ("GET",))
        self.emit(RouteDecl(self.file.location(call), framework="flask", owner=self.n.ref(owner),
                            methods=methods, path=path, handler=ref, class_based=class_based))

    def _add_api_route(self, call, owner) -> None:
        path = w.const_str(w.argument(call, 0, "path"))
        endpoint = w.argument(call, 1, "endpoint")
        if path is None or endpoint is None:
            return
        declared = w.str_items(w.keyword(call, "methods"))
        deps = w.keyword(call, "dependencies")
        self.emit(RouteDecl(self.file.location(call), framework="fastapi", owner=self.n.ref(owner),
                            methods=tuple(m.upper() for m in declared) if declared else ("GET",),
                            path=path, handler=self.n.ref(endpoint),
                            status_code=w.status_value(w.keyword(call, "status_code")),
                            dependencies=self._deps(deps.elts if isinstance(deps, (ast.List, ast.Tuple)) else [])))

    def _add_resource(self, call, owner) -> None:
        if call.func.attr == "add_namespace":
            path = w.const_str(w.keyword(call, "path"))
            self.emit(IncludeFact(self.file.location(call), parent=self.n.ref(owner),
                                  child=self.n.ref(call.args[0]), prefix=path))
            return
        for arg in call.args[1:]:
            path = w.const_str(arg)
            if path is not None:
                self.emit(RouteDecl(self.file.location(call), framework="flask",
                                    owner=self.n.ref(owner), methods=(), path=path,
                                    handler=self.n.ref(call.args[0]), class_based=True))

    def _register(self, call, owner) -> None:
        owner_ref = self.n.ref(owner)
        ctor = self.routers.get(owner_ref)
        viewset = call.args[1]
        if ctor is None and not w.last(w.dotted(viewset)).endswith(("ViewSet", "Viewset", "View", "API")):
            return
        if ctor is not None and not any(ctor.startswith(r) for r in DRF_ROUTERS) and not ctor.endswith(
                ("Router", "Router:noslash")):
            return
        self.emit(RegisterFact(self.file.location(call), router=owner_ref,
                               prefix=_regex_to_path(w.const_str(call.args[0]) or ""), viewset=self.n.ref(viewset),
                               trailing_slash=not (ctor or "").endswith(":noslash")))

    def _starlette_list(self, node, owner: str) -> None:
        for item in node.elts:
            if not isinstance(item, ast.Call):
                continue
            name = w.last(w.dotted(item.func))
            if name in ("Route", "APIRoute"):
                path = w.const_str(w.argument(item, 0, "path"))
                endpoint = w.argument(item, 1, "endpoint")
                if path is None or endpoint is None:
                    continue
                declared = w.str_items(w.keyword(item, "methods"))
                ref, _ = self._view_target(endpoint)
                self.emit(RouteDecl(self.file.location(item), framework="fastapi", owner=owner,
                                    methods=tuple(m.upper() for m in declared) if declared else (),
                                    path=path, handler=ref, class_based=not declared))
            elif name == "Mount":
                path = w.const_str(w.argument(item, 0, "path")) or ""
                routes = w.keyword(item, "routes")
                app = w.keyword(item, "app")
                if isinstance(routes, (ast.List, ast.Tuple)):
                    child = f"{owner}@mount{item.lineno}"
                    self.emit(IncludeFact(self.file.location(item), parent=owner, child=child, prefix=path))
                    self._starlette_list(routes, child)
                elif isinstance(routes, (ast.Name, ast.Attribute)) or app is not None:
                    self.emit(IncludeFact(self.file.location(item), parent=owner,
                                          child=self.n.ref(routes if routes is not None else app), prefix=path))

    # -- module level: urlpatterns, settings, aliases, Starlette route lists ------------

    def _module_level(self, tree) -> None:
        for node in tree.body:
            target, value, augmented = None, None, False
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                target, value, augmented = node.target.id, node.value, True
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(
                    node.value.func, ast.Attribute) and isinstance(node.value.func.value, ast.Name) \
                    and node.value.func.value.id == "urlpatterns" and node.value.args:
                arg = node.value.args[0]
                if node.value.func.attr == "append":
                    self._urlpatterns(ast.List(elts=[arg]), ())
                elif node.value.func.attr == "extend":
                    self._urlpatterns(arg, ())
                continue
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                        names = item.targets if isinstance(item, ast.Assign) else [item.target]
                        text = w.const_str(item.value)
                        if text is not None and text.startswith("/") and len(text) < 200:
                            for name in names:
                                if isinstance(name, ast.Name):
                                    self.emit(SettingFact(self.file.location(item), name="const",
                                                          target=f"{self.module}.{node.name}.{name.id}",
                                                          values=(text,)))
                continue
            if target is None or value is None:
                continue
            text = w.const_str(value)
            if text is not None and text.startswith("/") and len(text) < 200:
                self.emit(SettingFact(self.file.location(node), name="const",
                                      target=f"{self.module}.{target}", values=(text,)))
            elif isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)) \
                    and w.last(w.dotted(value.func))[:1].isupper():
                self.emit(SettingFact(self.file.location(node), name="instance",
                                      target=f"{self.module}.{target}", values=(self.n.ref(value.func),)))
            if target == "urlpatterns":
                self._urlpatterns(value, ())
            elif target == "REST_FRAMEWORK" and isinstance(value, ast.Dict):
                self._drf_settings(value)
            elif target in ("MIDDLEWARE", "INSTALLED_APPS", "AUTHENTICATION_BACKENDS", "MIDDLEWARE_CLASSES"):
                items = w.str_items(value) if not augmented else w.str_items(value)
                if items:
                    self.emit(SettingFact(self.file.location(node), name=f"django:{target}",
                                          target="*", values=items))
            elif target == "ROOT_URLCONF" and w.const_str(value):
                self.emit(SettingFact(self.file.location(node), name="django:ROOT_URLCONF",
                                      target="*", values=(w.const_str(value),)))
            elif isinstance(value, (ast.List, ast.Tuple)) and any(
                    isinstance(e, ast.Call) and w.last(w.dotted(e.func)) in URL_FUNCS
                    and w.last(w.dotted(e.func)) != "url" or (isinstance(e, ast.Call) and
                                                             w.dotted(e.func) == "url" and e.args
                                                             and w.const_str(e.args[0]) is not None)
                    for e in value.elts):
                # extra_patterns = [path(...)], included elsewhere with include(extra_patterns)
                self._url_module = f"{self.module}.{target}"
                try:
                    self._urlpatterns(value, ())
                finally:
                    self._url_module = self.module
            elif isinstance(value, (ast.List, ast.Tuple)) and any(
                    isinstance(e, ast.Call) and w.last(w.dotted(e.func)) in ("Route", "Mount")
                    for e in value.elts):
                self._starlette_list(value, f"{self.module}.{target}")
            elif isinstance(value, ast.Subscript) and w.last(w.dotted(value.value)) == "Annotated":
                items = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
                deps = [self._dep_name(t) for t in map(w.depends_target, items[1:]) if t is not None]
                if deps:
                    self.emit(AliasFact(self.file.location(node), ref=f"{self.module}.{target}",
                                        values=tuple(deps)))
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                    and value.func.attr == "as_view":
                self.emit(AliasFact(self.file.location(node), ref=f"{self.module}.{target}",
                                    values=("as_view:" + self.n.ref(value.func.value),)))
            elif isinstance(value, ast.Call) and w.depends_target(value) is not None:
                self.emit(AliasFact(self.file.location(node), ref=f"{self.module}.{target}",
                                    values=(self._dep_name(w.depends_target(value)),)))

    def _drf_settings(self, value: ast.Dict) -> None:
        for key, item in zip(value.keys, value.values):
            name = w.const_str(key)
            if not name or not name.startswith("DEFAULT_"):
                continue
            if isinstance(item, (ast.List, ast.Tuple)):
                values = tuple(v for v in (w.const_str(e) for e in item.elts) if v)
            else:
                single = w.const_str(item)
                values = (single,) if single else ()
            self.emit(SettingFact(self.file.location(key), name=f"drf:{name}", target="*", values=values))

    def _urlpatterns(self, value, nested: tuple[str, ...]) -> None:
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            self._urlpatterns(value.left, nested)
            self._urlpatterns(value.right, nested)
            return
        if isinstance(value, ast.Call) and w.last(w.dotted(value.func)) in ("i18n_patterns",
                                                                           "format_suffix_patterns"):
            for arg in value.args[:1] if w.last(w.dotted(value.func)) == "format_suffix_patterns" else value.args:
                if isinstance(arg, (ast.List, ast.Tuple)):
                    self._urlpatterns(arg, nested)
                else:
                    self._url_entry(arg, nested)
            return
        if isinstance(value, ast.Attribute) and value.attr == "urls":  # router.urls
            self.emit(UrlPatternFact(self.file.location(value), module=self._url_module, path="",
                                     target_kind="router", target=self.n.ref(value.value), nested=nested))
            return
        if not isinstance(value, (ast.List, ast.Tuple)):
            return
        for item in value.elts:
            self._url_entry(item, nested)

    def _url_entry(self, item, nested) -> None:
        if isinstance(item, ast.Starred):
            self._urlpatterns(item.value, nested)
            return
        if not isinstance(item, ast.Call) or w.last(w.dotted(item.func)) not in URL_FUNCS:
            return
        route_node = w.argument(item, 0, "route") or w.argument(item, 0, "regex")
        view = w.argument(item, 1, "view")
        if route_node is None or view is None:
            return
        route = w.const_str(route_node)
        if route is None:
            return
        regex = w.last(w.dotted(item.func)) != "path"
        route = _regex_to_path(route) if regex else route
        decorators: list[str] = []
        while isinstance(view, ast.Call) and not (isinstance(view.func, ast.Attribute) and view.func.attr
                                                  in ("as_view", "urls")) \
                and w.last(w.dotted(view.func)) != "include" and len(view.args) == 1:
            decorators.append(self.n.ref(view.func.func if isinstance(view.func, ast.Call) else view.func)
                              or w.dotted(view.func))
            view = view.args[0]
        loc = self.file.location(item)
        if isinstance(view, ast.Call) and w.last(w.dotted(view.func)) == "include":
            inner = view.args[0] if view.args else None
            if isinstance(inner, ast.Tuple) and inner.elts:
                inner = inner.elts[0]
            if isinstance(inner, (ast.List, ast.Tuple)):
                for sub in inner.elts:
                    self._url_entry(sub, nested + (route,))
                return
            if isinstance(inner, ast.Attribute) and inner.attr == "urls":
                self.emit(UrlPatternFact(loc, module=self._url_module, path=route, target_kind="router",
                                         target=self.n.ref(inner.value), nested=nested,
                                         decorators=tuple(decorators)))
                return
            name = w.const_str(inner)
            if name is None and isinstance(inner, (ast.Name, ast.Attribute)):
                name = self.n.ref(inner)  # include(urls_module) or include(patterns_list)
            if name:
                self.emit(UrlPatternFact(loc, module=self._url_module, path=route, target_kind="include",
                                         target=name, nested=nested, decorators=tuple(decorators)))
            return
        if isinstance(view, ast.Attribute) and view.attr == "urls":  # admin.site.urls, router.urls
            kind = "external" if w.dotted(view).endswith("site.urls") else "router"
            self.emit(UrlPatternFact(loc, module=self._url_module, path=route, target_kind=kind,
                                     target=self.n.ref(view.value), nested=nested))
            return
        methods: tuple[str, ...] = ()
        actions: tuple[str, ...] = ()
        if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute) and view.func.attr == "as_view":
            mapping = view.args[0] if view.args else w.keyword(view, "actions")
            if isinstance(mapping, ast.Dict):
                pairs = [(w.const_str(k), w.const_str(v)) for k, v in zip(mapping.keys, mapping.values)]
                pairs = [(k, v) for k, v in pairs if k and v]
                methods = tuple(k.upper() for k, _ in pairs)
                actions = tuple(v for _, v in pairs)
            target = self.n.ref(view.func.value)
        elif isinstance(view, (ast.Name, ast.Attribute)):
            target = self.n.ref(view)
        else:
            return
        self.emit(UrlPatternFact(loc, module=self._url_module, path=route, target_kind="view", target=target,
                                 methods=methods, actions=actions, decorators=tuple(decorators),
                                 nested=nested))

    # -- handler bodies -----------------------------------------------------------------

    def _body(self, func, ref: str) -> None:
        if id(func) in self._handlers_seen:
            return
        self._handlers_seen.add(id(func))
        source = self.file.source_segment(func)
        unbounded, where = unbounded_result(func)
        self.emit(BodyFact(
            self.file.location(func), ref=ref,
            auth_inline=bool(_AUTH_BODY.search(source)),
            limit_inline=bool(_LIMIT_BODY.search(_without_decorators(func, source, self.file))),
            signature_check=bool(_SIGNATURE_BODY.search(source)),
            renders_html=bool(_HTML_BODY.search(source)),
            unbounded=unbounded,
            unbounded_location=self.file.location(where) if where is not None else None,
            paginated=bool(_PAGINATION_WORDS.search(source))))


def _custom_queryset(cls, file) -> str:
    """'' (no get_queryset), 'single' (it filters on a primary key or the user's own id),
    'bounded' (it slices or limits), 'custom'."""
    method = next((i for i in cls.body if isinstance(i, ast.FunctionDef) and i.name == "get_queryset"), None)
    if method is None:
        return ""
    source = file.source_segment(method)
    if re.search(r"\b(id|pk)\s*=\s*self\.request\.user|\b(id|pk)\s*=\s*self\.kwargs", source):
        return "single"
    if re.search(r"\[\s*:|\.limit\(|paginat", source):
        return "bounded"
    return "custom"


def _without_decorators(func, source: str, file) -> str:
    # Decorators (like @limiter.limit) are judged from the facts, not the body text.
    body = func.body
    if not body:
        return source
    return "\n".join(file.source_segment(stmt) for stmt in body)


def _regex_to_path(pattern: str) -> str:
    text = pattern
    if text.startswith("^"):
        text = text[1:]
    if text.endswith("$"):
        text = text[:-1]
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return text.replace("\\.", ".").replace("\\-", "-")


# -- unbounded query results (for BL404) -------------------------------------------------

_ORM_MANY = ("all", "filter", "exclude", "order_by", "select_related", "prefetch_related",
             "values", "values_list", "annotate", "distinct", "only", "defer", "filter_by",
             "where", "join", "options", "scalars", "using")
_SINGLE = ("get", "first", "last", "one", "one_or_none", "scalar", "scalar_one", "count",
           "exists", "aggregate", "get_or_404", "first_or_404", "one_or_404", "scalar_one_or_none",
           "latest", "earliest", "in_bulk", "get_object_or_404", "delete", "update")
_BOUNDS = ("limit", "paginate", "slice", "offset", "fetchmany", "page", "iterator", "paginate_queryset")


def _chain(node) -> list[str]:
    """Attribute/call names along a method chain, innermost first."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            names.append("[]")
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            break
        else:
            break
    return list(reversed(names))


def _query_kind(node) -> str:
    """'' or a description of an unbounded many-rows query expression."""
    if not isinstance(node, (ast.Call, ast.Attribute)):
        return ""
    chain = _chain(node)
    if not chain or any(n in _BOUNDS or n == "[]" for n in chain) or chain[-1] in _SINGLE:
        return ""
    text = ".".join(chain)
    if "objects" in chain and chain[-1] in _ORM_MANY:
        return f"`{text}()` (a Django queryset)"
    if chain[-1] == "all" and ("query" in chain or "scalars" in chain or "exec" in chain or "execute" in chain):
        return f"`{text}()` (an SQLAlchemy query)"
    if chain[-1] == "fetchall":
        return f"`{text}()`"
    return ""


def unbounded_result(func) -> tuple[str, ast.AST | None]:
    """A many-rows query with no limit that the handler returns (directly, through local
    names, comprehensions or serializers). ('', None) when there is none, or when the
    body shows any sign of bounding or pagination."""
    tainted: dict[str, tuple[str, ast.AST]] = {}
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            kind, where = _find_query(stmt.value, tainted)
            name = stmt.targets[0].id
            if kind:
                tainted[name] = (kind, where)
            elif name in tainted:
                # re-assigned to something else (e.g. sliced): no longer unbounded
                bounded = any(isinstance(n, ast.Subscript) or (isinstance(n, ast.Attribute) and n.attr in _BOUNDS)
                              for n in ast.walk(stmt.value))
                if bounded:
                    del tainted[name]
    for stmt in ast.walk(func):
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            kind, where = _find_query(stmt.value, tainted)
            if kind:
                return kind, where
    return "", None


def _safe(function):
    """Very deep expressions (generated code) give up instead of failing the extractor."""
    def wrapper(*args):
        try:
            return function(*args)
        except RecursionError:
            return "", None
    return wrapper


unbounded_result = _safe(unbounded_result)


def _find_query(expr, tainted) -> tuple[str, ast.AST | None]:
    if isinstance(expr, (ast.Call, ast.Attribute, ast.Subscript)):
        kind = _query_kind(expr)
        if kind:
            return kind, expr
        chain = _chain(expr)
        if chain and (chain[-1] in _SINGLE or chain[-1] in _BOUNDS or chain[-1] in ("len", "bool", "str", "int")):
            return "", None
        # Walk down the chain: arguments are looked into, receivers only for their head.
        node = expr
        while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Subscript):
                return "", None  # qs[:20], rows[0]
            if isinstance(node, ast.Call):
                for arg in list(node.args) + [k.value for k in node.keywords]:
                    found = _find_query(arg, tainted)
                    if found[0]:
                        return found
                node = node.func
            else:
                node = node.value
        if isinstance(node, ast.Name) and node.id in tainted:
            return tainted[node.id]
        return _find_query(node, tainted) if not isinstance(node, ast.Name) else ("", None)
    if isinstance(expr, ast.Name):
        return tainted.get(expr.id, ("", None))
    if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        for gen in expr.generators:
            found = _find_query(gen.iter, tainted)
            if found[0]:
                return found
        return "", None
    for child in ast.iter_child_nodes(expr):
        found = _find_query(child, tainted)
        if found[0]:
            return found
    return "", None
