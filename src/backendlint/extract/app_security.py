"""Application security facts (BL305) from Python files: Django settings modules and the
header settings and middleware they define, Flask/FastAPI/Starlette application objects,
and anything that sets security headers (Flask-Talisman, `secure`, header middleware, the
header names themselves in code).

Everything is collected in `visit_` methods during the engine's one walk of the module and
emitted in `finish()`; nothing walks the whole module again."""
from __future__ import annotations

import ast

from ..facts.app_security import (CLICKJACKING, CSP, HSTS, NOSNIFF, AppFact, DjangoSettingsFact,
                                  MiddlewareOp, MountFact, ProtectionFact)
from ..findings import Location
from ..python import calls
from ..python.settings_modules import DJANGO_SETTING_NAMES, is_settings_path
from ..python.web_ast import is_package, module_name
from . import FactExtractor

# Application constructors, by qualified name (as imported) -> framework.
APP_CONSTRUCTORS = {
    "flask.Flask": "flask", "flask.app.Flask": "flask", "quart.Quart": "flask",
    "quart.app.Quart": "flask", "fastapi.FastAPI": "fastapi",
    "fastapi.applications.FastAPI": "fastapi", "starlette.applications.Starlette": "fastapi",
}
# Header libraries: importing one means the application's headers are managed by it.
HEADER_LIBRARIES = {
    "flask_talisman": (HSTS, CSP, NOSNIFF, CLICKJACKING),
    "talisman": (HSTS, CSP, NOSNIFF, CLICKJACKING),
    "secure": (HSTS, CSP, NOSNIFF, CLICKJACKING),  # the `secure` package (secure.py)
    "secweb": (HSTS, CSP, NOSNIFF, CLICKJACKING),  # Secweb (Starlette / FastAPI)
    "flask_csp": (CSP,),
    "csp": (CSP,),  # django-csp
    "starlette_csp": (CSP,),
}
# Header names (lowercase) -> the protection they give.
HEADER_NAMES = {
    "strict-transport-security": HSTS,
    "content-security-policy": CSP,
    "content-security-policy-report-only": CSP,
    "x-content-type-options": NOSNIFF,
    "x-frame-options": CLICKJACKING,
}
# Django settings about headers; CSP settings of django-csp (`CSP_*`,
# `CONTENT_SECURITY_POLICY`) and Django 6 (`SECURE_CSP`) are recognised by prefix.
HEADER_SETTINGS = ("SECURE_HSTS_SECONDS", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS")
CSP_SETTING_PREFIXES = ("CSP_", "CONTENT_SECURITY_POLICY", "SECURE_CSP")
MIDDLEWARE_NAMES = ("MIDDLEWARE", "MIDDLEWARE_CLASSES")
_APP_ARG_NAMES = frozenset({"app", "application", "flask_app", "api", "server", "webapp",
                            "web_app", "asgi_app", "wsgi_app"})


class AppSecurityExtractor(FactExtractor):
    kinds = ("appsec.django", "appsec.app", "appsec.mount", "appsec.protection")
    triggers = ("middleware", "installed_apps", "allowed_hosts", "root_urlconf", "secure",
                "x_frame_options", "csp", "content_security_policy", "import *", "flask",
                "fastapi", "starlette", "quart", "talisman", "strict-transport-security",
                "content-security-policy", "x-content-type-options", "x-frame-options",
                "secweb", "split_settings")

    def __init__(self, file, facts: list) -> None:
        super().__init__(file, facts)
        relpath = file.relpath
        self.module = module_name(relpath)
        self.package = self.module if is_package(relpath) else self.module.rpartition(".")[0]
        self.names: set[str] = set()
        self.settings: dict[str, str] = {}
        self.ops: list[MiddlewareOp] = []
        self.anchor: Location | None = None  # the first `MIDDLEWARE = ...`
        self.star_imports: list[tuple[str, bool, int]] = []
        self.star_anchor: Location | None = None
        self.debug_true = False
        self.split_settings = False
        self.dynamic = False
        self.lists: dict[str, tuple[str, ...]] = {}  # module-level lists of strings
        self.app_refs: set[str] = set()
        self.headers_seen: set[str] = set()
        self.libraries_seen: set[str] = set()
        self.classes_setting: dict[str, ast.ClassDef] = {}  # classes holding header names

    # -- where are we ------------------------------------------------------------------

    def _module_level(self) -> bool:
        return not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
                       for n in self.file.ancestors)

    def _in_try(self) -> bool:
        return any(isinstance(n, ast.Try) or type(n).__name__ == "TryStar" for n in self.file.ancestors)

    def _conditional(self) -> bool:
        return any(isinstance(n, (ast.If, ast.Try)) for n in self.file.ancestors)

    def _in_test(self) -> bool:
        return any((isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test"))
                   or (isinstance(n, ast.ClassDef) and n.name.startswith("Test"))
                   for n in self.file.ancestors)

    def _absolute(self, level: int, module: str | None) -> str:
        if not level:
            return module or ""
        base = self.package.split(".") if self.package else []
        if level > 1:
            base = base[: max(0, len(base) - (level - 1))]
        return ".".join(base + ([module] if module else []))

    def _ref(self, node: ast.AST | None) -> str:
        name = calls.dotted(node)
        if not name:
            return ""
        head = name.split(".")[0]
        if self.file.names.is_imported(head):
            qual = self.file.qualname(node) or name
            if qual.startswith("."):  # `from .v1 import app as v1_app`
                rest = qual.lstrip(".")
                return self._absolute(len(qual) - len(rest), rest)
            return qual
        return f"{self.module}.{name}" if self.module else name

    # -- imports -----------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._library(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = self._absolute(node.level, node.module)
        if not node.level:
            self._library(target, node)
        if any(alias.name == "*" for alias in node.names) and self._module_level():
            self.star_imports.append((target, self._in_try(), node.lineno))
            if self.star_anchor is None and not self._in_try():
                self.star_anchor = self.file.location(node)

    def _library(self, name: str, node: ast.AST) -> None:
        top = name.split(".")[0].lower()
        if top == "split_settings":
            self.split_settings = True
        if top in HEADER_LIBRARIES and top not in self.libraries_seen:
            self.libraries_seen.add(top)
            self.emit(ProtectionFact(self.file.location(node), source=top,
                                     headers=HEADER_LIBRARIES[top]))

    # -- assignments -------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assign(node, target, node.value, augmented=False)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node, node.target, node.value, augmented=False)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._assign(node, node.target, node.value, augmented=True)

    def _assign(self, node: ast.stmt, target: ast.AST, value: ast.AST, augmented: bool) -> None:
        # `app.wsgi_app = SecurityHeaders(app.wsgi_app)`, `app = SomeMiddleware(app)`
        if isinstance(value, ast.Call) and value.args and isinstance(target, (ast.Name, ast.Attribute)):
            first = value.args[0]
            if (isinstance(target, ast.Attribute) and target.attr in ("wsgi_app", "asgi_app")) or (
                    isinstance(first, ast.Name) and self._ref(first) in self.app_refs):
                self._middleware_name(value.func, node)
        if not isinstance(target, ast.Name) or not self._module_level():
            return
        name = target.id
        if not name.isupper():
            return
        self.names.add(name)
        if name == "DEBUG" and calls.is_true(value) and not self._conditional():
            self.debug_true = True
        if name in MIDDLEWARE_NAMES:
            self._middleware_assign(node, name, value, augmented)
            return
        if name in HEADER_SETTINGS or name.startswith(CSP_SETTING_PREFIXES):
            off = calls.constant(value) in (0, False, None, "", (), [], {})
            self.settings[name] = "on" if augmented or not off else "off"
            return
        items, unknown, refs = self._strings(value, name)
        if not unknown and not refs and items and not augmented:
            self.lists[name] = items

    def _middleware_assign(self, node: ast.stmt, name: str, value: ast.AST, augmented: bool) -> None:
        items, unknown, refs = self._strings(value, name)
        inherits = augmented or _mentions(value, name)
        if unknown:
            op = "unknown"
        elif inherits or (self._conditional() and (self.ops or self.star_imports)):
            op = "add"
        else:
            op = "set"
        self.ops.append(MiddlewareOp(op, items, node.lineno, refs))
        if self.anchor is None:
            self.anchor = self.file.location(node)

    def _strings(self, node: ast.AST, own: str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
        """The strings of a list expression, whether some part could not be read, and the
        UPPER_CASE names it joins that this module does not define (inherited through a
        star import, resolved by the rule). The list's own name (`MIDDLEWARE + [...]`) and
        module-level string lists are read."""
        out: list[str] = []
        refs: list[str] = []
        unknown = False
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.Constant):
                if isinstance(item.value, str):
                    out.append(item.value)
                elif item.value is not None:
                    unknown = True
            elif isinstance(item, (ast.List, ast.Tuple, ast.Set)):
                stack.extend(reversed(item.elts))
            elif isinstance(item, ast.Starred):
                stack.append(item.value)
            elif isinstance(item, ast.BinOp) and isinstance(item.op, ast.Add):
                stack.extend((item.right, item.left))
            elif isinstance(item, ast.IfExp):
                stack.extend((item.orelse, item.body))
            elif isinstance(item, ast.Name):
                if item.id == own:
                    continue
                if item.id in self.lists:
                    out.extend(self.lists[item.id])
                elif item.id.isupper() and item.id not in self.names and self.star_imports:
                    refs.append(item.id)
                else:
                    unknown = True
            elif isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and \
                    item.func.id in ("list", "tuple") and len(item.args) == 1:
                stack.append(item.args[0])
            else:
                unknown = True
        return tuple(out), unknown, tuple(refs)

    # -- calls -------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id in MIDDLEWARE_NAMES:
                self._middleware_call(node, func.attr)
                return
            if func.attr == "add_middleware" and node.args:
                self._middleware_name(node.args[0], node)
                return
            if func.attr == "mount":
                self._mount(node, self._ref(owner))
                return
            if func.attr == "init_app" and node.args and self._is_app_arg(node.args[0]):
                self._middleware_name(owner, node)
                return
        if ((isinstance(func, ast.Name) and func.id in ("exec", "execfile"))
                or any(_is_globals(a) for a in node.args)
                or (isinstance(func, ast.Attribute) and _is_globals(func.value))) and self._module_level():
            self.dynamic = True  # `exec(open("local_settings.py").read())`, `update(globals())`
        qual = self.file.qualname(func) or ""
        if qual == "split_settings.tools.include":
            self.split_settings = True
            return
        framework = APP_CONSTRUCTORS.get(qual)
        if framework:
            self._app(node, qual, framework)
            return
        if calls.last_name(func) == "Mount" and qual.startswith("starlette"):
            self._mount(node, "")
            return
        if calls.last_name(func) == "Middleware" and node.args and "middleware" in qual.lower():
            self._middleware_name(node.args[0], node)
            return
        if node.args and self._is_app_arg(node.args[0]) and isinstance(func, (ast.Name, ast.Attribute)):
            self._middleware_name(func, node)  # `Talisman(app)`, `SecureHeaders(app)`

    def _mount(self, node: ast.Call, parent: str) -> None:
        """`parent.mount("/path", child)` / `mount(path, app=child)` / `Mount(path, app=child)`."""
        child = calls.argument(node, 1, "app")
        if isinstance(child, (ast.Name, ast.Attribute)):
            self.emit(MountFact(self.file.location(node), parent=parent, child=self._ref(child)))

    def _is_app_arg(self, node: ast.AST) -> bool:
        if not isinstance(node, (ast.Name, ast.Attribute)):
            return False
        return self._ref(node) in self.app_refs or calls.last_name(node) in _APP_ARG_NAMES

    def _middleware_call(self, node: ast.Call, method: str) -> None:
        if method in ("append", "insert", "extend", "remove"):
            value = node.args[-1] if node.args else None
            items, unknown, refs = self._strings(value, "") if value is not None else ((), True, ())
            op = "remove" if method == "remove" else ("unknown" if unknown else "add")
            self.ops.append(MiddlewareOp(op, items, node.lineno, refs))

    def _middleware_name(self, node: ast.AST, where: ast.AST) -> None:
        name = self.file.qualname(node) or calls.dotted(node)
        if not name and isinstance(node, ast.Call):
            name = self.file.qualname(node.func) or calls.dotted(node.func)
        if name:
            self.emit(ProtectionFact(self.file.location(where), source=name, name_only=True))

    def _app(self, node: ast.Call, qual: str, framework: str) -> None:
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        ref = ""
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
            ref = self._ref(target)
        if ref:
            self.app_refs.add(ref)
        self.emit(AppFact(self.file.location(node), framework=framework,
                          constructor=qual.rsplit(".", 1)[-1], ref=ref, in_test=self._in_test()))

    # -- header names in code ----------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes) and len(value) <= 200:  # ASGI headers are bytes
            value = value.decode("latin-1")
        if not isinstance(value, str) or len(value) > 200 or "-" not in value:
            return
        head = value.split(":", 1)[0].strip().lower()
        header = HEADER_NAMES.get(head)
        if header:
            for ancestor in self.file.ancestors:
                if isinstance(ancestor, ast.ClassDef):
                    self.classes_setting.setdefault(ancestor.name, ancestor)
        if header and header not in self.headers_seen:
            self.headers_seen.add(header)
            name = value.split(":", 1)[0].strip()
            self.emit(ProtectionFact(self.file.location(node), source=f"header {name}",
                                     headers=(header,)))

    # -- the module as a whole ---------------------------------------------------------

    def finish(self) -> None:
        if self.file.tree is None:
            return
        for name, node in self.classes_setting.items():
            self.emit(ProtectionFact(self.file.location(node), source=f"class {name}",
                                     explicit_class=name))
        header_names = {n for n in self.names if n in HEADER_SETTINGS or n.startswith(CSP_SETTING_PREFIXES)}
        django_names = self.names & (DJANGO_SETTING_NAMES | set(MIDDLEWARE_NAMES))
        settings_like = bool(django_names or header_names or self.ops or self.split_settings) or (
            bool(self.star_imports) and is_settings_path(self.file.relpath))
        if not settings_like:
            return
        anchor = self.anchor or self.star_anchor or Location(self.file.relpath, 1)
        self.emit(DjangoSettingsFact(
            anchor, module=self.module, names=tuple(sorted(self.names)),
            settings=tuple(sorted(self.settings.items())), middleware=tuple(self.ops),
            star_imports=tuple(self.star_imports),
            # lists of dotted paths only: those a MIDDLEWARE of another module may join
            lists=tuple(sorted((k, v) for k, v in self.lists.items() if all("." in i for i in v))),
            debug_true=self.debug_true, dynamic=self.dynamic,
            split_settings=self.split_settings))


def _mentions(node: ast.AST, name: str) -> bool:
    """Does the expression read the variable `name` (`MIDDLEWARE = [...] + MIDDLEWARE`)?
    The expression is one assignment's value, so this walk stays small."""
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _is_globals(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "globals"
