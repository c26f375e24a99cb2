from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import calls
from ...python.settings_modules import (DEFAULT_DEV_PATTERNS, is_dev_or_test, is_django_settings,
                                        is_settings_path)
from ...rule import Option, PythonRule, RuleMeta

_ENV_GETTERS = ("os.environ.get", "os.getenv", "os.environ.setdefault")
# django-environ / environs / python-decouple / pydantic-style readers: `env.bool("DEBUG",
# default=True)`, `env("DEBUG", default=True)`, `config("DEBUG", default=True, cast=bool)`.
_READER_LASTS = ("bool", "str", "get_value", "env", "config", "getenv")
_TRUTHY = {"true", "1", "yes", "on", "y", "t"}
_DEV_SWITCH = re.compile(r"debug|develop|\bdev\b|local|test", re.IGNORECASE)
# Receivers of `.run(debug=True)` that are web applications even when the module does not
# import Flask itself (`app = create_app(); app.run(debug=True)` in run.py).
_APP_NAMES = frozenset({"app", "application", "flask_app", "server", "socketio", "webapp",
                        "web_app", "api", "dash_app"})
_PROD_CLASS = re.compile(r"prod|live|staging|deploy", re.IGNORECASE)
_DEV_CLASS = re.compile(r"dev|local|test|debug", re.IGNORECASE)


class DebugEnabled(PythonRule):
    """
    ## What it does
    Flags a web application's debug mode switched on where production may run it:

    - `app.run(debug=True)` (Flask, Flask-SocketIO, Dash's `run_server`; in a module that
      imports Flask, or on a receiver named like an application: `app`, `application`,
      `server`, `socketio`), `app.debug = True`,
      `app.config["DEBUG"] = True`, `app.config.update(DEBUG=True)`;
    - `FastAPI(debug=True)` and `Starlette(debug=True)`;
    - `DEBUG = True` in a Django settings module, or in a production-named config class
      (`class ProductionConfig: DEBUG = True`);
    - `DEBUG` read from an environment variable with a true default
      (`os.environ.get("DEBUG", "True")`, `env.bool("DEBUG", default=True)`,
      `config("DEBUG", default=True, cast=bool)`, a pydantic settings field
      `debug: bool = True`): a deployment that forgets the variable runs in debug mode;
    - Werkzeug's interactive debugger wired in (`DebuggedApplication(...)`,
      `run_simple(..., use_debugger=True)`).

    Modules that are clearly for development or tests stay silent: `settings/dev.py`,
    `local.py`, `local_settings.py`, `test*.py`, `conftest.py`, files under `tests/`,
    `examples/` and `docs/` (the `development-patterns` option). So does code under
    `if DEBUG:` / `if app.debug:`-style switches and config classes named for
    development or tests. A settings module whose path says nothing (`settings/base.py`)
    is still checked: a base module's `DEBUG = True` is what production gets unless
    something overrides it, and that cannot be seen from one file.

    ## Why is this bad?
    Debug mode turns errors into pages that show source code, local variables, settings
    and SQL; Werkzeug's debugger goes further and runs any Python code typed into the
    browser, which is remote code execution guarded only by a PIN (CWE-489, CWE-215).
    Django's debug mode also keeps every SQL query in memory.

    ## Example
    ```python
    DEBUG = True  # settings.py

    DEBUG = os.environ.get("DJANGO_DEBUG", "True") == "True"

    app.run(host="0.0.0.0", debug=True)
    ```

    ## Use instead
    ```python
    DEBUG = os.environ.get("DJANGO_DEBUG", "False") == "True"

    app.run(host="0.0.0.0", debug=os.environ.get("FLASK_DEBUG") == "1")
    ```
    or keep `DEBUG = True` in `settings/dev.py` only.

    **Fix** (`--fix`, safe): `app.run(debug=True)` becomes `app.run(debug=False)`. Settings
    modules and `FastAPI(debug=True)` are left for a person: the right value usually
    comes from the environment.

    ## Options
    `development-patterns`: path globs of modules that are clearly for development or
    tests, where debug mode is expected.

    ## References
    - https://cwe.mitre.org/data/definitions/489.html
    - https://docs.djangoproject.com/en/stable/ref/settings/#debug
    - https://flask.palletsprojects.com/en/stable/debugging/
    - https://werkzeug.palletsprojects.com/en/stable/debug/
    """

    meta = RuleMeta(
        id="BL304", fixable=True, name="debug-enabled", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="Debug mode is on (or on by default) in code that production may run.",
        cwe=(489, 215), tags=("security", "configuration"),
        triggers=("debug",),
    )

    @classmethod
    def fix(cls, source: str, findings, file) -> str | None:
        """`app.run(debug=True)` becomes `app.run(debug=False)`; nothing else is touched."""
        import libcst as cst

        from ...python.cst_fix import keyword, rewrite_calls

        def change(call):
            arg = keyword(call, "debug")
            if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "run"
                    and arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"):
                return None
            return call.with_changes(args=[a.with_changes(value=cst.Name("False")) if a is arg else a
                                           for a in call.args])

        return rewrite_calls(source, findings, change)
    options = (
        Option("development-patterns", list, list(DEFAULT_DEV_PATTERNS),
               "Path globs of modules that are clearly for development or tests."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._dev: bool | None = None
        self._settings: bool | None = None

    def _is_dev(self) -> bool:
        if self._dev is None:
            self._dev = is_dev_or_test(self.file.relpath, self.option("development-patterns"))
        return self._dev

    def _is_settings(self) -> bool:
        if self._settings is None:
            self._settings = is_django_settings(self.file) or (
                is_settings_path(self.file.relpath) and _looks_like_config(self.file.tree))
        return self._settings

    def _guarded(self) -> bool:
        """Under `if DEBUG:` / `if app.debug` / `if os.environ.get("ENV") == "dev"`..., or in a
        `__main__` block of a module run only by hand? (The latter is still flagged.)"""
        for node in self.file.ancestors:
            if isinstance(node, (ast.If, ast.IfExp)) and _DEV_SWITCH.search(ast.unparse(node.test)):
                return True
        return False

    def _in_dev_class(self) -> bool:
        return any(isinstance(n, ast.ClassDef) and _DEV_CLASS.search(n.name)
                   and not _PROD_CLASS.search(n.name) for n in self.file.ancestors)

    # -- calls ---------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if self._is_dev() or self._guarded():
            return
        name = self.file.qualname(node.func) or ""
        func = node.func
        debug = calls.keyword(node, "debug")
        if isinstance(func, ast.Attribute) and func.attr in ("run", "run_server") and calls.is_true(debug):
            if self._flask_module() or calls.last_name(func.value).lower() in _APP_NAMES:
                self.report(node, "`run(debug=True)` starts the Werkzeug debugger, which runs any "
                            "code typed into the browser: read the flag from the environment")
            return
        if name.rsplit(".", 1)[-1] in ("FastAPI", "Starlette") and calls.is_true(debug) and (
                name.startswith(("fastapi", "starlette"))):
            self.report(node, f"`{name.rsplit('.', 1)[-1]}(debug=True)` returns tracebacks to "
                        "clients: read the flag from the environment")
            return
        if name in ("werkzeug.debug.DebuggedApplication", "werkzeug.DebuggedApplication"):
            self.report(node, "Werkzeug's `DebuggedApplication` lets anyone who reaches an error "
                        "page run Python code on the server")
            return
        if name in ("werkzeug.serving.run_simple", "werkzeug.run_simple") and calls.is_true(
                calls.keyword(node, "use_debugger")):
            self.report(node, "`run_simple(use_debugger=True)` serves Werkzeug's interactive "
                        "debugger")
            return
        if isinstance(func, ast.Attribute) and func.attr == "update" and \
                calls.dotted(func.value).endswith("config") and self._flask_module():
            value = calls.keyword(node, "DEBUG")
            if calls.is_true(value):
                self.report(node, "`config.update(DEBUG=True)` turns on debug mode")
                return
            if node.args and isinstance(node.args[0], ast.Dict):
                for key, item in zip(node.args[0].keys, node.args[0].values):
                    if calls.str_constant(key) == "DEBUG" and calls.is_true(item):
                        self.report(node, "`config.update({'DEBUG': True})` turns on debug mode")
                        return

    def _flask_module(self) -> bool:
        from ...python.http_clients import imports_module

        return imports_module(self.file, ("flask", "flask_socketio", "quart"))

    # -- assignments ---------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assignment(node, target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node, node.target, node.value)

    def _assignment(self, node: ast.stmt, target: ast.AST, value: ast.AST) -> None:
        if self._is_dev() or self._guarded():
            return
        # app.debug = True / app.config["DEBUG"] = True (Flask)
        if isinstance(target, ast.Attribute) and target.attr == "debug" and calls.is_true(value):
            if self._flask_module() and not calls.dotted(target.value).startswith("self"):
                self.report(node, "`app.debug = True` turns on debug mode")
            return
        if isinstance(target, ast.Subscript) and calls.str_constant(target.slice) == "DEBUG" \
                and calls.dotted(target.value).endswith("config") and calls.is_true(value):
            self.report(node, "`config[\"DEBUG\"] = True` turns on debug mode")
            return
        name = target.id if isinstance(target, ast.Name) else None
        if name is None or name.upper() != "DEBUG":
            return
        function = self.file.enclosing_function()
        if function is not None:
            return
        classes = [a for a in self.file.ancestors if isinstance(a, ast.ClassDef)]
        if classes:
            self._class_setting(node, classes[-1], name, value)
            return
        if name != "DEBUG" or not self._is_settings():
            return
        if calls.is_true(value):
            self.report(node, "`DEBUG = True` in a settings module that is not clearly for "
                        "development: production would show tracebacks, settings and SQL to "
                        "visitors")
            return
        default = _env_default(self.file, value)
        if default is not None:
            self.report(node, f"`DEBUG` comes from the environment with a true default "
                        f"({default}): a deployment that does not set it runs in debug mode")

    def _class_setting(self, node: ast.stmt, cls: ast.ClassDef, name: str, value: ast.AST) -> None:
        if self._in_dev_class():
            return
        if _PROD_CLASS.search(cls.name) and name == "DEBUG" and calls.is_true(value):
            self.report(node, f"`DEBUG = True` in `{cls.name}`")
            return
        # pydantic BaseSettings: `debug: bool = True` is read from the DEBUG variable
        if _is_settings_class(cls) and isinstance(node, ast.AnnAssign) and calls.is_true(value):
            self.report(node, f"`{name}` defaults to True in `{cls.name}`, a settings class read "
                        "from the environment: a deployment that does not set it runs in "
                        "debug mode", confidence=Confidence.MEDIUM)
            return
        default = _env_default(self.file, value)
        if default is not None and name == "DEBUG":
            self.report(node, f"`DEBUG` comes from the environment with a true default "
                        f"({default}): a deployment that does not set it runs in debug mode")


def _looks_like_config(tree: ast.Module | None) -> bool:
    """A module of mostly UPPER_CASE assignments (a Flask/Django-style config module)."""
    if tree is None:
        return False
    upper = sum(1 for node in tree.body if isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))
    return upper >= 3


def _is_settings_class(cls: ast.ClassDef) -> bool:
    bases = {calls.last_name(b) for b in cls.bases}
    return bool(bases & {"BaseSettings", "Settings"})


def _truthy(value) -> bool:
    if value is True or (type(value) is int and value == 1):
        return True
    return isinstance(value, str) and value.strip().lower() in _TRUTHY


def _env_default(file, value: ast.AST) -> str | None:
    """The true default of an environment read inside `value`, as source text, or None."""
    for node in ast.walk(value):
        if not isinstance(node, ast.Call):
            continue
        name = file.qualname(node.func) or calls.dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        default = None
        if name in _ENV_GETTERS or name.endswith(("environ.get", ".getenv")):
            default = calls.argument(node, 1, "default")
        elif last in _READER_LASTS and node.args and "debug" in (calls.str_constant(node.args[0]) or "").lower():
            default = calls.keyword(node, "default")
            if default is None and last in ("bool", "str") and len(node.args) > 1:
                default = node.args[1]
        else:
            continue
        key = calls.str_constant(calls.argument(node, 0, "key"))
        if key is None or "debug" not in key.lower():
            continue
        if default is not None and _truthy(calls.constant(default)):
            if _compares_false(value, node):
                continue
            return ast.unparse(node)
    return None


def _compares_false(value: ast.AST, read: ast.Call) -> bool:
    """`os.environ.get("DEBUG", "1") == "0"`: the read is compared with a falsy literal, so
    the default gives False."""
    for node in ast.walk(value):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and any(
                sub is read for sub in ast.walk(node.left)):
            right = calls.constant(node.comparators[0])
            if isinstance(node.ops[0], ast.Eq) and not _truthy(right) and not isinstance(right, (list, tuple, set)):
                return True
            if isinstance(node.ops[0], ast.NotEq) and _truthy(right):
                return True
            if isinstance(node.ops[0], ast.In) and isinstance(right, (list, tuple, set)) and not any(
                    _truthy(item) for item in right):
                return True
    return False
