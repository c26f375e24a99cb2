import ast

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import PythonRule, RuleMeta

_REGISTERED = ("iat", "nbf", "iss", "aud", "jti")


class JwtMissingExpiry(PythonRule):
    """
    ## What it does
    Flags a JWT signed without an `exp` (expiration) claim: `jwt.encode` of PyJWT and
    python-jose, `jwt.encode(header, payload, key)` of authlib (the payload is the second
    argument) and authlib `JsonWebToken` instances. The claims are rebuilt from the syntax
    tree: a dict literal or `dict(...)` call, a dict built in the same function
    (`payload["exp"] = ...`, `payload.update(exp=...)`, `payload.setdefault(...)`,
    `{**base, ...}`, `data.copy()`), a module constant, or what a helper function of the same
    module (or a method of the same class) returns. It also flags Flask-JWT-Extended's
    `create_access_token(..., expires_delta=False)`, which issues a token that never
    expires.

    When the claims come from a parameter, the rule looks at the calls of that function in
    the same module: it reports when every one of them passes claims without `exp`. With no
    call in sight it reports (medium confidence) only when the function itself sets other
    registered claims (`iat`, `nbf`, `iss`, `aud`, `jti`) but not `exp` — a sign the
    function is where the token's lifetime should have been decided.

    It stays silent whenever some claim could come from code it cannot see: a `**spread` of
    an unknown dict, an `update()` with an unknown argument, a dict handed to another
    function before signing, a payload built in another module. When no import says which
    library `jwt` is, the finding has medium confidence.

    Test modules (under `tests/`, `test_*.py`, `*_test.py`, `conftest.py`) are not
    checked: tokens, cookies and secrets there are fixtures, not exposures.

    ## Why is this bad?
    A token without `exp` is valid forever: once it leaks (a log line, a browser history,
    a stolen laptop) it cannot be made to expire, and revoking it needs a deny-list the
    application probably does not have (CWE-613). Access tokens should live minutes, not
    forever.

    ## Example
    ```python
    import jwt

    def issue(user):
        return jwt.encode({"sub": str(user.id), "role": user.role}, KEY, algorithm="HS256")
    ```

    ## Use instead
    ```python
    import jwt
    from datetime import datetime, timedelta, timezone

    def issue(user):
        now = datetime.now(timezone.utc)
        claims = {"sub": str(user.id), "iat": now, "exp": now + timedelta(minutes=15)}
        return jwt.encode(claims, KEY, algorithm="HS256")
    ```

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/613.html
    - https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
    - https://www.rfc-editor.org/rfc/rfc8725
    - https://pyjwt.readthedocs.io/en/stable/usage.html#expiration-time-claim-exp
    """

    meta = RuleMeta(
        id="BL205", name="jwt-missing-expiry", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A JWT is signed without an `exp` claim, so it never expires.",
        cwe=(613,), tags=("security", "jwt", "authentication"),
        triggers=("jwt", "jsonwebtoken"),
    )

    def visit_Call(self, node: ast.Call) -> None:
        if jh.is_test_file(self.file):
            return
        jc = jh.classify_call(self.file, node)
        if jc is None:
            return
        if jc.table == "token_factory":
            self._factory(jc)
            return
        if jc.table != "encode":
            return
        payload = jh.payload_argument(jc)
        if payload is None:
            return
        scope = self.file.enclosing_function()
        cls = jh.enclosing(self.file, ast.ClassDef)
        evaluator = jh.ClaimsEvaluator(self.file, {node.lineno})
        claims = evaluator.evaluate(payload, scope, node.lineno, 0, cls)
        confidence = Confidence.HIGH if jc.resolved else Confidence.MEDIUM
        where = "" if jc.resolved else " (assuming `jwt` is PyJWT or python-jose: no import says)"
        if claims.has("exp"):
            return
        if claims.complete:
            self.report(node, f"JWT signed without an `exp` claim{_listed(claims)}: the token "
                              f"never expires{where}", confidence=confidence)
            return
        if claims.parameter is None:
            return
        function, parameter = claims.parameter
        sites = jh.claims_at_call_sites(self.file, function, parameter,
                                        ((n, None) for n in self.file.of_type(ast.Call)))
        if sites:
            if all(c.complete and not c.has("exp") for c in sites):
                self.report(node, f"JWT signed without an `exp` claim: every call of "
                                  f"`{function.name}()` in this module passes claims without "
                                  f"`exp`, so the token never expires{where}",
                            confidence=confidence)
            return
        registered = [k for k in _REGISTERED if claims.has(k)]
        if registered:
            self.report(node, f"JWT claims get {', '.join(f'`{k}`' for k in registered)} here "
                              f"but no `exp`: unless every caller passes one, the token never "
                              f"expires{where}", confidence=Confidence.MEDIUM)

    def _factory(self, jc: jh.JwtCall) -> None:
        value = jc.argument(None, jc.api.entry.get("expires_keyword", "expires_delta"))
        if isinstance(value, ast.Constant) and value.value is False:
            self.report(jc.call, f"`expires_delta=False` makes {jc.api.library} issue "
                                 f"{_article(jc.api.entry.get('kind', 'access'))} token without "
                                 f"`exp`: "
                                 f"it never expires", confidence=Confidence.HIGH)


def _listed(claims: jh.Claims) -> str:
    keys = list(claims.keys)
    if not keys:
        return ""
    shown = ", ".join(f"`{k}`" for k in keys[:5]) + (", ..." if len(keys) > 5 else "")
    return f" (claims: {shown})"


def _article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
