"""The project's route model: the route facts of every file joined into routes with full
paths, methods, handlers and what protects them.

- Flask / FastAPI / Starlette: a route declared on an object (app, blueprint, router,
  route list) gets the prefixes of every chain of `register_blueprint` / `include_router`
  / `mount` calls leading to it (Flask: the registration's `url_prefix` replaces the
  blueprint's own; FastAPI: the include prefix and the router's own prefix add up).
- Django: `urlpatterns` are walked from ROOT_URLCONF (or from every urls module nobody
  includes), through `include()` of modules (matched by dotted name, also when the
  project root is above the import root), inline lists and DRF routers' `urls`.
- DRF: a router registration expands into the routes DefaultRouter/SimpleRouter make:
  list (`list`, `create`), detail (`retrieve`, `update`, `partial_update`, `destroy`) and
  `@action` routes, for the actions the viewset has (own methods, DRF base classes and
  mixins, project base classes).

Object references are dotted names; a reference that does not match exactly is matched by
its longest dotted suffix (`app.api.users.router` finds `backend.app.api.users.router`)."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from .. import knowledge
from ..facts.routes import (ROUTE_KINDS, AliasFact, BodyFact, IncludeFact, RegisterFact, RouteDecl,
                            RouterFact, SettingFact, UrlPatternFact, ViewFact, ViewMethod)
from ..findings import Confidence, Location
from ..rule import ProjectRule
from . import web_ast as w

DRF_BASE_NAMES = {"APIView", "GenericAPIView", "ViewSet", "GenericViewSet", "ModelViewSet",
                  "ReadOnlyModelViewSet", "ViewSetMixin"} | {
    k for k in w.GENERIC_VIEW_METHODS if k.endswith("APIView")} | set(w.MIXIN_ACTIONS)

# Routes of URL configurations shipped with Django, included by module name.
KNOWN_URLCONFS = {
    "django.contrib.auth.urls": (
        ("login/", ("GET", "POST"), "django.contrib.auth.views.LoginView"),
        ("logout/", ("POST",), "django.contrib.auth.views.LogoutView"),
        ("password_change/", ("GET", "POST"), "django.contrib.auth.views.PasswordChangeView"),
        ("password_change/done/", ("GET",), "django.contrib.auth.views.PasswordChangeDoneView"),
        ("password_reset/", ("GET", "POST"), "django.contrib.auth.views.PasswordResetView"),
        ("password_reset/done/", ("GET",), "django.contrib.auth.views.PasswordResetDoneView"),
        ("reset/<uidb64>/<token>/", ("GET", "POST"), "django.contrib.auth.views.PasswordResetConfirmView"),
        ("reset/done/", ("GET",), "django.contrib.auth.views.PasswordResetCompleteView"),
    ),
}
# Views of DRF, simplejwt and Django that set their own permission classes (none).
OWN_PERMISSIONS_VIEWS = {"obtain_auth_token", "ObtainAuthToken", "TokenObtainPairView",
                         "TokenRefreshView", "TokenVerifyView", "TokenBlacklistView",
                         "TokenObtainSlidingView", "TokenRefreshSlidingView", "LoginView",
                         "PasswordResetView", "PasswordResetConfirmView", "obtain_jwt_token",
                         "refresh_jwt_token", "verify_jwt_token"}
KNOWN_FUNCTION_VIEWS = {"obtain_auth_token": ("POST",), "obtain_jwt_token": ("POST",),
                        "refresh_jwt_token": ("POST",), "verify_jwt_token": ("POST",)}


@dataclass
class Route:
    framework: str
    methods: tuple[str, ...]
    path: str
    handler: str  # dotted name of the handler (function, Class, or Class.method)
    location: Location  # the handler's definition (or the declaration when unknown)
    declared_at: Location  # the decorator, registration call or path() entry
    local_path: str = ""  # the path text written at `declared_at`
    app: str = ""  # the root object (app) or root urls module
    decorators: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()  # router chain, root first
    status_code: int | None = None
    action: str = ""  # DRF viewset action or class method name
    view: ViewFact | None = None
    view_method: ViewMethod | None = None
    body: BodyFact | None = None
    drf: bool = False
    # Reached from an application (a Flask/FastAPI app object, Django's ROOT_URLCONF)?
    # Routes of a blueprint nobody registers or of a library's URLconf are not.
    confirmed: bool = True

    @property
    def handler_name(self) -> str:
        parts = self.handler.split(".")
        if self.view is not None and self.view.is_class and self.handler != self.view.ref:
            return ".".join(parts[-2:])
        return parts[-1]

    def as_dict(self) -> dict:
        return {"methods": list(self.methods), "path": self.path, "framework": self.framework,
                "handler": self.handler, "file": self.location.path, "line": self.location.line,
                "declared_at": f"{self.declared_at.path}:{self.declared_at.line}",
                "decorators": list(self.decorators), "dependencies": list(self.dependencies),
                "status_code": self.status_code, "action": self.action or None,
                "app": self.app}


class Resolver:
    """Finds a key for a dotted reference: exactly, else by the longest dotted suffix
    shared with a key of the same last name."""

    def __init__(self, keys) -> None:
        self.keys = set(keys)
        self.by_last: dict[str, list[str]] = {}
        for key in sorted(self.keys):
            self.by_last.setdefault(key.rsplit(".", 1)[-1], []).append(key)

    def find(self, ref: str) -> str | None:
        if not ref:
            return None
        if ref in self.keys:
            return ref
        candidates = self.by_last.get(ref.rsplit(".", 1)[-1], [])
        best, best_score, tie = None, 0, False
        parts = ref.split(".")
        for key in candidates:
            kparts = key.split(".")
            score = 0
            while score < min(len(parts), len(kparts)) and parts[-1 - score] == kparts[-1 - score]:
                score += 1
            if score > best_score:
                best, best_score, tie = key, score, False
            elif score == best_score:
                tie = True
        if best is None:
            return None
        if best_score >= 2 and not tie:
            return best
        if len(candidates) == 1 and (best_score >= 2 or len(parts) == 1 or len(best.split(".")) == 1):
            return best
        if best_score >= 2 and tie:
            return None
        return best if len(candidates) == 1 and best_score >= 1 and _is_class_like(ref) else None


def _is_class_like(ref: str) -> bool:
    name = ref.rsplit(".", 1)[-1]
    return bool(name) and name[0].isupper()


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix or "/"
    if not prefix:
        return path if path.startswith("/") else "/" + path
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def _django_join(*parts: str) -> str:
    text = "".join(parts)
    text = "/" + text.lstrip("/")
    return re.sub(r"/{2,}", "/", text)


class RouteModel:
    def __init__(self, facts) -> None:
        self.decls: list[RouteDecl] = facts.of(RouteDecl)
        self.router_facts: list[RouterFact] = facts.of(RouterFact)
        self.includes: list[IncludeFact] = facts.of(IncludeFact)
        self.patterns: list[UrlPatternFact] = facts.of(UrlPatternFact)
        self.registers: list[RegisterFact] = facts.of(RegisterFact)
        self.settings: list[SettingFact] = facts.of(SettingFact)
        self.views: dict[str, ViewFact] = {}
        for view in facts.of(ViewFact):
            self.views.setdefault(view.ref, view)
        self.bodies: dict[str, BodyFact] = {}
        for body in facts.of(BodyFact):
            self.bodies.setdefault(body.ref, body)
        self.aliases: dict[str, tuple[str, ...]] = {}
        for alias in facts.of(AliasFact):
            self.aliases[alias.ref] = self.aliases.get(alias.ref, ()) + alias.values
        self.routers: dict[str, RouterFact] = {}
        for router in self.router_facts:
            self.routers.setdefault(router.ref, router)
        for router in self.router_facts:
            if router.routes_list:
                self.includes.append(IncludeFact(router.location, parent=router.ref,
                                                 child=router.routes_list, prefix=""))
        # Objects that are defined somewhere (routers, route owners) come first; names seen
        # only in include calls are kept as they are when they match none of them.
        self.objects = Resolver(o for o in set(self.routers) | {d.owner for d in self.decls} if o)
        self.view_names = Resolver(self.views)
        self.body_names = Resolver(self.bodies)
        self.alias_names = Resolver(self.aliases)
        self.includes_of: dict[str, list[IncludeFact]] = {}
        self.modules: dict[str, list[UrlPatternFact]] = {}
        for pattern in self.patterns:
            self.modules.setdefault(pattern.module, []).append(pattern)
        self.module_names = Resolver(self.modules)
        self.router_registers: dict[str, list[RegisterFact]] = {}
        for reg in self.registers:
            self.router_registers.setdefault(reg.router, []).append(reg)
        self.register_names = Resolver(self.router_registers)
        self.drf_defaults = {s.name[4:]: s.values for s in self.settings if s.name.startswith("drf:")}
        self.django_settings: list[str] = [v for s in self.settings if s.name.startswith("django:")
                                           and s.name != "django:ROOT_URLCONF" for v in s.values]
        self.consts = {s.target: s.values[0] for s in self.settings if s.name == "const"}
        self.instances = {s.target: s.values[0] for s in self.settings if s.name == "instance"}
        self.const_names = Resolver(self.consts)
        self.instance_names = Resolver(self.instances)
        for ref, router in list(self.routers.items()):
            if "{=" in router.prefix:
                self.routers[ref] = _replace(router, prefix=self.fill(router.prefix))
        self.includes = [_replace(i, prefix=self.fill(i.prefix)) if i.prefix and "{=" in i.prefix else i
                         for i in self.includes]
        self.routes: list[Route] = []
        self._build()

    def fill(self, text: str) -> str:
        """Replace `{=dotted.name}` by the constant's value when the project defines it."""
        def value(match) -> str:
            ref = match.group(1)
            key = self.const_names.find(ref)
            if key is None and "." in ref:
                head, attr = ref.rsplit(".", 1)
                cls = self.instance_names.find(head)
                if cls is not None:
                    key = self.const_names.find(f"{self.instances[cls]}.{attr}")
            return self.consts[key] if key is not None else "{" + ref.rsplit(".", 1)[-1] + "}"
        return re.sub(r"\{=([\w.]+)\}", value, text)

    # -- lookups ------------------------------------------------------------------------

    def view(self, ref: str) -> ViewFact | None:
        key = self.view_names.find(ref)
        return self.views.get(key) if key else None

    def body(self, ref: str) -> BodyFact | None:
        key = self.body_names.find(ref)
        return self.bodies.get(key) if key else None

    def alias(self, ref: str) -> tuple[str, ...]:
        key = self.alias_names.find(ref)
        return self.aliases.get(key, ()) if key else ()

    def settings_named(self, name: str) -> list[SettingFact]:
        return [s for s in self.settings if s.name == name]

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        for inc in self.includes:
            child = self.objects.find(inc.child) or inc.child
            self.includes_of.setdefault(child, []).append(inc)
        for decl in self.decls:
            self._decl_routes(decl)
        covered_routers: set[str] = set()
        self._django_routes(covered_routers)
        for router, regs in self.router_registers.items():
            if router not in covered_routers:
                for reg in regs:
                    self._viewset_routes(reg, "/", (), reg.location, "")
        confirmed_roots = {self.module_names.find(s.values[0]) for s in self.settings_named("django:ROOT_URLCONF")}
        for route in self.routes:
            if route.framework in ("flask", "fastapi"):
                router = self.routers.get(route.app)
                route.confirmed = router is not None and router.is_app
            else:
                route.confirmed = route.app in confirmed_roots
        seen = set()
        unique = []
        for route in self.routes:
            key = (route.methods, route.path, route.handler, route.declared_at)
            if key not in seen:
                seen.add(key)
                unique.append(route)
        self.routes = sorted(unique, key=lambda r: (r.app, r.path, r.methods))

    def _mounts(self, ref: str, seen: frozenset = frozenset()):
        """[(prefix, root, dependencies, owner chain)] of every way `ref` is reached."""
        key = self.objects.find(ref) or ref
        router = self.routers.get(key)
        own_prefix = router.prefix if router else ""
        own_deps = router.dependencies if router else ()
        incs = self.includes_of.get(key, [])
        if not incs or key in seen:
            return [(own_prefix, key, own_deps, (key,))]
        out = []
        flask = router is not None and router.framework == "flask"
        for inc in incs:
            if flask:
                child_prefix = inc.prefix if inc.prefix is not None else own_prefix
            else:
                child_prefix = _join(inc.prefix or "", own_prefix) if (inc.prefix or own_prefix) else ""
            for prefix, root, deps, chain in self._mounts(inc.parent, seen | {key}):
                out.append((_join(prefix, child_prefix) if child_prefix else prefix, root,
                            deps + inc.dependencies + own_deps, chain + (key,)))
        return out

    def _decl_routes(self, decl: RouteDecl) -> None:
        view = self.view(decl.handler) if decl.class_based else None
        if decl.class_based and (view is None or not view.is_class) and not _is_class_like(decl.handler):
            # Starlette `Route(path, function)`: a function endpoint serves GET by default.
            from dataclasses import replace

            decl = replace(decl, class_based=False, methods=decl.methods or ("GET",))
            view = None
        for prefix, root, deps, chain in self._mounts(decl.owner):
            path = _join(prefix, decl.path)
            if decl.class_based:
                methods = self.class_methods(view, decl.handler)
                if decl.methods:
                    methods = {m: methods.get(m, (m.lower(), None)) for m in decl.methods}
                for method, (name, vm) in methods.items():
                    handler = f"{view.ref}.{name}" if view and vm else (view.ref if view else decl.handler)
                    self.routes.append(Route(
                        decl.framework, (method,), path, handler,
                        _method_location(view, vm) or decl.handler_location or decl.location,
                        decl.location, decl.path, root,
                        decl.decorators + (view.decorators if view else ()) + (vm.decorators if vm else ()),
                        deps + decl.dependencies, chain, decl.status_code, name, view, vm,
                        self.body(handler) if vm else None, drf=self.is_drf(view)))
            else:
                fview = self.view(decl.handler)
                self.routes.append(Route(
                    decl.framework, decl.methods, path, decl.handler,
                    decl.handler_location or (fview.location if fview else decl.location),
                    decl.location, decl.path, root, decl.decorators + (fview.decorators if fview and not
                                                                       decl.decorators else ()),
                    deps + decl.dependencies, chain, decl.status_code, "", fview, None,
                    self.body(decl.handler)))

    # -- class-based views --------------------------------------------------------------

    def _lineage(self, view: ViewFact | None, seen=None) -> list:
        """The view and its project base classes (ViewFacts), then the names of the bases
        outside the project."""
        out: list = []
        if view is None:
            return out
        seen = seen or set()
        if view.ref in seen:
            return out
        seen.add(view.ref)
        out.append(view)
        for base in view.bases:
            found = self.view(base)
            if found is not None and found.ref not in seen:
                out.extend(self._lineage(found, seen))
            else:
                out.append(base)
        return out

    def is_drf(self, view: ViewFact | None) -> bool:
        if view is None:
            return False
        if view.api_view_methods is not None:
            return True
        for item in self._lineage(view):
            if isinstance(item, str) and ("rest_framework" in item or w.last(item) in DRF_BASE_NAMES):
                return True
        return False

    def class_attr(self, view: ViewFact | None, attr: str):
        for item in self._lineage(view):
            if isinstance(item, ViewFact) and getattr(item, attr) not in (None, False, ""):
                return getattr(item, attr)
            if isinstance(item, ViewFact) and attr == "pagination_class" and item.pagination_class == "":
                return ""
        return None

    def class_methods(self, view: ViewFact | None, ref: str) -> dict[str, tuple[str, ViewMethod | None]]:
        """HTTP method -> (handler method name, its ViewMethod or None when inherited)."""
        methods: dict[str, tuple[str, ViewMethod | None]] = {}
        if view is None:
            for method in w.GENERIC_VIEW_METHODS.get(w.last(ref), ("GET",)):
                methods[method] = (method.lower(), None)
            return methods
        for item in self._lineage(view):
            if isinstance(item, ViewFact):
                for vm in item.methods:
                    if vm.name in w.CLASS_METHOD_NAMES and vm.action_detail is None:
                        methods.setdefault(vm.name.upper(), (vm.name, vm))
            else:
                for method in w.GENERIC_VIEW_METHODS.get(w.last(item), ()):
                    methods.setdefault(method, (method.lower(), None))
        allowed = self.class_attr(view, "http_method_names")
        if allowed:
            methods = {m: v for m, v in methods.items() if m in allowed}
        for extra in ("HEAD", "OPTIONS"):
            if extra in methods and methods[extra][1] is None:
                del methods[extra]
        order = {m: i for i, m in enumerate(w.HTTP_METHODS)}
        return dict(sorted(methods.items(), key=lambda kv: order.get(kv[0], 99)))

    def viewset_actions(self, view: ViewFact | None) -> tuple[dict[str, ViewMethod | None], list[ViewMethod]]:
        actions: dict[str, ViewMethod | None] = {}
        extra: list[ViewMethod] = []
        for item in self._lineage(view):
            if isinstance(item, ViewFact):
                for vm in item.methods:
                    if vm.action_detail is not None:
                        if all(e.name != vm.name for e in extra):
                            extra.append(vm)
                    elif vm.name in w.LIST_ACTIONS or vm.name in w.DETAIL_ACTIONS:
                        actions.setdefault(vm.name, vm)
            else:
                name = w.last(item)
                for action in w.VIEWSET_ACTIONS.get(name, ()) + w.MIXIN_ACTIONS.get(name, ()):
                    actions.setdefault(action, None)
        allowed = self.class_attr(view, "http_method_names")
        if allowed:
            actions = {a: vm for a, vm in actions.items()
                       if {**w.LIST_ACTIONS, **w.DETAIL_ACTIONS}[a] in allowed}
        return actions, extra

    # -- Django ---------------------------------------------------------------------------

    def _django_roots(self) -> list[str]:
        roots = []
        for setting in self.settings_named("django:ROOT_URLCONF"):
            found = self.module_names.find(setting.values[0])
            if found and found not in roots:
                roots.append(found)
        included = set()
        for pattern in self.patterns:
            if pattern.target_kind == "include":
                found = self.module_names.find(pattern.target)
                if found:
                    included.add(found)
        for module in sorted(self.modules):
            if module.rpartition(".")[0] in self.modules:
                continue  # a pattern list inside a urls module (include(extra_patterns))
            if module not in included and module not in roots:
                if not roots or not any(module == r for r in roots):
                    roots.append(module)
        if any(self.settings_named("django:ROOT_URLCONF")):
            configured = [r for r in roots if any(self.module_names.find(s.values[0]) == r
                                                  for s in self.settings_named("django:ROOT_URLCONF"))]
            others = [r for r in roots if r not in configured]
            return configured + others
        return roots

    def _django_routes(self, covered_routers: set[str]) -> None:
        visited: set[str] = set()
        for root in self._django_roots():
            if root in visited:
                continue
            self._walk_urls(root, "", (), root, visited, covered_routers, 0)

    def _walk_urls(self, module: str, prefix: str, decorators: tuple[str, ...], root: str,
                   visited: set[str], covered: set[str], depth: int) -> None:
        if depth > 12:
            return
        visited.add(module)
        for pattern in self.modules.get(module, []):
            full = _django_join(prefix, *pattern.nested, pattern.path)
            decos = decorators + pattern.decorators
            if pattern.target_kind == "include":
                target = self.module_names.find(pattern.target)
                if target and target != module:
                    self._walk_urls(target, full, decos, root, visited, covered, depth + 1)
                elif pattern.target in KNOWN_URLCONFS:
                    for sub, methods, view in KNOWN_URLCONFS[pattern.target]:
                        # Django's own password-change views require login.
                        extra = ("django.contrib.auth.decorators.login_required",) \
                            if "PasswordChange" in view else ()
                        self.routes.append(Route("django", methods, _django_join(full, sub), view,
                                                 pattern.location, pattern.location, pattern.path,
                                                 root, decos + extra, action=w.last(view)))
            elif pattern.target_kind == "router":
                router = self.register_names.find(pattern.target)
                if router:
                    covered.add(router)
                    for reg in self.router_registers[router]:
                        self._viewset_routes(reg, full, decos, pattern.location, root)
            elif pattern.target_kind == "view":
                self._django_view(pattern, full, decos, root)

    def _django_view(self, pattern: UrlPatternFact, path: str, decorators, root: str) -> None:
        view = self.view(pattern.target)
        if view is None:  # user_detail_view = UserDetailView.as_view()
            aliased = [v[8:] for v in self.alias(pattern.target) if v.startswith("as_view:")]
            if aliased:
                from dataclasses import replace

                pattern = replace(pattern, target=aliased[0])
                view = self.view(pattern.target)
        if view is None or not view.is_class:
            if view is not None:
                methods = view.api_view_methods or view.require_methods or tuple(
                    dict.fromkeys(("GET",) + view.body_methods))
                self.routes.append(Route(
                    "drf" if view.api_view_methods is not None else "django", tuple(methods), path,
                    view.ref, view.location, pattern.location, pattern.path, root,
                    decorators + view.decorators, (), (), None, "", view, None, self.body(view.ref),
                    drf=view.api_view_methods is not None))
            else:
                name = w.last(pattern.target)
                if name[:1].isupper():
                    methods = w.GENERIC_VIEW_METHODS.get(name, ("GET",))
                    for method in methods:
                        self.routes.append(Route("django", (method,), path, pattern.target,
                                                 pattern.location, pattern.location, pattern.path, root,
                                                 decorators, action=method.lower(),
                                                 drf=name.endswith("APIView") or name.startswith("Token")))
                else:
                    self.routes.append(Route("django", KNOWN_FUNCTION_VIEWS.get(name, ("GET",)), path,
                                             pattern.target, pattern.location, pattern.location,
                                             pattern.path, root, decorators, drf=name in KNOWN_FUNCTION_VIEWS))
            return
        drf = self.is_drf(view)
        framework = "drf" if drf else "django"
        if pattern.methods:  # ViewSet.as_view({"get": "list"})
            defined = {vm.name: vm for item in self._lineage(view) if isinstance(item, ViewFact)
                       for vm in item.methods}
            for method, action in zip(pattern.methods, pattern.actions):
                vm = defined.get(action)
                handler = f"{view.ref}.{action}" if vm else view.ref
                self.routes.append(Route(framework, (method,), path, handler,
                                         _method_location(view, vm) or view.location, pattern.location,
                                         pattern.path, root, decorators + view.decorators +
                                         (vm.decorators if vm else ()), (), (), None, action, view, vm,
                                         self.body(handler) if vm else None, drf=drf))
            return
        for method, (name, vm) in self.class_methods(view, view.ref).items():
            handler = f"{view.ref}.{name}" if vm else view.ref
            self.routes.append(Route(framework, (method,), path, handler,
                                     _method_location(view, vm) or view.location, pattern.location,
                                     pattern.path, root, decorators + view.decorators +
                                     (vm.decorators if vm else ()), (), (), None, name, view, vm,
                                     self.body(handler) if vm else None, drf=drf))

    def _viewset_routes(self, reg: RegisterFact, prefix: str, decorators, where: Location, root: str) -> None:
        view = self.view(reg.viewset)
        slash = "/" if reg.trailing_slash else ""
        base = _django_join(prefix, "/", reg.prefix)
        lookup = (view and self.class_attr(view, "lookup")) or "pk"
        detail = f"{base.rstrip('/')}/<{lookup}>"
        actions, extra = self.viewset_actions(view)
        if view is None:
            actions = {a: None for a in w.VIEWSET_ACTIONS["ModelViewSet"]} if w.last(reg.viewset).endswith(
                "ViewSet") else {}
        ref = view.ref if view else reg.viewset
        for action, vm in actions.items():
            is_list = action in w.LIST_ACTIONS
            method = w.LIST_ACTIONS.get(action) or w.DETAIL_ACTIONS[action]
            path = (base.rstrip("/") if base != "/" else "") + slash if is_list else detail + slash
            path = path or "/"
            handler = f"{ref}.{action}"  # the action, also when a base class or mixin defines it
            self.routes.append(Route("drf", (method,), path, handler,
                                     _method_location(view, vm) or (view.location if view else reg.location),
                                     reg.location, reg.prefix, root, decorators + (view.decorators if view else ())
                                     + (vm.decorators if vm else ()), (), (), None, action, view, vm,
                                     self.body(handler) if vm else None, drf=True))
        for vm in extra:
            stem = detail if vm.action_detail else base.rstrip("/")
            path = f"{stem}/{vm.action_path}{slash}"
            handler = f"{ref}.{vm.name}"
            self.routes.append(Route("drf", vm.action_methods, path, handler,
                                     _method_location(view, vm) or reg.location, reg.location, reg.prefix,
                                     root, decorators + (view.decorators if view else ()) + vm.decorators,
                                     (), (), None, vm.name, view, vm, self.body(handler), drf=True))


def _replace(fact, **changes):
    from dataclasses import replace

    return replace(fact, **changes)


def _method_location(view: ViewFact | None, vm: ViewMethod | None) -> Location | None:
    if view is None or vm is None:
        return None
    # The ViewMethod may belong to a base class in another file: find it by line only when
    # it is this class's own method.
    if vm in view.methods:
        return Location(view.location.path, vm.line)
    return None


# -- protection: authentication and rate limits -------------------------------------------

@knowledge.cached
def _knowledge() -> dict:
    """The shipped `web_frameworks` base plus the run's `extend-knowledge` files."""
    return knowledge.load("web_frameworks")


class Protection:
    """Answers "is this route authenticated / rate limited / declared public?" from the
    knowledge base (`rules/web_frameworks.toml`) and the model's settings and aliases."""

    def __init__(self, model: RouteModel) -> None:
        self.model = model
        self.kb = _knowledge()

    def matches(self, table: str, kind: str, name: str) -> bool:
        name = name.lower()
        for entry in self.kb.get(table, []):
            if entry.get("kind") != kind:
                continue
            for pattern in entry.get("patterns", []):
                if fnmatch.fnmatchcase(name, pattern.lower()):
                    return True
        return False

    def _expanded_deps(self, route: Route) -> list[str]:
        out = []
        for dep in route.dependencies:
            out.append(dep)
            out.extend(self.model.alias(dep.rstrip("()")))
        return out

    def _bases(self, route: Route) -> list[str]:
        return [item for item in self.model._lineage(route.view) if isinstance(item, str)]

    def _classes(self, route: Route, attr: str):
        """The route's permission/throttle classes: the action's, the view's, else None."""
        if route.view_method is not None and getattr(route.view_method, attr) is not None:
            return getattr(route.view_method, attr)
        if route.view is not None:
            value = None
            for item in self.model._lineage(route.view):
                if isinstance(item, ViewFact) and getattr(item, attr) is not None:
                    value = getattr(item, attr)
                    break
            if value is not None:
                return value
        return None

    def owner_settings(self, route: Route, name: str) -> list[SettingFact]:
        found = []
        for setting in self.model.settings_named(name):
            if setting.target == "*":
                found.append(setting)
                continue
            target = self.model.objects.find(setting.target) or setting.target
            if target in route.owners or target == route.app:
                found.append(setting)
        return found

    def public(self, route: Route) -> str:
        for deco in route.decorators:
            if self.matches("public", "decorator", deco):
                return w.last(deco)
        perms = self._classes(route, "permission_classes")
        if perms is not None and route.drf:
            if not perms:
                return "permission_classes = []"
            if all(self.matches("public", "class", p) for p in perms):
                return w.last(perms[0])
        return ""

    def auth(self, route: Route) -> str:
        """The name of what makes the route require authentication, or ''."""
        for deco in route.decorators:
            if self.matches("auth", "decorator", deco) or "auth" in self.model.alias(deco) \
                    or _auth_word(deco):
                return w.last(deco)
        for dep in self._expanded_deps(route):
            if self.matches("auth", "dependency", dep) or "auth" in self.model.alias(dep.rstrip("()")):
                return f"Depends({w.last(dep.rstrip('()'))})"
        if route.view is None and w.last(route.handler) in OWN_PERMISSIONS_VIEWS:
            return ""  # third-party login views set their own (empty) permissions
        perms = self._classes(route, "permission_classes")
        if route.drf:
            if perms is None:
                perms = tuple(self.model.drf_defaults.get("DEFAULT_PERMISSION_CLASSES", ()))
            real = [p for p in perms if not self.matches("public", "class", p)]
            if real:
                return w.last(real[0])
        for base in self._bases(route):
            if self.matches("auth", "class", base):
                return w.last(base)
        for setting in self.owner_settings(route, "auth"):
            return setting.values[0] if setting.values else "before_request"
        for value in self.model.django_settings:
            if self.matches("auth", "middleware", value):
                return w.last(value)
        if route.body is not None and route.body.auth_inline:
            return "a check in the handler"
        return ""

    def rate_limit(self, route: Route) -> str:
        for deco in route.decorators:
            if self.matches("rate_limit", "decorator", deco) or "rate-limit" in self.model.alias(deco):
                return w.last(deco)
        for dep in self._expanded_deps(route):
            if self.matches("rate_limit", "dependency", dep):
                return f"Depends({w.last(dep)})"
        throttles = self._classes(route, "throttle_classes")
        if route.view is None and w.last(route.handler) in ("obtain_auth_token", "ObtainAuthToken"):
            throttles = ()  # DRF's ObtainAuthToken sets throttle_classes = ()
        if route.drf:
            if throttles is None:
                throttles = tuple(self.model.drf_defaults.get("DEFAULT_THROTTLE_CLASSES", ()))
            if throttles:
                return w.last(throttles[0])
        exempt = any(w.last(d) == "exempt" and "limit" in d.lower() for d in route.decorators)
        for setting in [] if exempt else self.owner_settings(route, "rate-limit"):
            return setting.values[0] if setting.values else "an app-wide limiter"
        for value in self.model.django_settings:
            if self.matches("rate_limit", "setting", value):
                return value
        if route.body is not None and route.body.limit_inline:
            return "a check in the handler"
        return ""


_AUTH_DECORATOR = re.compile(r"(login|auth|token|jwt|admin|role|roles|permission|permissions|staff|"
                             r"superuser|owner|member|user|key|session|scope|scopes)s?_required$|"
                             r"^requires?_(login|auth|user|admin|role|token|permission|scope)|"
                             r"^(authenticated|admin_only|staff_only|owner_only|login_only)$")


def _auth_word(name: str) -> bool:
    return bool(_AUTH_DECORATOR.search(w.last(name).lower()))


def build(facts) -> RouteModel:
    return RouteModel(facts)


# -- route naming helpers shared by the rules ---------------------------------------------

_PARAM = re.compile(r"<[^>]*>|\{[^}]*\}|\([^)]*\)|:\w+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words_of(text: str) -> str:
    """'/auth/resetPassword/<token>' -> 'auth/reset_password': lowercase, camelCase and
    dashes as underscores, parameters dropped."""
    text = _PARAM.sub("", text)
    text = _CAMEL.sub("_", text)
    return re.sub(r"[-.\s]+", "_", text.lower())


def segments(path: str) -> list[str]:
    """The literal segments of a path (parameters dropped)."""
    return [s for s in (words_of(part) for part in path.split("/") if not _is_param(part)) if s]


def _is_param(segment: str) -> bool:
    return bool(segment) and bool(_PARAM.fullmatch(segment.strip("^$")))


def ends_with_parameter(path: str) -> bool:
    parts = [p for p in path.rstrip("/").split("/") if p]
    return bool(parts) and _is_param(parts[-1])


DEFAULT_AUTH_ROUTE_PATTERNS = [
    r"log_?in", r"sign_?in", r"authenticate", r"auth_?token", r"(access_|refresh_|jwt_|api_)?tokens?",
    r"refresh", r"obtain", r"(password|pass|pwd)_?(reset|forgot|forgotten|recover|recovery)",
    r"(reset|forgot|forgotten|recover)_?(password|pass|pwd)", r"otp", r"2fa", r"mfa", r"totp",
    r"two_?factor", r"verify_?(otp|code|2fa|mfa|totp)", r"sign_?up", r"register", r"registration",
]
SIGNUP_PATTERNS = ("sign_?up", "register", "registration")


def auth_route_match(route: Route, patterns: list[str]) -> tuple[str, bool]:
    """(the pattern that matched, matched in the path rather than only the handler name)."""
    path_words = "/".join(segments(route.path))
    name_words = words_of(route.handler_name.split(".")[-1])
    for pattern in patterns:
        regex = re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z])")
        if regex.search(path_words):
            return pattern, True
    for pattern in patterns:
        regex = re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z])")
        if regex.search(name_words) and not re.search(r"logout|log_out|sign_?out", name_words):
            return pattern, False
    return "", False


def project_model(rule, facts) -> RouteModel:
    """One model per run, shared by the route rules."""
    cache = getattr(facts, "_route_model", None)
    if cache is None:
        cache = RouteModel(facts)
        try:
            facts._route_model = cache
        except AttributeError:  # pragma: no cover
            pass
    return cache


class RouteProjectRule(ProjectRule):
    """Base of project rules over the route model: findings in test code are dropped
    (routes there are fixtures of the tests), those in docs and examples are reported
    with medium confidence at most."""

    needs = ROUTE_KINDS

    def report_at(self, location, message, *, confidence=None, **extra):
        kind = w.code_context(location.path)
        if kind == "test":
            return None
        if kind == "example":
            confidence = Confidence.MEDIUM if confidence is None else min(confidence, Confidence.MEDIUM)
        return super().report_at(location, message, confidence=confidence, **extra)

    def report_route(self, route, message: str, *, confidence=None):
        """Report at the route's declaration, once per declaration (a handler registered
        under several paths or methods is one finding)."""
        reported = self.__dict__.setdefault("_reported_declarations", set())
        if route.declared_at in reported:
            return None
        reported.add(route.declared_at)
        methods = ", ".join(route.methods)
        return self.report_at(route.declared_at, f"{methods} {route.path} ({route.handler_name}) {message}",
                              confidence=confidence)
