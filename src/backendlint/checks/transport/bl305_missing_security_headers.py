from __future__ import annotations

import re

from ...config import ConfigError
from ...facts.app_security import (ALL_HEADERS, APP_SECURITY_KINDS, CLICKJACKING, CSP, HSTS,
                                   NOSNIFF, AppFact, DjangoSettingsFact, MountFact,
                                   ProtectionFact)
from ...findings import Confidence, Severity
from ...python.settings_modules import DEFAULT_DEV_PATTERNS, DJANGO_SETTING_NAMES, path_matches
from ...rule import Option, ProjectRule, RuleMeta

# Folders of code that is not the deployed application, on top of the development and test
# modules BL304 knows: documentation sources, demos, samples, benchmarks, scripts.
DEV_PATTERNS = list(DEFAULT_DEV_PATTERNS) + [
    "docs_src/*", "doc/*", "demo/*", "demos/*", "sample/*", "samples/*", "example_project/*",
    "example_app/*", "exampleproject/*", "demo_project/*", "demoproject/*",
    "benchmarks/*", "benchmark/*", "bench/*", "tutorial/*", "tutorials/*", "playground/*",
    "testproject/*", "test_project/*", "testapp/*", "test_app/*", "tests_*/*", "test_*/*",
    "*_tests/*", "scripts/*", "project_template/*", "app_template/*", "global_settings.py",
]
# Middleware / extension names (lowercase, `_` dropped) that set every security header.
DEFAULT_HEADER_MIDDLEWARE = ["talisman", "securityheaders", "secureheaders", "secweb", "helmet"]
# Settings named for production are reported even when another module (staging) inherits them.
_PROD_NAME = re.compile(r"(^|/|_)(prod|production|live)[a-z0-9_]*\.py$", re.IGNORECASE)
_LABELS = {
    HSTS: "HSTS (Strict-Transport-Security)",
    CSP: "CSP (Content-Security-Policy)",
    NOSNIFF: "nosniff (X-Content-Type-Options)",
    CLICKJACKING: "clickjacking protection (X-Frame-Options or CSP frame-ancestors)",
}
_APP_HINT = {
    "flask": "Flask-Talisman (`Talisman(app)`), the `secure` package, or an `@app.after_request` "
             "hook that sets the headers",
    "fastapi": "a headers middleware (`secure`, Secweb, or an `@app.middleware(\"http\")` that sets "
               "the headers)",
}


class MissingSecurityHeaders(ProjectRule):
    """
    ## What it does
    Flags a web application that sends none, or only some, of the HTTP security headers:
    HSTS (`Strict-Transport-Security`), a `Content-Security-Policy`,
    `X-Content-Type-Options: nosniff` and clickjacking protection (`X-Frame-Options` or the
    CSP `frame-ancestors` directive). One finding per application:

    - **Django**: at each production settings module whose effective settings (its own
      plus those it inherits through `from .base import *`) lack
      `django.middleware.security.SecurityMiddleware`, `SECURE_HSTS_SECONDS`, a nosniff
      header (`SECURE_CONTENT_TYPE_NOSNIFF = False` switches it off), clickjacking
      protection (`XFrameOptionsMiddleware`) or a CSP (django-csp's `CSPMiddleware`,
      Django's `ContentSecurityPolicyMiddleware`, the `CSP_*` / `CONTENT_SECURITY_POLICY`
      / `SECURE_CSP` settings). Base modules that production settings inherit from are
      not reported themselves (unless named for production, like `production.py`
      inherited by `staging.py`); development and test settings are never reported.
    - **Flask / Quart / FastAPI / Starlette**: at the application object (`Flask(__name__)`,
      `FastAPI()`), when nothing in the project sets the headers: no Flask-Talisman, no
      `secure` or Secweb, no middleware named for security headers, and no code that
      sets the header names itself (an `after_request` hook, an HTTP middleware). A
      project's own middleware class that spells out header names is judged by the names
      it sets, whatever it is called.

    The rule stays silent when it cannot see the whole picture: a settings module that
    inherits from a module it cannot find, `MIDDLEWARE` built by a function, settings
    split with django-split-settings, a library without any application object.
    Protections found anywhere in the project count for every application in it. A
    settings module with `DEBUG = True`, one that may be changed at run time (a
    `try: from .local_settings import *` of a module not in the project, `exec(...)`,
    `globals()` handed to a function), or a finding where only the CSP is missing, is
    reported with medium confidence.

    ## Why is this bad?
    Without HSTS a user's first request can be downgraded to plain HTTP and intercepted;
    without a CSP any injected script runs with the page's privileges; without nosniff a
    browser may execute an uploaded file as script; without frame protection the site can
    be framed for clickjacking (CWE-693, CWE-1021). These headers are cheap defence in
    depth that the application (or a proxy in front of it) must send.

    ## Example
    ```python
    # settings/prod.py
    from .base import *

    DEBUG = False
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    ```
    ```python
    app = Flask(__name__)
    ```

    ## Use instead
    ```python
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "csp.middleware.CSPMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    SECURE_HSTS_SECONDS = 31536000
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    ```
    ```python
    app = Flask(__name__)
    Talisman(app, content_security_policy={"default-src": "'self'"})
    ```

    ## Options
    `required-headers`: the protections an application must have, among `hsts`, `csp`,
    `nosniff` and `clickjacking` (default: all four). Drop `hsts` when a proxy in front of
    every deployment adds it, or `csp` for a JSON-only API.

    `header-middleware`: names (case-insensitive, `_` ignored, matched as substrings of a
    middleware's or extension's dotted name) of middleware that set all the security
    headers, for an in-house one the rule cannot read.

    `development-patterns`: path globs of modules that are for development, tests, docs
    or examples, where applications and settings are not reported.

    ## References
    - https://cwe.mitre.org/data/definitions/693.html
    - https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html
    - https://docs.djangoproject.com/en/stable/ref/middleware/#module-django.middleware.security
    - https://github.com/GoogleCloudPlatform/flask-talisman
    """

    meta = RuleMeta(
        id="BL305", name="missing-security-headers", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A web application does not send HSTS, CSP, nosniff or clickjacking headers.",
        cwe=(693, 1021), tags=("security", "configuration", "headers"),
    )
    options = (
        Option("required-headers", list, list(ALL_HEADERS),
               "Protections every application must have: hsts, csp, nosniff, clickjacking."),
        Option("header-middleware", list, list(DEFAULT_HEADER_MIDDLEWARE),
               "Names (substrings, case-insensitive, `_` ignored) of middleware or extensions "
               "that set all the security headers."),
        Option("development-patterns", list, list(DEV_PATTERNS),
               "Path globs of development, test, documentation and example modules."),
    )
    needs = APP_SECURITY_KINDS

    def check_project(self, facts) -> None:
        required = [h.lower() for h in self.option("required-headers")]
        unknown = [h for h in required if h not in ALL_HEADERS]
        if unknown:
            raise ConfigError(f"BL305 required-headers: unknown {unknown!r}; choose among "
                              f"{', '.join(ALL_HEADERS)}")
        if not required:
            return
        self._dev = self.option("development-patterns")
        self._markers = [m.lower().replace("_", "") for m in self.option("header-middleware")]
        protections = facts.of(ProtectionFact)
        # Classes of the project that set header names themselves are judged by those names
        # (counted below), not by what their name promises.
        self._explicit = {f.explicit_class for f in protections if f.explicit_class}
        covered = set()
        for fact in protections:
            covered |= set(fact.headers) if not fact.name_only else self._classify(fact.source)
        self._django(facts, required, covered)
        self._apps(facts, required, covered)

    # -- classification ----------------------------------------------------------------

    def _classify(self, name: str) -> set[str]:
        """Protections a middleware or extension gives, judged by its dotted name."""
        if name.rsplit(".", 1)[-1] in self._explicit:
            return set()
        key = name.lower().replace("_", "")
        last = key.rsplit(".", 1)[-1]
        if any(marker and marker in key for marker in self._markers):
            return set(ALL_HEADERS)
        found = set()
        if "csp" in last or "contentsecuritypolicy" in key:
            found.add(CSP)
        if "hsts" in last or "stricttransport" in key:
            found.add(HSTS)
        if "nosniff" in last:
            found.add(NOSNIFF)
        if "xframeoptions" in last or "clickjacking" in key or "frameoptions" in last:
            found.add(CLICKJACKING)
        return found

    def _dev_path(self, path: str) -> bool:
        return path_matches(path, self._dev)

    # -- Flask / FastAPI ---------------------------------------------------------------

    def _apps(self, facts, required: list[str], covered: set[str]) -> None:
        have = set(covered)
        if CSP in have:
            have.add(CLICKJACKING)
        missing = [h for h in required if h not in have]
        if not missing:
            return
        mounted = {m.child for m in facts.of(MountFact) if m.child}
        seen = set()
        for app in facts.of(AppFact):
            if app.in_test or self._dev_path(app.location.path):
                continue
            if app.ref and app.ref in mounted:
                continue  # served by a parent application, whose headers cover it
            key = (app.location.path, app.ref or app.location.line)
            if key in seen:
                continue
            seen.add(key)
            partial = bool(have & set(required))
            self.report_at(
                app.location,
                f"`{app.constructor}` application lacks {_list(missing)}: add "
                f"{_APP_HINT.get(app.framework, 'a security headers middleware')}",
                confidence=Confidence.MEDIUM if partial else None)

    # -- Django ------------------------------------------------------------------------

    def _django(self, facts, required: list[str], covered: set[str]) -> None:
        modules = facts.of(DjangoSettingsFact)
        if not modules:
            return
        if any(m.split_settings for m in modules):
            facts.notes.append("BL305: Django settings are split with django-split-settings; "
                               "not checked")
            return
        self._by_module = {m.module: m for m in modules}
        self._memo: dict[str, object] = {}
        importers: dict[str, set[str]] = {}
        for module in modules:
            for target, _, _ in module.star_imports:
                found = self._find(target)
                if found is not None:
                    importers.setdefault(found.module, set()).add(module.location.path)
        for module in modules:
            path = module.location.path
            if self._dev_path(path):
                continue
            if any(not self._dev_path(p) for p in importers.get(module.module, ())) \
                    and not _PROD_NAME.search(path):
                continue  # a base module: the production settings that inherit it are checked
            state = self._effective(module.module, ())
            if state is None:
                facts.notes.append(f"BL305: {path}: inherits settings from a module not found in "
                                   "the project, or builds MIDDLEWARE dynamically; not checked")
                continue
            if not _is_project_settings(state):
                continue
            problems, missing = self._django_problems(state, required, covered)
            if not problems:
                continue
            medium = state.debug or state.uncertain or missing == [CSP]
            self.report_at(
                module.location,
                f"Django settings `{module.module or path}` lack {_list(missing)}: "
                + "; ".join(problems),
                confidence=Confidence.MEDIUM if medium else None)

    def _find(self, target: str) -> DjangoSettingsFact | None:
        found = self._by_module.get(target)
        if found is not None:
            return found
        matches = [m for name, m in self._by_module.items() if name and (
            name.endswith("." + target) or target.endswith("." + name))]
        return matches[0] if len(matches) == 1 else None

    def _effective(self, name: str, stack: tuple[str, ...]):
        if name in self._memo:
            return self._memo[name]
        if name in stack:
            return None
        module = self._by_module[name]
        state = _State()
        for target, in_try, _ in module.star_imports:
            found = self._find(target)
            if found is None:
                if in_try:
                    state.uncertain = True  # `try: from .local_settings import *`
                    continue
                self._memo[name] = None
                return None
            inherited = self._effective(found.module, stack + (name,))
            if inherited is None:
                self._memo[name] = None
                return None
            state.merge(inherited)
        state.names |= set(module.names)
        state.settings.update(dict(module.settings))
        state.lists.update({key: list(items) for key, items in module.lists})
        state.debug = module.debug_true or (state.debug and "DEBUG" not in module.names)
        state.uncertain = state.uncertain or module.dynamic
        for op in module.middleware:
            if op.op == "unknown" or any(ref not in state.lists for ref in op.refs):
                self._memo[name] = None
                return None
            items = list(op.items) + [item for ref in op.refs for item in state.lists[ref]]
            if op.op == "set":
                state.middleware = items
            elif op.op == "add":
                state.middleware = (state.middleware or []) + items
            elif op.op == "remove" and state.middleware is not None:
                state.middleware = [m for m in state.middleware if m not in op.items]
        self._memo[name] = state
        return state

    def _django_problems(self, state, required: list[str], covered: set[str]):
        middleware = state.middleware or []
        from_middleware = set()
        for item in middleware:
            from_middleware |= self._classify(item)
        have = set(covered) | from_middleware
        security = any(_is_security_middleware(m) for m in middleware)
        settings = state.settings
        if security and settings.get("SECURE_HSTS_SECONDS") == "on":
            have.add(HSTS)
        if security and settings.get("SECURE_CONTENT_TYPE_NOSNIFF") != "off":
            have.add(NOSNIFF)
        if any(k.startswith(("CSP_", "CONTENT_SECURITY_POLICY", "SECURE_CSP")) and v == "on"
               for k, v in settings.items()):
            have.add(CSP)
        if CSP in have:
            have.add(CLICKJACKING)
        missing = [h for h in required if h not in have]
        problems = []
        if not security and ({HSTS, NOSNIFF} & set(missing)):
            problems.append("`django.middleware.security.SecurityMiddleware` is not in MIDDLEWARE")
        if HSTS in missing and "SECURE_HSTS_SECONDS" not in settings:
            problems.append("`SECURE_HSTS_SECONDS` is not set")
        elif HSTS in missing and security:
            problems.append("`SECURE_HSTS_SECONDS` is 0")
        if NOSNIFF in missing and settings.get("SECURE_CONTENT_TYPE_NOSNIFF") == "off":
            problems.append("`SECURE_CONTENT_TYPE_NOSNIFF` is False")
        if CLICKJACKING in missing:
            problems.append("`django.middleware.clickjacking.XFrameOptionsMiddleware` is not in "
                            "MIDDLEWARE")
        if CSP in missing:
            problems.append("no CSP middleware (django-csp's `csp.middleware.CSPMiddleware` or "
                            "Django's `ContentSecurityPolicyMiddleware`)")
        return problems, missing


class _State:
    """Effective settings of a module after its star imports."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.settings: dict[str, str] = {}
        self.middleware: list[str] | None = None
        self.lists: dict[str, list[str]] = {}
        self.debug = False
        self.uncertain = False

    def merge(self, other: "_State") -> None:
        self.names |= other.names
        self.settings.update(other.settings)
        self.lists.update(other.lists)
        if other.middleware is not None:
            self.middleware = list(other.middleware)
        self.debug = self.debug or other.debug
        self.uncertain = self.uncertain or other.uncertain


def _is_security_middleware(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return last.endswith("securitymiddleware") and "policy" not in last and "csp" not in last


def _is_project_settings(state: _State) -> bool:
    """Settings a Django site runs with: Django's characteristic names and a middleware list
    of Django's (a library's or Django's own defaults have no middleware)."""
    if not state.middleware or len(state.names & DJANGO_SETTING_NAMES) < 2:
        return False
    return "INSTALLED_APPS" in state.names or any(m.startswith("django.") for m in state.middleware)


def _list(items: list[str]) -> str:
    labels = [_LABELS[i] for i in items]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
