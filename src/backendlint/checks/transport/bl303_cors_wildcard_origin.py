from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import calls
from ...python.settings_modules import is_dev_or_test
from ...rule import Option, PythonRule, RuleMeta

_ACAO = "access-control-allow-origin"
_ACAC = "access-control-allow-credentials"
_ATTACKER = ("https://evil-attacker.test", "http://x.y")
_DJANGO_ALLOW_ALL = ("CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL")
_DJANGO_REGEXES = ("CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ORIGIN_REGEX_WHITELIST")
_DJANGO_CREDENTIALS = "CORS_ALLOW_CREDENTIALS"
_HEADER_SETTERS = ("add", "set", "setdefault", "set_header", "add_header", "append", "__setitem__",
                   "add_unredirected_header", "putheader")
_CREDENTIALS_TEXT = ("; with credentials allowed, any website can make authenticated requests "
                     "as the visitor and read the responses")


class CorsWildcardOrigin(PythonRule):
    """
    ## What it does
    Flags CORS configurations that let any website read responses:

    - Starlette / FastAPI `CORSMiddleware` with `allow_origins=["*"]` or an
      `allow_origin_regex` that matches any origin (`".*"`), through `add_middleware`,
      `Middleware(...)` or a direct wrap;
    - flask-cors `CORS(app)` / `cors.init_app(app)` / `@cross_origin()` with no origins
      (flask-cors then allows every origin) or with `"*"`, also per resource, unless the
      module sets `CORS_ORIGINS` in the app's configuration;
    - django-cors-headers `CORS_ALLOW_ALL_ORIGINS = True` / `CORS_ORIGIN_ALLOW_ALL = True`
      or an origin regex that matches anything, outside development and test settings;
    - a hand-set `Access-Control-Allow-Origin: *` header, and a header that echoes the
      request's `Origin` back while allowing credentials, with no check of the origin
      in the same function.

    The message says when credentials are allowed too (`allow_credentials=True`,
    `supports_credentials=True`, `CORS_ALLOW_CREDENTIALS = True`, an
    `Access-Control-Allow-Credentials: true` header): Starlette, flask-cors and
    django-cors-headers then reflect the caller's origin, so any site can send the
    user's cookies and read the answer. That is the case to fix first.

    A hand-set header under an `if` that tests a name about
    origins, CORS or credentials (`if allow_all_origins:`) stays silent: that is a CORS
    implementation honouring its configuration. Only literal values (and names bound
    once to literals) are judged: `allow_origins=settings.CORS_ORIGINS` is trusted. Test
    modules (`test*.py`, `conftest.py`, `tests/`) and header dicts inside `assert`s and
    comparisons are not checked. Findings inside a conditional branch (library code
    choosing between modes, a debug-only switch) have medium confidence.

    ## Why is this bad?
    The same-origin policy stops other websites from reading your API's responses in
    the visitor's browser. A wildcard origin lifts that protection for every site; with
    credentials it hands them the visitor's session (CWE-942). Even without cookies, a
    wildcard exposes anything reachable only from the visitor's network (intranet APIs,
    IP-allow-listed services).

    ## Example
    ```python
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)

    CORS(app)  # flask-cors: every origin by default

    CORS_ALLOW_ALL_ORIGINS = True  # Django settings
    ```

    ## Use instead
    ```python
    app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"],
                       allow_credentials=True)

    CORS(app, origins=["https://app.example.com"])

    CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    ```

    ## Options
    `development-patterns`: path globs of development and test modules, where Django's
    allow-all settings are expected and stay silent.

    ## References
    - https://cwe.mitre.org/data/definitions/942.html
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS
    - https://www.starlette.io/middleware/#corsmiddleware
    - https://flask-cors.readthedocs.io/en/latest/api.html
    - https://github.com/adamchainz/django-cors-headers#configuration
    - https://portswigger.net/web-security/cors
    """

    meta = RuleMeta(
        id="BL303", name="cors-wildcard-origin", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="CORS allows every origin (worse: with credentials).",
        cwe=(942,), tags=("security", "transport", "cors"),
        triggers=("cors", "access-control-allow-origin"),
    )
    options = (
        Option("development-patterns", list, ["settings/dev*.py", "settings/local*.py",
                                              "settings/test*.py", "dev.py", "development.py",
                                              "local.py", "local_settings.py",
                                              "settings_dev*.py", "settings_local.py",
                                              "test*.py", "*_test.py", "conftest.py",
                                              "tests/*", "test/*"],
               "Path globs of development and test modules (Django allow-all settings stay "
               "silent there)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cors_objects: set[str] = set()  # names bound to `CORS()` built without an app
        self._configured: bool | None = None
        self._skip: bool | None = None

    # -- helpers -----------------------------------------------------------------------

    def _scope(self):
        return self.file.enclosing_function()

    def _resolved(self, node: ast.AST | None) -> ast.AST | None:
        return calls.resolve(self.file.tree, node, self._scope())

    def _confidence(self) -> Confidence:
        if calls.inside_conditional(self.file.ancestors) is not None:
            return Confidence.MEDIUM
        return Confidence.HIGH

    def _flask_configured(self) -> bool:
        """Does the module give flask-cors its origins through the app configuration?"""
        if self._configured is None:
            self._configured = "CORS_ORIGINS" in self.file.text or "CORS_RESOURCES" in self.file.text
        return self._configured

    # -- calls ---------------------------------------------------------------------------

    def _skipped(self) -> bool:
        if self._skip is None:
            self._skip = is_dev_or_test(self.file.relpath, _TEST_PATTERNS)
        return self._skip

    def visit_Call(self, node: ast.Call) -> None:
        if self._skipped():
            return
        name = self.file.qualname(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        if last == "CORSMiddleware":
            self._starlette(node, node)
            return
        if isinstance(node.func, ast.Attribute) and node.func.attr == "add_middleware" and node.args:
            if calls.last_name(node.args[0]) == "CORSMiddleware":
                self._starlette(node, node)
                return
        if last == "Middleware" and node.args and calls.last_name(node.args[0]) == "CORSMiddleware":
            self._starlette(node, node)
            return
        if name in ("flask_cors.CORS", "flask_cors.extension.CORS", "flask.ext.cors.CORS"):
            has_app = bool(node.args) or calls.has_keyword(node, "app")
            if has_app:
                self._flask(node, "`CORS(app)`")
            return
        if name in ("flask_cors.cross_origin", "flask_cors.decorator.cross_origin"):
            self._flask(node, "`@cross_origin()`")
            return
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "init_app"
                and calls.dotted(node.func.value) in self._cors_objects):
            self._flask(node, "`init_app()` of flask-cors")
            return
        self._header_call(node)

    def _starlette(self, node: ast.Call, where: ast.AST) -> None:
        origins = self._resolved(calls.keyword(node, "allow_origins"))
        regex = calls.str_constant(self._resolved(calls.keyword(node, "allow_origin_regex")))
        credentials = calls.is_true(self._resolved(calls.keyword(node, "allow_credentials")))
        items = calls.constant(origins)
        wildcard = None
        if isinstance(items, (list, tuple)) and "*" in items:
            wildcard = '`allow_origins=["*"]`'
        elif items == "*":
            wildcard = '`allow_origins="*"`'
        elif regex is not None and _matches_anything(regex):
            wildcard = f"`allow_origin_regex={regex!r}` matches any origin"
        if wildcard is None:
            return
        message = f"CORSMiddleware with {wildcard}: every website may read the responses"
        if credentials:
            message = (f"CORSMiddleware with {wildcard} and `allow_credentials=True`: Starlette "
                       "then reflects the caller's origin" + _CREDENTIALS_TEXT)
        self.report(where, message, confidence=self._confidence())

    def _flask(self, node: ast.Call, what: str) -> None:
        if calls.has_star_kwargs(node):
            return
        credentials = calls.is_true(self._resolved(calls.keyword(node, "supports_credentials")))
        origins_node = calls.keyword(node, "origins")
        resources_node = calls.keyword(node, "resources")
        problem = None
        if origins_node is not None:
            value = calls.constant(self._resolved(origins_node))
            if _has_wildcard(value):
                problem = 'origins="*"'
            elif value is calls.MISSING or value or value == []:
                return  # explicit origins (or trusted configuration)
        if problem is None and resources_node is not None:
            value = calls.constant(self._resolved(resources_node))
            if value is calls.MISSING:
                return
            if isinstance(value, dict):
                for options in value.values():
                    if isinstance(options, dict) and "origins" in options:
                        if _has_wildcard(options["origins"]):
                            problem = 'a resource with origins "*"'
                            break
                    elif origins_node is None and not self._flask_configured():
                        problem = "a resource without origins (all origins by default)"
                        break
            elif origins_node is None and not self._flask_configured():
                problem = "no origins (flask-cors then allows every origin)"
        if problem is None and origins_node is None and resources_node is None:
            if self._flask_configured():
                return
            problem = "no origins (flask-cors then allows every origin)"
        if problem is None:
            return
        message = f"{what} with {problem}"
        if credentials:
            message += " and `supports_credentials=True`: flask-cors reflects the caller's origin" \
                       + _CREDENTIALS_TEXT
        else:
            message += ": every website may read the responses"
        self.report(node, message, confidence=self._confidence())

    # -- hand-set headers ----------------------------------------------------------------

    def _header_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Attribute) or node.func.attr not in _HEADER_SETTERS:
            return
        if len(node.args) < 2:
            return
        header = calls.str_constant(node.args[0])
        if header is None or header.lower() != _ACAO:
            return
        self._header_value(node, node.args[1])

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._skipped():
            return
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                header = calls.str_constant(target.slice)
                if header is not None and header.lower() == _ACAO:
                    self._header_value(node, node.value)
            elif isinstance(target, ast.Name) and not any(
                    isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
                    for a in self.file.ancestors):
                if not _under_dev_switch(self.file.ancestors):
                    self._django_setting(node, target.id, node.value)
        if isinstance(node.value, ast.Call):
            name = self.file.qualname(node.value.func) or ""
            if name.endswith("flask_cors.CORS") or name in ("flask_cors.CORS",):
                if not node.value.args and not calls.has_keyword(node.value, "app"):
                    for target in node.targets:
                        if calls.dotted(target):
                            self._cors_objects.add(calls.dotted(target))

    def visit_Dict(self, node: ast.Dict) -> None:
        if self._skipped() or any(isinstance(a, (ast.Assert, ast.Compare)) for a in self.file.ancestors):
            return  # a test's expectation, not a response
        for key, value in zip(node.keys, node.values):
            header = calls.str_constant(key)
            if header is not None and header.lower() == _ACAO:
                self._header_value(node, value, in_dict=node)

    def _header_value(self, node: ast.AST, value: ast.AST, in_dict: ast.Dict | None = None) -> None:
        if calls.option_switch(self.file.ancestors, ("origin", "cors", "credential")) is not None:
            return  # a CORS implementation honouring its configuration
        text = calls.str_constant(value)
        scope = self._scope()
        credentials = _sets_credentials(scope if scope is not None else self.file.tree)
        if text is not None and text.strip() == "*":
            message = "`Access-Control-Allow-Origin: *` lets every website read this response"
            if credentials:
                message += " (browsers refuse `*` with credentials, so this is also broken)"
            self.report(node, message, confidence=self._confidence())
            return
        if not credentials or scope is None:
            return
        variable = _origin_echo(self.file, value, scope)
        if variable is None:
            return
        if _origin_checked(scope, variable):
            return
        self.report(node, "echoes the request's `Origin` into `Access-Control-Allow-Origin` "
                    "with credentials allowed and no allow-list check" + _CREDENTIALS_TEXT,
                    confidence=self._confidence())

    # -- Django settings -----------------------------------------------------------------

    def _django_setting(self, node: ast.Assign, name: str, value: ast.AST) -> None:
        if name not in _DJANGO_ALLOW_ALL and name not in _DJANGO_REGEXES:
            return
        if is_dev_or_test(self.file.relpath, self.option("development-patterns")):
            return
        if name in _DJANGO_ALLOW_ALL:
            if not calls.is_true(value):
                return
            message = f"`{name} = True` lets every website read the responses"
        else:
            patterns = calls.constant(value)
            if not isinstance(patterns, (list, tuple)) or not any(
                    isinstance(p, str) and _matches_anything(p, search=True) for p in patterns):
                return
            message = f"`{name}` holds a pattern that matches any origin"
        if _django_credentials(self.file.tree):
            message += (" and `CORS_ALLOW_CREDENTIALS = True`: django-cors-headers then reflects "
                        "the caller's origin" + _CREDENTIALS_TEXT)
        self.report(node, message, confidence=self._confidence())


def _matches_anything(regex: str, search: bool = False) -> bool:
    try:
        compiled = re.compile(regex)
    except re.error:
        return False
    test = compiled.search if search else compiled.fullmatch
    return all(test(origin) for origin in _ATTACKER)


def _has_wildcard(value) -> bool:
    if value == "*":
        return True
    if isinstance(value, (list, tuple)):
        return "*" in value
    return False


def _sets_credentials(tree: ast.AST | None) -> bool:
    """`Access-Control-Allow-Credentials: true` set anywhere in this function (or module)."""
    if tree is None:
        return False
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.Dict):
            pairs = list(zip(node.keys, node.values))
        elif isinstance(node, ast.Assign):
            pairs = [(t.slice, node.value) for t in node.targets if isinstance(t, ast.Subscript)]
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            pairs = [(node.args[0], node.args[1])]
        for key, value in pairs:
            header = calls.str_constant(key)
            if header is not None and header.lower() == _ACAC:
                text = calls.constant(value)
                if text is True or (isinstance(text, str) and text.lower() == "true"):
                    return True
    return False


def _is_origin_read(file, node: ast.AST) -> bool:
    """`request.headers.get("Origin")`, `request.headers["origin"]`,
    `request.META.get("HTTP_ORIGIN")`, `environ["HTTP_ORIGIN"]`."""
    key = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and node.args:
        key = calls.str_constant(node.args[0])
        container = node.func.value
    elif isinstance(node, ast.Subscript):
        key = calls.str_constant(node.slice)
        container = node.value
    else:
        return False
    if key is None or key.lower() not in ("origin", "http_origin"):
        return False
    text = calls.dotted(container).lower()
    return any(part in text for part in ("headers", "meta", "environ", "request"))


def _origin_echo(file, value: ast.AST, scope) -> str | None:
    """The name holding the echoed origin ('' when read inline), or None when `value` does
    not come from the request's Origin header."""
    if _is_origin_read(file, value):
        return ""
    if isinstance(value, ast.Name):
        bound = calls.bound_value(file.tree, value.id, scope)
        if bound is not None and _is_origin_read(file, bound):
            return value.id
    return None


def _origin_checked(scope, variable: str) -> bool:
    """Is the origin compared with anything in the function (`if origin in ALLOWED`,
    `origin.endswith(...)`, a regex match)?"""
    for node in ast.walk(scope):
        if isinstance(node, ast.Compare):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if variable and variable in names:
                return True
            if not variable and any(_is_origin_read(None, n) for n in ast.walk(node)):
                return True
        if isinstance(node, ast.Call) and variable:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("endswith", "startswith") \
                    and isinstance(func.value, ast.Name) and func.value.id == variable:
                return True
            if isinstance(func, ast.Attribute) and func.attr in ("match", "fullmatch", "search") \
                    and any(isinstance(a, ast.Name) and a.id == variable for a in node.args):
                return True
            if any(isinstance(a, ast.Name) and a.id == variable for a in node.args) and \
                    any(word in calls.dotted(func).lower() for word in ("allow", "valid", "check", "trusted")):
                return True
    return False


def _django_credentials(tree: ast.Module | None) -> bool:
    if tree is None:
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == _DJANGO_CREDENTIALS for t in node.targets):
            return calls.is_true(node.value)
    return False


_TEST_PATTERNS = ("test*.py", "*_test.py", "*_tests.py", "conftest.py", "tests/*", "test/*")
_DEV_WORDS = re.compile(r"debug|dev|local|test", re.IGNORECASE)


def _under_dev_switch(ancestors) -> bool:
    """Inside `if DEBUG:` (or a test of a dev/local/test flag)."""
    for node in ancestors:
        if isinstance(node, ast.If) and _DEV_WORDS.search(ast.unparse(node.test)):
            return True
    return False
