import ast

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import Option, PythonRule, RuleMeta

# set_cookie(key, value, max_age, expires, path, domain, secure, httponly, samesite): the
# same order in Werkzeug/Flask, Starlette/FastAPI and Django.
_POSITION = {"secure": 6, "httponly": 7, "samesite": 8}
_SETTINGS = {
    "SESSION_COOKIE_SECURE": "the session cookie is sent over plain HTTP",
    "CSRF_COOKIE_SECURE": "the CSRF cookie is sent over plain HTTP",
    "SESSION_COOKIE_HTTPONLY": "JavaScript (and any XSS) can read the session cookie",
    "REMEMBER_COOKIE_SECURE": "the remember-me cookie is sent over plain HTTP",
    "REMEMBER_COOKIE_HTTPONLY": "JavaScript (and any XSS) can read the remember-me cookie",
    "JWT_COOKIE_SECURE": "JWT cookies are sent over plain HTTP",
}
_EXCLUDED_NAMES = ("csrf", "xsrf")  # read by JavaScript on purpose
_VALUE_WORDS = {"token", "jwt", "session", "sessionid", "sid"}
_NOT_VALUE = {"type", "name", "id", "count", "len", "length", "expiry", "expires"}


class InsecureAuthCookie(PythonRule):
    """
    ## What it does
    Flags a cookie holding a session, access or refresh token that is set without all three
    protections: `httponly=True`, `secure=True` and a `samesite` value. It reads
    `response.set_cookie(...)` and `set_signed_cookie(...)` of Flask/Werkzeug,
    Starlette/FastAPI and Django, whose arguments share one order. A cookie counts as an
    authentication cookie when a word of its name is one of `cookie-name-patterns`
    (`access_token`, `sessionid`, `refresh-token`, `remember_me`...; CSRF cookies excepted:
    JavaScript must read them), or, when the name is not a constant, when the value is a
    variable named like a token or session id.

    It also flags settings that switch the protections off: Django
    `SESSION_COOKIE_SECURE`, `CSRF_COOKIE_SECURE`, `SESSION_COOKIE_HTTPONLY` set to `False`;
    Flask `SESSION_COOKIE_SECURE` / `SESSION_COOKIE_HTTPONLY` (also through `app.config[...]`
    and `app.config.update(...)`), Flask-Login `REMEMBER_COOKIE_*` and Flask-JWT-Extended
    `JWT_COOKIE_SECURE` set to `False`.

    Arguments that are not constants (`secure=settings.SESSION_COOKIE_SECURE`,
    `secure=not app.debug`) count as set: the rule cannot know their value and stays
    silent. So does a call with `**kwargs`, a cookie being cleared (empty value or
    `max_age=0`), a test client's `set_cookie`, and settings in test or development
    configurations (files or classes named so, or under an `if` on `DEBUG`, the environment
    or production). A `False` whose comment speaks of development, production, HTTPS or
    localhost gets medium confidence. Starlette defaults
    `samesite` to `"lax"`, so a missing `samesite` is not reported in modules importing
    FastAPI or Starlette. A missing `samesite` alone gives medium confidence: current
    browsers treat such cookies as `Lax`.

    Test modules (under `tests/`, `test_*.py`, `*_test.py`, `conftest.py`) are not
    checked: tokens, cookies and secrets there are fixtures, not exposures.

    ## Why is this bad?
    Without `HttpOnly`, any script injected into the page can read the token and send it
    away (CWE-1004). Without `Secure`, the browser sends it over plain HTTP, where anyone on
    the network can copy it (CWE-614). Without `SameSite`, other sites can make the browser
    send it along with forged requests (CWE-352).

    ## Example
    ```python
    response.set_cookie("access_token", token)
    SESSION_COOKIE_SECURE = False
    ```

    ## Use instead
    ```python
    response.set_cookie("access_token", token, httponly=True, secure=True, samesite="Lax")
    SESSION_COOKIE_SECURE = True
    ```

    **Fix** (`--fix`, safe): the missing `httponly=True`, `secure=True` and
    `samesite="Lax"` are added to the `set_cookie` call. An explicit `False` is left
    alone (someone chose it; a person should review it), and so are settings.

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/1004.html
    - https://cwe.mitre.org/data/definitions/614.html
    - https://owasp.org/www-community/controls/SecureCookieAttribute
    - https://docs.djangoproject.com/en/stable/ref/settings/#session-cookie-secure
    - https://flask.palletsprojects.com/en/stable/security/#set-cookie-options
    """

    meta = RuleMeta(
        id="BL208", fixable=True, name="insecure-auth-cookie", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="An authentication cookie is set without HttpOnly, Secure or SameSite.",
        cwe=(1004, 614), tags=("security", "cookies", "authentication"),
        triggers=("set_cookie", "set_signed_cookie", "cookie_secure", "cookie_httponly"),
    )

    @classmethod
    def fix(cls, source: str, findings, file) -> str | None:
        """Add the missing `httponly=True`, `secure=True`, `samesite="Lax"` to `set_cookie`."""
        import libcst as cst

        from ...python.cst_fix import keyword, rewrite_calls, with_keywords

        def change(call):
            if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "set_cookie"):
                return None
            wanted = (("httponly", "True"), ("secure", "True"), ("samesite", '"Lax"'))
            return with_keywords(call, [(name, value) for name, value in wanted
                                        if keyword(call, name) is None])

        return rewrite_calls(source, findings, change)
    options = (
        Option("cookie-name-patterns", list,
               ["session", "sessionid", "sessid", "sid", "token", "jwt", "auth", "refresh",
                "remember", "bearer", "sso", "credentials"],
               "words of cookie names that hold credentials (case-insensitive; names are "
               "split at `_`, `-`, `.` and camelCase, so `sid` does not match `sidebar`)"),
    )

    def visit_Call(self, node: ast.Call) -> None:
        if jh.is_test_file(self.file):
            return
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("set_cookie", "set_signed_cookie"):
            self._set_cookie(node, func)
            return
        if isinstance(func, ast.Attribute) and func.attr == "update" and self._is_config(func.value):
            for keyword in node.keywords:
                if keyword.arg:
                    self._setting(keyword.arg, keyword.value)

    # -- set_cookie -------------------------------------------------------------------
    def _set_cookie(self, node: ast.Call, func: ast.Attribute) -> None:
        receiver = (ast.unparse(func.value) if hasattr(ast, "unparse") else "").lower()
        if any(w in receiver for w in ("client", "cookies", "jar", "browser", "driver")):
            return
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            return
        key = jh.argument(node, 0, "key")
        value = jh.argument(node, 1, "value")
        if key is None or value is None:
            return
        if isinstance(value, ast.Constant) and value.value in ("", None):
            return  # clearing the cookie
        for name in ("max_age", "expires"):
            age = jh.argument(node, 2 if name == "max_age" else 3, name)
            if isinstance(age, ast.Constant) and age.value == 0:
                return
        cookie, strong = self._cookie_name(key, value)
        if cookie is None:
            return
        problems = []
        for flag in ("httponly", "secure", "samesite"):
            arg = jh.argument(node, _POSITION[flag], flag)
            if flag == "samesite" and arg is None and self._starlette():
                continue
            if arg is None:
                problems.append(f"no `{flag}`")
            elif isinstance(arg, ast.Constant) and arg.value in (False, None):
                problems.append(f"`{flag}={arg.value}`")
        if not problems:
            return
        confidence = Confidence.HIGH if strong else Confidence.MEDIUM
        if all("samesite" in p for p in problems):
            confidence = Confidence.MEDIUM
        self.report(node, f"cookie {cookie} holds a credential but is set with "
                          f"{', '.join(problems)}: it should be HttpOnly, Secure and SameSite",
                    confidence=confidence)

    def _cookie_name(self, key: ast.expr, value: ast.expr) -> tuple[str | None, bool]:
        patterns = [p.lower() for p in self.option("cookie-name-patterns")]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            lowered = key.value.lower()
            if any(x in lowered for x in _EXCLUDED_NAMES):
                return None, False
            if _matches(key.value, patterns):
                return f"`{key.value}`", True
            return None, False
        label = _leaf(key)
        if label and any(x in label.lower() for x in _EXCLUDED_NAMES):
            return None, False
        # A name that is not a constant: judge by what is stored in it.
        leaf = _leaf(value)
        if leaf:
            w = set(jh.words(leaf))
            if w & _VALUE_WORDS and (not w & _NOT_VALUE or w >= {"session", "id"}):
                shown = label or ast.unparse(key)
                return f"`{shown[:40]}` (value `{leaf}`)", False
        return None, False

    def _starlette(self) -> bool:
        aliases = self.file.names.aliases.values()
        return any(a.split(".")[0] in ("fastapi", "starlette") for a in aliases)

    # -- settings ---------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name) and self.file.enclosing_function() is None:
                self._setting(target.id, node.value)
            elif isinstance(target, ast.Subscript) and self._is_config(target.value):
                key = target.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self._setting(key.value, node.value)
            elif isinstance(target, ast.Attribute) and target.attr in _SETTINGS and \
                    isinstance(target.value, ast.Name) and target.value.id in ("settings", "config"):
                self._setting(target.attr, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None \
                and self.file.enclosing_function() is None:
            self._setting(node.target.id, node.value)

    def _is_config(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "config" or (
            isinstance(node, ast.Name) and node.id in ("config", "app_config", "CONFIG"))

    def _setting(self, name: str, value: ast.expr) -> None:
        if name not in _SETTINGS:
            return
        if not (isinstance(value, ast.Constant) and value.value is False):
            return
        if _dev_context(self.file):
            return
        confidence = Confidence.HIGH
        nearby = " ".join(self.file.line_text(n) for n in (value.lineno - 1, value.lineno)).lower()
        if "#" in nearby and any(w in nearby.split("#", 1)[1] for w in (
                "dev", "local", "prod", "https", "localhost", "later", "todo")):
            confidence = Confidence.MEDIUM  # the comment says it is meant for development
        self.report(value, f"`{name} = False`: {_SETTINGS[name]}", confidence=confidence)


_COMPOUNDS = ("sessionid", "sessid", "accesstoken", "refreshtoken", "authtoken", "idtoken",
              "sessiontoken", "jwt", "bearer")


def _matches(name: str, patterns: list[str]) -> bool:
    words = jh.words(name.replace("-", "_"))
    if any(w in patterns for w in words):
        return True
    joined = "".join(words)
    return any(c in joined for c in _COMPOUNDS)


def _leaf(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str):
        return node.slice.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _dev_context(file) -> bool:
    path = file.relpath.replace("\\", "/").lower()
    parts = path.split("/")
    stem = parts[-1]
    if stem in ("global_settings.py",) or stem.startswith("test_") or stem.endswith("_test.py"):
        return True
    words = set()
    for part in parts:
        words.update(jh.words(part.removesuffix(".py")))
    if words & {"test", "tests", "testing", "dev", "development", "local", "debug", "example",
                "examples"}:
        return True
    for node in file.ancestors:
        if isinstance(node, ast.ClassDef) and set(jh.words(node.name)) & {
                "dev", "development", "test", "testing", "local", "debug"}:
            return True
        if isinstance(node, ast.If) and any(w in ast.unparse(node.test).lower() for w in (
                "debug", "prod", "env", "local", "dev", "test", "secure", "https")):
            return True  # configuration chosen per environment
    return False
