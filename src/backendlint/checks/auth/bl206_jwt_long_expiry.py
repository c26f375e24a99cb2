import ast

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import Option, PythonRule, RuleMeta

_TYPE_CLAIMS = ("type", "token_type", "typ", "kind", "use", "scope", "purpose")
# Tokens made for one action (a reset link, an e-mail confirmation): they may live longer
# than an access token, so the refresh limit applies to them.
_PURPOSE = {"reset", "verify", "verification", "confirm", "confirmation", "activation",
            "activate", "invite", "invitation", "email", "magic", "unsubscribe", "download",
            "share", "signup", "onboarding", "otp", "recovery"}
_REFRESH = {"refresh", "remember"}
_EXPIRE_WORDS = {"expire", "expires", "expiry", "expiration", "lifetime", "ttl", "exp",
                 "life", "validity", "age"}
_UNIT_WORDS = {"seconds": 1, "second": 1, "secs": 1, "sec": 1, "s": None,
               "minutes": 60, "minute": 60, "mins": 60, "min": 60,
               "hours": 3600, "hour": 3600, "hrs": 3600, "h": None,
               "days": 86400, "day": 86400, "weeks": 604800, "week": 604800}


class JwtLongExpiry(PythonRule):
    """
    ## What it does
    Flags JWT lifetimes longer than a limit: the `exp` claim of a `jwt.encode` call
    (PyJWT, python-jose, authlib) when it evaluates statically — `now + timedelta(...)`,
    `datetime.utcnow() + ...`, `time.time() + N`, `int(...timestamp())`,
    `calendar.timegm(...)`, a hard-coded timestamp — following local variables and module
    constants; Flask-JWT-Extended's `expires_delta=` and its `JWT_ACCESS_TOKEN_EXPIRES` /
    `JWT_REFRESH_TOKEN_EXPIRES` settings (a long duration, or `False`, which disables
    expiry); djangorestframework-simplejwt's `SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]` and
    `REFRESH_TOKEN_LIFETIME`; djangorestframework-jwt's `JWT_EXPIRATION_DELTA`;
    fastapi-users' `JWTStrategy(lifetime_seconds=...)` (where `None` means never);
    simplejwt's `token.set_exp(lifetime=...)`; the durations callers in the same module pass
    to a token function whose `exp` is `now + <parameter>`; and
    constants named like a token lifetime with a unit (`ACCESS_TOKEN_EXPIRE_MINUTES = 60 * 24
    * 8`), when no `exp` in the same file already reports them.

    Access tokens are held to `max-access-minutes`. Refresh tokens — recognised by a
    `type` / `token_type` claim, or the word "refresh" in the function, variable, constant
    or setting name — are held to `max-refresh-days`, and so are single-purpose tokens
    (password reset, e-mail confirmation, invitations), whose names say what they are for.

    Lifetimes read from the environment or from another module are unknown and never
    reported. When no import says which library `jwt` is, the finding has medium confidence.

    Test modules (under `tests/`, `test_*.py`, `*_test.py`, `conftest.py`) are not
    checked: tokens, cookies and secrets there are fixtures, not exposures.

    ## Why is this bad?
    A bearer token works for whoever holds it until it expires. A stolen access token that
    lives for days gives an attacker days; short access tokens (15-60 minutes) with a
    refresh token that can be revoked and rotated keep the window small (CWE-613).

    ## Example
    ```python
    payload = {"sub": user_id, "exp": datetime.utcnow() + timedelta(days=7)}
    token = jwt.encode(payload, KEY, algorithm="HS256")

    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = False
    ```

    ## Use instead
    ```python
    payload = {"sub": user_id, "exp": datetime.utcnow() + timedelta(minutes=15)}
    token = jwt.encode(payload, KEY, algorithm="HS256")

    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=15)
    ```

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/613.html
    - https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html
    - https://flask-jwt-extended.readthedocs.io/en/stable/options.html
    - https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
    """

    meta = RuleMeta(
        id="BL206", name="jwt-long-expiry", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A JWT lives longer than the configured limit (or never expires).",
        cwe=(613,), tags=("security", "jwt", "authentication"),
        triggers=("jwt", "jsonwebtoken", "token_lifetime", "token_expire", "token_ttl",
                  "lifetime_seconds"),
    )
    options = (
        Option("max-access-minutes", int, 60,
               "longest lifetime allowed for an access token, in minutes"),
        Option("max-refresh-days", int, 30,
               "longest lifetime allowed for a refresh (or single-purpose) token, in days"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._times = jh.TimeEvaluator(self.file)
        self._used_names: set[str] = set()
        self._constants: list[tuple[ast.AST, str, jh.Lifetime, str]] = []
        self._seen: set[int] = set()

    # -- limits ----------------------------------------------------------------
    def _limit(self, kind: str) -> float:
        if kind == "access":
            return self.option("max-access-minutes") * 60.0
        return self.option("max-refresh-days") * 86400.0

    # -- exp claims ---------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        if jh.is_test_file(self.file):
            return
        jc = jh.classify_call(self.file, node)
        if jc is not None and jc.table == "encode":
            self._encode(jc)
        elif jc is not None and jc.table == "token_factory":
            self._factory(jc)
        elif jc is not None and jc.table == "lifetime_argument":
            self._lifetime_argument(jc)
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "set_exp":
            self._set_exp(node)
        else:
            self._settings_call(node)

    def _set_exp(self, node: ast.Call) -> None:
        """simplejwt: `token.set_exp(lifetime=timedelta(...))`."""
        if not any(a.startswith("rest_framework_simplejwt")
                   for a in self.file.names.aliases.values()):
            return
        value = jh.argument(node, 1, "lifetime")
        if value is None:
            return
        receiver = ast.unparse(node.func.value) if hasattr(ast, "unparse") else ""
        scope = self.file.enclosing_function()
        kind = _kind_of([receiver] + ([scope.name] if scope else []))
        self._check(value, self._times.duration(value, scope, bare_unit=None), kind,
                    "`set_exp(lifetime=...)` (djangorestframework-simplejwt)")

    def _encode(self, jc: jh.JwtCall) -> None:
        payload = jh.payload_argument(jc)
        if payload is None:
            return
        scope = self.file.enclosing_function()
        cls = jh.enclosing(self.file, ast.ClassDef)
        claims = jh.ClaimsEvaluator(self.file, {jc.call.lineno}).evaluate(
            payload, scope, jc.call.lineno, 0, cls)
        for value, value_scope in claims.keys.get("exp", []):
            if value is None or id(value) in self._seen:
                continue
            lifetime = self._times.expiry(value, value_scope)
            self._used_names |= lifetime.names
            if value_scope is not None:
                kind = self._kind(claims, lifetime.names, scope, jc.call)
                self._call_sites(value_scope, lifetime.names & jh.parameter_names(value_scope),
                                 kind, jc.resolved)
            if not lifetime.known or lifetime.seconds <= 0:
                continue
            kind = self._kind(claims, lifetime.names, scope, jc.call)
            limit = self._limit(kind)
            if lifetime.seconds <= limit:
                continue
            self._seen.add(id(value))
            confidence = Confidence.HIGH if jc.resolved else Confidence.MEDIUM
            self.report(self._anchor(value, value_scope),
                        f"JWT `exp` is {jh.human(lifetime.seconds)} away: longer than the "
                        f"{_limit_text(kind, limit)} allowed for {_kind_text(kind)}",
                        confidence=confidence)

    def _call_sites(self, function, parameters: set[str], kind: str, resolved: bool) -> None:
        """`def create_access_token(data, expires_delta)` with `exp = now + expires_delta`:
        judge the durations its callers in this module pass."""
        if not parameters or jh.is_test_file(self.file):
            return
        args = function.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        method = bool(positional) and positional[0] in ("self", "cls")
        if method:
            positional = positional[1:]
        for node in ast.walk(self.file.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if not ((isinstance(func, ast.Name) and func.id == function.name) or (
                    isinstance(func, ast.Attribute) and func.attr == function.name and method)):
                continue
            caller = jh.scope_of(self.file, node)
            for parameter in sorted(parameters):
                position = positional.index(parameter) if parameter in positional else None
                value = jh.argument(node, position, parameter)
                if value is None or id(value) in self._seen:
                    continue
                unit = next((_UNIT_WORDS[x] for x in reversed(jh.words(parameter))
                             if _UNIT_WORDS.get(x)), None)
                lifetime = self._times.duration(value, caller, bare_unit=unit)
                self._used_names |= lifetime.names
                call_kind = kind
                if kind == "access":
                    call_kind = _kind_of(list(lifetime.names) + ([caller.name] if caller else [])
                                         + [function.name])
                self._check(value, lifetime, call_kind,
                            f"`{parameter}` passed to `{function.name}()`",
                            Confidence.HIGH if resolved else Confidence.MEDIUM)

    def _anchor(self, value: ast.expr, scope) -> ast.AST:
        if isinstance(value, ast.Name):
            values = jh.assignments(self.file, scope, value.id, value.lineno)
            if values and len(values) == 1:
                return values[0]
        return value

    def _kind(self, claims: jh.Claims, names: set[str], scope, call: ast.Call) -> str:
        texts: list[str] = []
        for key in _TYPE_CLAIMS:
            for value, _ in claims.keys.get(key, []):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    texts.append(value.value)
        texts.extend(names)
        texts.extend(claims.names)
        if scope is not None:
            texts.append(scope.name)
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            texts.extend(t.id for t in targets if isinstance(t, ast.Name))
        return _kind_of(texts)

    # -- Flask-JWT-Extended helpers, fastapi-users --------------------------------
    def _factory(self, jc: jh.JwtCall) -> None:
        value = jc.argument(None, jc.api.entry.get("expires_keyword", "expires_delta"))
        if value is None or (isinstance(value, ast.Constant) and value.value in (False, None)):
            return  # `False` is BL205's (no exp at all)
        kind = jc.api.entry.get("kind", "access")
        names = [self.file.enclosing_function().name] if self.file.enclosing_function() else []
        if kind == "access" and _kind_of(names) != "access":
            kind = _kind_of(names)
        lifetime = self._times.duration(value, self.file.enclosing_function(), bare_unit=1.0)
        self._check(value, lifetime, kind, f"`{jc.api.entry.get('expires_keyword')}` of "
                                           f"{jc.api.library}")

    def _lifetime_argument(self, jc: jh.JwtCall) -> None:
        entry = jc.api.entry
        value = jc.argument(entry.get("argument"), entry.get("keyword"))
        if value is None:
            return
        if isinstance(value, ast.Constant) and value.value is None and entry.get("none_disables"):
            self.report(value, f"`{entry['keyword']}=None` makes {entry['framework']} tokens "
                               f"never expire", confidence=Confidence.HIGH)
            return
        lifetime = self._times.duration(value, self.file.enclosing_function(), bare_unit=1.0)
        self._check(value, lifetime, entry.get("kind", "access"),
                    f"`{entry['keyword']}` of {entry['framework']}")

    # -- settings -------------------------------------------------------------------
    def _settings_call(self, node: ast.Call) -> None:
        # app.config.update(JWT_ACCESS_TOKEN_EXPIRES=...), dict(...)
        if not isinstance(node.func, ast.Attribute) or node.func.attr != "update":
            if self.file.qualname(node.func) != "dict":
                return
        for keyword in node.keywords:
            if keyword.arg:
                self._setting(keyword.arg, keyword.value)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self._setting(key.value, value)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assigned(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assigned(node.target, node.value)

    def _assigned(self, target: ast.AST, value: ast.expr) -> None:
        if isinstance(target, ast.Subscript):
            key = target.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self._setting(key.value, value)
        elif isinstance(target, (ast.Name, ast.Attribute)):
            name = target.id if isinstance(target, ast.Name) else target.attr
            if name in jh.jwt_knowledge().settings:
                self._setting(name, value)
            elif self.file.enclosing_function() is None:
                self._constant(name, value, target)

    def _setting(self, name: str, value: ast.expr) -> None:
        entry = jh.jwt_knowledge().settings.get(name)
        if entry is None:
            return
        if _is_dev_context(self.file):
            return
        kind = entry.get("kind", "access")
        what = f"`{name}` ({entry.get('framework')})"
        if isinstance(value, ast.Constant) and (value.value is False or (
                value.value is None and entry.get("false_disables"))):
            if entry.get("false_disables"):
                self.report(value, f"{what} = {value.value}: {_kind_text(kind)} never expire",
                            confidence=Confidence.HIGH)
            return
        bare = 1.0 if entry.get("unit") == "seconds" else None
        lifetime = self._times.duration(value, self.file.enclosing_function(), bare_unit=bare)
        self._check(value, lifetime, kind, what)

    def _check(self, node: ast.AST, lifetime: jh.Lifetime, kind: str, what: str,
               confidence: Confidence = Confidence.HIGH) -> None:
        self._used_names |= lifetime.names
        if not lifetime.known or lifetime.seconds <= 0 or id(node) in self._seen:
            return
        limit = self._limit(kind)
        if lifetime.seconds > limit:
            self._seen.add(id(node))
            self.report(node, f"{what} is {jh.human(lifetime.seconds)}: longer than the "
                              f"{_limit_text(kind, limit)} allowed for {_kind_text(kind)}",
                        confidence=confidence)

    # -- lifetime constants -------------------------------------------------------------
    def _constant(self, name: str, value: ast.expr, target: ast.AST) -> None:
        if _is_dev_context(self.file):
            return
        w = jh.words(name)
        if not (set(w) & {"token", "jwt"}):
            return
        if not set(w) & _EXPIRE_WORDS:
            return
        if set(w) & {"cookie", "cache", "otp", "code"}:
            return
        unit = next((_UNIT_WORDS[x] for x in reversed(w) if _UNIT_WORDS.get(x)), None)
        lifetime = self._times.duration(value, None, bare_unit=unit)
        if not lifetime.known:
            return
        self._constants.append((value, name, lifetime, _kind_of([name])))

    def finish(self) -> None:
        if _is_dev_context(self.file):
            return
        for value, name, lifetime, kind in self._constants:
            if name in self._used_names:
                continue  # an exp built from it was judged (or reported) already
            self._check(value, lifetime, kind, f"`{name}`", confidence=Confidence.MEDIUM)


def _kind_of(texts) -> str:
    found: set[str] = set()
    for text in texts:
        found.update(jh.words(str(text)))
    if found & _REFRESH:
        return "refresh"
    if found & _PURPOSE:
        return "purpose"
    return "access"


def _kind_text(kind: str) -> str:
    return {"access": "access tokens", "refresh": "refresh tokens",
            "purpose": "single-purpose tokens"}[kind]


def _limit_text(kind: str, limit: float) -> str:
    if kind == "access":
        return f"{limit / 60:.0f} minutes (`max-access-minutes`)"
    return f"{limit / 86400:.0f} days (`max-refresh-days`)"


def _is_dev_context(file) -> bool:
    """Settings of test and development configurations are not production lifetimes."""
    parts = {p.lower() for p in file.relpath.replace("\\", "/").split("/")}
    stem = file.relpath.rsplit("/", 1)[-1].lower()
    if parts & {"tests", "test", "testing"} or stem.startswith("test_") or stem.endswith("_test.py"):
        return True
    for node in reversed(file.ancestors):
        if isinstance(node, ast.ClassDef):
            w = set(jh.words(node.name))
            if w & {"dev", "development", "test", "testing", "local", "debug"}:
                return True
    return False
