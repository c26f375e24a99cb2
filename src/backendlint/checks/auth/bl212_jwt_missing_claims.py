from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import Option, PythonRule, RuleMeta

# Claims that say who a token is about when `sub` is not used.
_SUBJECT_LIKE = {"user_id", "userid", "uid", "user", "username", "email", "id", "identity",
                 "account_id", "member_id", "customer_id", "login", "name"}
# Words naming tokens that are not sessions: a link or a one-off proof whose subject may be
# an e-mail address or a resource.
_PURPOSE_WORDS = {"reset", "verify", "verification", "verified", "confirm", "confirmation",
                  "activation", "activate", "invite", "invitation", "unsubscribe", "email",
                  "magic", "download", "share", "signup", "otp", "state", "nonce", "csrf",
                  "upload", "webhook", "link", "preview", "oauth"}
_AUTH_CLAIMS = {"role", "roles", "scope", "scopes", "permissions", "perms", "is_admin", "admin",
                "groups", "is_staff", "is_superuser", "tenant", "tenant_id", "org_id"}
_AUTH_CONTEXT = {"access", "auth", "login", "session", "bearer", "identity", "authenticate",
                 "signin", "user", "jwt", "token"}
_REVOCATION = re.compile(r"\b\w*(?:blacklist|blocklist|denylist|deny_list|block_list|revoked|"
                         r"revoke|revocation)\w*", re.I)


class JwtMissingClaims(PythonRule):
    """
    ## What it does
    Flags a JWT signed without the registered claims the checklist asks of every token:
    `sub` (whom the token is about) and `iat` (when it was issued) by default, and `jti`
    (a unique token id) when the module keeps a revocation list — it mentions a
    `blacklist`, `blocklist`, `denylist` or `revoked` store — or when the
    `required-claims` option lists it.

    Calls are recognised as for BL205 (PyJWT and python-jose `jwt.encode`, authlib
    `jwt.encode(header, payload, key)` and `JsonWebToken` instances) and the claims are
    rebuilt the same way: a dict literal or `dict(...)`, a dict grown in the same function
    (`payload["iat"] = ...`, `update()`, `setdefault()`, `{**base, ...}`, `copy()`), a
    module constant, or what a helper of the module returns.

    - When the claims come from a parameter (`def create_access_token(data): to_encode =
      data.copy(); to_encode.update(exp=...)`) the calls of that function in the module
      are evaluated: the rule reports when every one of them misses a required claim.
      With no call in sight it reports, with medium confidence, only a missing `iat` in a
      function that sets `exp` itself: the function that decides the token's lifetime is
      where the issue time belongs, whatever its callers pass.
    - Tokens for a purpose other than a session — password reset, e-mail verification,
      invitations, magic links, downloads, OAuth `state` (recognised by the words of the
      function or variable name, or a `type` / `purpose` claim) — may name their subject
      with another claim (`email`, `user_id`, ...) or have none: `sub` is not required of
      them. `iat` still is.
    - `sub` is required only of tokens that identify someone: they carry a user claim
      (`user_id`, `username`, `email`, ...), an authorisation claim (`role`, `scope`,
      `permissions`, ...), or are made by a function or stored in a variable named for
      access, auth, login, session or tokens. A JWT that merely signs data
      (`{"file_id": 7, "exp": ...}` in `sign_payload()`) needs only `iat`.
    - A self-issued client assertion (`iss` present, no claim about a user, as GitHub App
      and Apple client-secret JWTs) is not required to carry `sub`.
    - Framework token factories (Flask-JWT-Extended `create_access_token`, SimpleJWT) add
      `sub`, `iat` and `jti` themselves and are not checked.

    The rule stays silent when a claim may come from code it cannot see (a `**spread` of an
    unknown dict, an `update()` with an unknown argument, a payload built in another
    module), and in test modules.

    ## Why is this bad?
    Without `sub` the token does not say whom it belongs to in the standard place, so
    libraries, gateways and audit tools cannot read it and ad hoc claims (`user_id`, `uid`)
    drift between services. Without `iat` a server cannot tell old tokens from new ones:
    "log out everywhere" and "invalidate tokens issued before the password change" become
    impossible. Without `jti` a revocation list has nothing to key on, so a stolen token
    cannot be revoked on its own (CWE-613).

    ## Example
    ```python
    token = jwt.encode({"user_id": user.id, "exp": expires}, KEY, algorithm="HS256")
    ```

    ## Use instead
    ```python
    now = datetime.now(timezone.utc)
    token = jwt.encode({"sub": str(user.id), "iat": now, "exp": now + timedelta(minutes=15),
                        "jti": uuid.uuid4().hex}, KEY, algorithm="HS256")
    ```

    ## Options
    - `required-claims` (list of strings, default `["sub", "iat"]`): the claims every token
      must carry. Add `"jti"` to require token ids everywhere.
    - `jti-with-revocation` (true or false, default `true`): also require `jti` in modules
      that mention a revocation list.

    ## References
    - https://www.rfc-editor.org/rfc/rfc7519#section-4.1
    - https://www.rfc-editor.org/rfc/rfc8725
    - https://cwe.mitre.org/data/definitions/613.html
    """

    meta = RuleMeta(
        id="BL212", name="jwt-missing-claims", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A JWT is signed without the `sub`, `iat` (or `jti`) claims.",
        cwe=(613,), tags=("security", "jwt", "authentication"),
        triggers=("jwt", "jsonwebtoken"),
    )
    options = (
        Option("required-claims", list, ["sub", "iat"],
               "Registered claims every signed token must carry."),
        Option("jti-with-revocation", bool, True,
               "Also require `jti` in modules that mention a revocation list (blacklist, "
               "blocklist, denylist, revoked)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.encodes: list[tuple[ast.Call, object, object, ast.AST | None]] = []
        self.calls: list[tuple[ast.Call, object]] = []

    def visit_Call(self, node: ast.Call) -> None:
        scope = self.file.enclosing_function()
        self.calls.append((node, scope))
        jc = jh.classify_call(self.file, node)
        if jc is None or jc.table != "encode":
            return
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        self.encodes.append((node, jc, scope, parent, jh.enclosing(self.file, ast.ClassDef)))

    def finish(self) -> None:
        if not self.encodes or jh.is_test_file(self.file):
            return
        required = [c for c in self.option("required-claims") if c]
        if self.option("jti-with-revocation") and "jti" not in required \
                and _REVOCATION.search(self.file.text):
            required.append("jti")
        for call, jc, scope, parent, cls in self.encodes:
            self._check(call, jc, scope, parent, cls, required)

    def _check(self, call, jc, scope, parent, cls, required) -> None:
        payload = jh.payload_argument(jc)
        if payload is None:
            return
        evaluator = jh.ClaimsEvaluator(self.file, {call.lineno})
        claims = evaluator.evaluate(payload, scope, call.lineno, 0, cls)
        confidence = Confidence.HIGH if jc.resolved else Confidence.MEDIUM
        context = self._context_words(scope, parent, payload)
        if claims.complete:
            missing = self._missing(claims, required, context)
            if missing:
                self.report(call, self._message(missing, claims), confidence=confidence)
            return
        if claims.parameter is None:
            return
        function, parameter = claims.parameter
        sites = jh.claims_at_call_sites(self.file, function, parameter, self.calls)
        if sites:
            misses = [self._missing(self._merged(c, claims), required, context) for c in sites]
            if all(c.complete for c in sites) and all(misses):
                common = [k for k in required if all(k in m for m in misses)]
                shown = common or misses[0]
                self.report(call, f"JWT signed without {_list(shown)}: no call of "
                                  f"`{function.name}()` in this module passes "
                                  f"{'it' if len(shown) == 1 else 'them'}", confidence=confidence)
            return
        if "iat" in required and claims.has("exp") and not claims.has("iat") \
                and not claims.has("nbf"):
            self.report(call, "JWT gets `exp` here but no `iat`: the function that sets the "
                              "token's lifetime should record when it was issued",
                        confidence=Confidence.MEDIUM)

    @staticmethod
    def _merged(site: jh.Claims, own: jh.Claims) -> jh.Claims:
        out = jh.Claims(complete=site.complete)
        out.merge(site)
        for key, values in own.keys.items():
            out.keys.setdefault(key, []).extend(values)
        out.complete = site.complete
        return out

    def _missing(self, claims: jh.Claims, required: list[str], context: set[str]) -> list[str]:
        missing = [k for k in required if not claims.has(k)]
        if "sub" in missing:
            keys = set(claims.keys)
            subject_like = keys & _SUBJECT_LIKE
            purpose = context | _claim_words(claims)
            if purpose & _PURPOSE_WORDS:
                missing.remove("sub")  # a link or one-off proof, not a session
            elif "iss" in keys and not subject_like:
                missing.remove("sub")  # a self-issued client assertion
            elif not subject_like and not keys & _AUTH_CLAIMS and not context & _AUTH_CONTEXT:
                missing.remove("sub")  # nothing says this token identifies anyone
        return missing

    def _context_words(self, scope, parent, payload) -> set[str]:
        out: set[str] = set()
        if scope is not None:
            out |= set(jh.words(scope.name))
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    out |= set(jh.words(target.id))
        if isinstance(payload, ast.Name):
            out |= set(jh.words(payload.id))
        return out

    def _message(self, missing: list[str], claims: jh.Claims) -> str:
        keys = list(claims.keys)
        shown = ", ".join(f"`{k}`" for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
        extra = ""
        alias = sorted(set(keys) & _SUBJECT_LIKE)
        if "sub" in missing and alias:
            extra = f"; `{alias[0]}` stands where the registered `sub` claim belongs"
        return (f"JWT signed without {_list(missing)}"
                f"{f' (claims: {shown})' if keys else ''}{extra}")


def _claim_words(claims: jh.Claims) -> set[str]:
    out: set[str] = set()
    for key in ("type", "typ", "token_type", "purpose", "scope", "kind", "use", "action", "aud"):
        for value, _scope in claims.keys.get(key, []):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out |= set(jh.words(value.value))
    return out


def _list(keys: list[str]) -> str:
    quoted = [f"`{k}`" for k in keys]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
