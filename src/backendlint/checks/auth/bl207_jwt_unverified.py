import ast

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import PythonRule, RuleMeta

# Claims and header fields read before verification for routing, not for trust: which key,
# which issuer's key set, when to refresh.
_METADATA_KEYS = {"kid", "alg", "typ", "cty", "jku", "x5u", "x5t", "iss", "exp", "iat", "nbf",
                  "aud", "tid", "azp", "jti", "sid"}
_AUTH_WORDS = {"user", "auth", "authenticate", "authorize", "authorise", "current", "identity",
               "permission", "permissions", "role", "roles", "admin", "login", "verify",
               "validate", "principal", "require", "required", "guard", "access"}
_INSPECT_WORDS = {"unverified", "peek", "inspect", "debug", "header", "headers",
                  "expiry", "expired", "expires", "expiring", "exp", "kid", "issuer", "iss"}


class JwtUnverified(PythonRule):
    """
    ## What it does
    Flags JWT decoding that does not verify what it must:
    - signature verification switched off: PyJWT / python-jose
      `options={"verify_signature": False}`, or PyJWT 1.x's `verify=False`;
    - expiry checking switched off: `options={"verify_exp": False}`;
    - `"none"` among the accepted algorithms (or in authlib's `JsonWebToken([...])`);
    - the accepted algorithms taken from the token's own header
      (`algorithms=[jwt.get_unverified_header(token)["alg"]]`);
    - python-jose `jwt.decode` without `algorithms`: python-jose then accepts whatever
      algorithm the token's header names (PyJWT 2 refuses to verify without the list, so a
      missing list there is a crash, not a bypass, and is not reported);
    - authlib `jwt.decode(...)` whose claims are used without `claims.validate()` (authlib
      checks the signature but leaves `exp` and `nbf` to `validate()`);
    - `get_unverified_claims` / `get_unverified_header` or an unverified decode whose result
      is used to decide who the caller is (its `sub`, `role`, `user_id`... read, or the
      claims returned to the caller). In a module that verifies tokens in another function
      such a read may look at an already-verified token (as Auth0's `requires_scope` does):
      it is reported with low confidence. A read of a token the same function just issued
      is not reported.

    Reading `kid`, `alg`, `iss` or `exp` from an unverified token to choose a key or decide
    when to refresh is normal and stays silent, and so does an unverified decode followed by
    a verified one in the same function, one stored in a variable named `unverified_...`
    (the name says the verification comes later), and one in a function named for
    inspecting tokens (`peek_...`, `..._unverified_...`, `..._header`, `..._expiry`) or
    in a click / typer command (a developer tool decoding the token it is given). An
    unverified decode stored on `self` for later use gets medium confidence.

    Test modules (under `tests/`, `test_*.py`, `*_test.py`, `conftest.py`) are not
    checked: tokens, cookies and secrets there are fixtures, not exposures.

    ## Why is this bad?
    A token whose signature is not checked can be written by anyone: change `sub` to the
    admin's id, or `role` to `"admin"`, and the server believes it (CWE-347). Accepting
    `none` or the algorithm the token asks for lets an attacker strip the signature or
    sign with a public key as an HMAC secret. Skipping `exp` makes stolen tokens valid forever
    (CWE-613).

    ## Example
    ```python
    claims = jwt.decode(token, options={"verify_signature": False})
    user = User.get(claims["sub"])

    claims = jwt.decode(token, KEY, algorithms=["HS256", "none"])
    ```

    ## Use instead
    ```python
    claims = jwt.decode(token, KEY, algorithms=["HS256"])
    user = User.get(claims["sub"])
    ```

    **Fix** (`--fix`, safe): a decode call that only lacks `algorithms` gets
    `algorithms=["<alg>"]` when the module signs its tokens with exactly one algorithm
    (`jwt.encode(..., algorithm="HS256")`). Switched-off verification and unverified
    reads are left for a person.

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/347.html
    - https://www.rfc-editor.org/rfc/rfc8725#section-2.1
    - https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode
    - https://docs.authlib.org/en/latest/jose/jwt.html
    """

    meta = RuleMeta(
        id="BL207", fixable=True, name="jwt-unverified", severity=Severity.CRITICAL,
        confidence=Confidence.HIGH,
        summary="A JWT is decoded without verifying its signature, algorithm or expiry.",
        cwe=(347, 613), tags=("security", "jwt", "authentication"),
        triggers=("jwt", "jsonwebtoken"),
    )

    @classmethod
    def fix(cls, source: str, findings, file) -> str | None:
        """Add `algorithms=[...]` to a decode call without it, when the module signs its
        tokens with exactly one algorithm."""
        import ast

        import libcst as cst

        from ...python.cst_fix import keyword, rewrite_calls, with_keywords

        used = {kw.value.value for node in ast.walk(file.tree) if isinstance(node, ast.Call)
                for kw in node.keywords if kw.arg == "algorithm" and isinstance(kw.value, ast.Constant)
                and isinstance(kw.value.value, str)}
        if len(used) != 1 or "none" in {a.lower() for a in used}:
            return None
        (algorithm,) = used

        def change(call):
            if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "decode"):
                return None
            if keyword(call, "algorithms") is not None or keyword(call, "options") is not None \
                    or keyword(call, "verify") is not None:
                return None
            return with_keywords(call, [("algorithms", f"[{algorithm!r}]".replace("'", '"'))])

        return rewrite_calls(source, findings, change)

    def visit_Call(self, node: ast.Call) -> None:
        if jh.is_test_file(self.file):
            return
        jc = jh.classify_call(self.file, node)
        if jc is None:
            return
        if jc.table == "decode":
            self._decode(jc)
        elif jc.table == "unverified":
            self._unverified(jc)
        elif jc.table == "jwt_class":
            algorithms = jc.argument(jc.api.entry.get("algorithms_argument", 0), "algorithms")
            if self._has_none(algorithms):
                self.report(node, f"{jc.api.library} JsonWebToken accepts the `none` algorithm: "
                                  f"unsigned tokens pass verification")

    # -- decode ------------------------------------------------------------------------
    def _decode(self, jc: jh.JwtCall) -> None:
        entry = jc.api.entry
        scope = self.file.enclosing_function()
        confidence = Confidence.HIGH if jc.resolved else Confidence.MEDIUM
        library = jc.library if jc.resolved else "the JWT library"
        options = self._dict(jc.argument(None, entry.get("options_keyword", "options")), scope)
        verify = jc.argument(None, entry.get("verify_keyword")) if entry.get("verify_keyword") else None
        if verify is None and entry.get("verify_keyword") and len(jc.call.args) > 2 and \
                isinstance(jc.call.args[2], ast.Constant) and isinstance(jc.call.args[2].value, bool):
            verify = jc.call.args[2]  # PyJWT 1.x: decode(jwt, key, verify, algorithms)
        no_signature = (options.get("verify_signature") is False) or (
            isinstance(verify, ast.Constant) and verify.value is False)
        if no_signature:
            if self._verified_elsewhere(jc.call, scope) or self._routing_only(jc.call, scope):
                return
            how = "`verify=False`" if isinstance(verify, ast.Constant) and verify.value is False \
                else '`options={"verify_signature": False}`'
            parent = self.file.ancestors[-1] if self.file.ancestors else None
            if _assigned_self_attribute(parent, jc.call) is not None:
                confidence = Confidence.MEDIUM  # stored for later: its use is out of sight
            self.report(jc.call, f"JWT decoded with {how}: the signature is not checked, so "
                                 f"anyone can forge the claims", confidence=confidence)
            return
        if options.get("verify_exp") is False:
            self.report(jc.call, 'JWT decoded with `options={"verify_exp": False}`: expired '
                                 "tokens are accepted forever", confidence=confidence)
            return
        algorithms = None
        if entry.get("algorithms_keyword") or entry.get("algorithms_argument") is not None:
            algorithms = jc.argument(entry.get("algorithms_argument"),
                                     entry.get("algorithms_keyword", "algorithms"))
            if isinstance(algorithms, ast.Constant) and isinstance(algorithms.value, bool):
                algorithms = None  # PyJWT 1.x's positional `verify`
        if algorithms is not None:
            if self._has_none(algorithms, scope):
                self.report(jc.call, "JWT decode accepts the `none` algorithm: unsigned tokens "
                                     "pass verification", confidence=confidence)
                return
            if self._from_token_header(algorithms, scope):
                self.report(jc.call, "JWT decode takes its accepted algorithms from the token's "
                                     "own header: an attacker chooses how the token is checked "
                                     "(`none`, or HMAC with the public key)",
                            confidence=confidence)
                return
        elif entry.get("any_algorithm_without_list") and jc.resolved:
            if len(jc.call.args) < 3 and not any(k.arg is None for k in jc.call.keywords):
                self.report(jc.call, f"{library} `jwt.decode` without `algorithms=`: it accepts "
                                     f"whatever algorithm the token's header names",
                            confidence=Confidence.MEDIUM)
                return
        if entry.get("claims_validated") is False and jc.resolved:
            self._authlib_validate(jc, scope)

    def _authlib_validate(self, jc: jh.JwtCall, scope) -> None:
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if isinstance(parent, (ast.Return, ast.Await)) or scope is None:
            return  # the caller may validate
        name = _assigned_name(parent, jc.call)
        if name is None:
            if isinstance(parent, (ast.Subscript, ast.Attribute)) and not (
                    isinstance(parent, ast.Attribute) and parent.attr == "validate"):
                self.report(jc.call, "authlib `jwt.decode` claims used without "
                                     "`claims.validate()`: `exp` and `nbf` are never checked",
                            confidence=Confidence.MEDIUM)
            return
        uses = _uses(self.file, scope, name, jc.call.lineno)
        if "validate" in uses.methods or uses.returned or uses.passed:
            return
        if uses.keys or uses.methods & {"get", "items", "keys", "values"}:
            self.report(jc.call, f"authlib `jwt.decode` claims (`{name}`) used without "
                                 f"`{name}.validate()`: `exp` and `nbf` are never checked",
                        confidence=Confidence.MEDIUM)

    # -- unverified reads ------------------------------------------------------------------
    def _unverified(self, jc: jh.JwtCall) -> None:
        scope = self.file.enclosing_function()
        if scope is None or self._verified_elsewhere(jc.call, scope):
            return
        if self._own_token(jc.call, scope):
            return
        part = jc.api.entry.get("part", "claims")
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        keys: set[str] = set()
        returned = False
        name = _assigned_name(parent, jc.call)
        if name is not None:
            uses = _uses(self.file, scope, name, jc.call.lineno)
            keys, returned = uses.keys, uses.returned
        elif isinstance(parent, ast.Subscript):
            keys = {_constant(parent.slice)} - {None}
        elif isinstance(parent, ast.Return):
            returned = True
        trusted = keys - _METADATA_KEYS
        fn_words = set(jh.words(scope.name))
        if fn_words & _INSPECT_WORDS:
            return
        if trusted or (returned and part == "claims"):
            what = ", ".join(f"`{k}`" for k in sorted(trusted)) or "its claims"
            confidence = Confidence.LOW if self._module_verifies(scope) else Confidence.MEDIUM
            self.report(jc.call, f"`{_call_name(jc.call)}` reads the token without verifying "
                                 f"it, and {what} then decide who the caller is: anyone can "
                                 f"forge them", confidence=confidence)

    # -- helpers ------------------------------------------------------------------------
    def _routing_only(self, call: ast.Call, scope) -> bool:
        """An unverified decode read only for routing fields (kid, iss, exp...), or in a
        function whose name says it inspects tokens."""
        if scope is None:
            return False
        if set(jh.words(scope.name)) & _INSPECT_WORDS or _is_cli_command(scope):
            return True
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if isinstance(parent, ast.Subscript):
            key = _constant(parent.slice)
            return key in _METADATA_KEYS
        name = _assigned_name(parent, call)
        if name is not None and set(jh.words(name)) & {"unverified", "untrusted"}:
            return True  # named for what it is; the verification happens further on
        if name is None:
            attribute = _assigned_self_attribute(parent, call)
            cls = jh.enclosing(self.file, ast.ClassDef)
            if attribute is None or cls is None:
                return False
            keys = _self_attribute_keys(cls, attribute)
            return bool(keys) and keys <= _METADATA_KEYS
        uses = _uses(self.file, scope, name, call.lineno)
        return bool(uses.keys) and uses.keys <= _METADATA_KEYS and not uses.returned \
            and not uses.passed

    def _module_verifies(self, scope) -> bool:
        """A verifying decode in another function of the module: the unverified read most
        likely looks at a token that code has already checked (Auth0's `requires_scope`)."""
        for node in ast.walk(self.file.tree):
            if isinstance(node, ast.Call):
                other = jh.classify_call(self.file, node)
                if other is not None and other.table == "decode" and \
                        jh.scope_of(self.file, node) is not scope and self._verifies(other, scope):
                    return True
        return False

    def _own_token(self, call: ast.Call, scope) -> bool:
        """The token was issued a few lines up, in the same function."""
        token = call.args[0] if call.args else None
        if not isinstance(token, ast.Name):
            return False
        for value in jh.assignments(self.file, scope, token.id, call.lineno) or ():
            if isinstance(value, ast.Call):
                name = (self.file.qualname(value.func) or "").rsplit(".", 1)[-1]
                other = jh.classify_call(self.file, value)
                if (other is not None and other.table in ("encode", "token_factory")) or \
                        set(jh.words(name)) & {"create", "issue", "encode", "make", "generate"}:
                    return True
        return False

    def _verifies(self, other: jh.JwtCall, scope) -> bool:
        options = self._dict(other.argument(None, "options"), scope)
        verify = other.argument(None, "verify")
        return not (options.get("verify_signature") is False or (
            isinstance(verify, ast.Constant) and verify.value is False))

    def _verified_elsewhere(self, call: ast.Call, scope) -> bool:
        """A verification after this read in the same function (read the key id or issuer,
        then verify): a verifying decode, or a `verify(...)` call."""
        for node in jh.function_statements(scope, self.file):
            if isinstance(node, ast.Call) and node is not call:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in ("verify", "verify_signature"):
                    return True  # a signature checked by hand, before or after
                if node.lineno < call.lineno:
                    continue
                other = jh.classify_call(self.file, node)
                if other is None or other.table != "decode":
                    continue
                options = self._dict(other.argument(None, "options"), scope)
                verify = other.argument(None, "verify")
                if options.get("verify_signature") is False or (
                        isinstance(verify, ast.Constant) and verify.value is False):
                    continue
                return True
        return False

    def _dict(self, node, scope) -> dict[str, object]:
        if isinstance(node, ast.Name):
            values = jh.assignments(self.file, scope, node.id, node.lineno)
            if values is not None and not values and scope is not None:
                values = jh.assignments(self.file, None, node.id)
            if values and len(values) == 1:
                node = values[0]
        out: dict[str, object] = {}
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                k = _constant(key) if key is not None else None
                if isinstance(k, str):
                    out[k] = value.value if isinstance(value, ast.Constant) else value
        elif isinstance(node, ast.Call) and self.file.qualname(node.func) == "dict":
            for keyword in node.keywords:
                if keyword.arg:
                    out[keyword.arg] = keyword.value.value if isinstance(
                        keyword.value, ast.Constant) else keyword.value
        return out

    def _has_none(self, node, scope=None) -> bool:
        if isinstance(node, ast.Name):
            values = jh.assignments(self.file, scope, node.id, node.lineno if scope else None)
            if values is not None and not values and scope is not None:
                values = jh.assignments(self.file, None, node.id)
            if values and len(values) == 1:
                node = values[0]
        elements = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else [node]
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str)
                   and e.value.strip().lower() == "none" for e in elements)

    def _from_token_header(self, node, scope) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                other = jh.classify_call(self.file, sub)
                if other is not None and other.table == "unverified":
                    return True
            if isinstance(sub, ast.Subscript) and _constant(sub.slice) == "alg" and \
                    isinstance(sub.value, ast.Name):
                values = jh.assignments(self.file, scope, sub.value.id, sub.lineno)
                for value in values or ():
                    if isinstance(value, ast.Call):
                        other = jh.classify_call(self.file, value)
                        if other is not None and other.table == "unverified":
                            return True
        return False


class _Uses:
    def __init__(self):
        self.keys: set[str] = set()
        self.methods: set[str] = set()
        self.returned = False
        self.passed = False


def _uses(file, scope, name: str, after: int) -> _Uses:
    out = _Uses()
    parents = jh.parent_map(file)
    for node in jh.function_statements(scope, file):
        if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
            continue
        if node.lineno < after:
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Subscript) and parent.value is node:
            key = _constant(parent.slice)
            if isinstance(key, str):
                out.keys.add(key)
        elif isinstance(parent, ast.Attribute) and parent.value is node:
            out.methods.add(parent.attr)
            call = parents.get(id(parent))
            if parent.attr == "get" and isinstance(call, ast.Call) and call.args:
                key = _constant(call.args[0])
                if isinstance(key, str):
                    out.keys.add(key)
        elif isinstance(parent, ast.Return):
            out.returned = True
        elif isinstance(parent, (ast.Call, ast.keyword)):
            out.passed = True
    return out


def _assigned_name(parent, call) -> str | None:
    if isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1 \
            and isinstance(parent.targets[0], ast.Name):
        return parent.targets[0].id
    if isinstance(parent, ast.AnnAssign) and parent.value is call and isinstance(parent.target, ast.Name):
        return parent.target.id
    return None


def _assigned_self_attribute(parent, call) -> str | None:
    if isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1:
        target = parent.targets[0]
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and target.value.id == "self":
            return target.attr
    return None


def _self_attribute_keys(cls: ast.ClassDef, attribute: str) -> set[str] | None:
    """Keys read from `self.<attribute>` anywhere in the class; None when it is used whole."""
    keys: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Subscript) and _is_self_attribute(node.value, attribute):
            key = _constant(node.slice)
            if not isinstance(key, str):
                return None
            keys.add(key)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and _is_self_attribute(node.func.value, attribute):
            key = _constant(node.args[0]) if node.args else None
            if not isinstance(key, str):
                return None
            keys.add(key)
        elif isinstance(node, ast.Return) and node.value is not None and \
                _is_self_attribute(node.value, attribute):
            return None
    return keys


def _is_self_attribute(node, attribute: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == attribute and \
        isinstance(node.value, ast.Name) and node.value.id == "self"


def _is_cli_command(function) -> bool:
    """A click / typer command: a developer tool decoding a token it was handed."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("command", "group"):
            return True
    return False


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else None


def _call_name(call: ast.Call) -> str:
    try:
        return ast.unparse(call.func)
    except Exception:  # pragma: no cover
        return "get_unverified_claims"
