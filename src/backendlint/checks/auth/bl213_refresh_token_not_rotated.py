from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import handlers as hd
from ...python import jwt_helpers as jh
from ...rule import Option, PythonRule, RuleMeta

# Request fields and cookies holding a refresh token (not settings such as REFRESH_TOKEN_TTL).
_REFRESH_KEY = re.compile(r"^(?:x[-_])?refresh(?:[-_]?(?:token|jwt))?$", re.I)
_CREATE = {"create", "generate", "issue", "make", "new", "encode", "sign", "mint", "build",
           "rotate", "for", "obtain", "generator", "factory", "creator", "issuer"}
_REVOKE = {"revoke", "revoked", "blacklist", "blacklisted", "blocklist", "denylist",
           "invalidate", "invalidated", "consume", "consumed", "rotate", "rotated", "deactivate",
           "used", "burn", "retire", "expire"}
_DELETE = {"delete", "remove", "srem", "discard", "del", "destroy", "purge", "adelete",
           "unlink", "hdel", "expire", "evict"}
_WRITE = {"set", "setex", "sadd", "add", "hset", "put", "insert", "append", "lpush", "rpush",
          "execute", "create", "save", "update", "zadd", "setnx", "acreate", "aupdate",
          "insert_one", "update_one", "delete_one", "write", "store", "mark"}
_STATE_ATTRS = {"revoked", "is_revoked", "used", "is_used", "revoked_at", "used_at",
                "blacklisted", "is_blacklisted", "rotated", "replaced_by", "replaced_by_id",
                "is_active", "active", "invalidated", "invalidated_at", "consumed", "consumed_at"}
_TOKEN_WORDS = {"token", "tokens", "jti", "refresh", "session", "sessions", "revoked",
                "blacklist", "blocklist", "denylist", "jwt"}
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


class RefreshTokenNotRotated(PythonRule):
    """
    ## What it does
    Flags a refresh endpoint that checks a refresh token and issues a new access token but
    leaves the refresh token as it was: it neither issues a new refresh token (rotation)
    nor revokes or marks the old one used.

    A function is taken for a refresh handler when
    - it is a request handler (or a function decoding a token) whose name or route path
      says `refresh`, or
    - it is protected by Flask-JWT-Extended's `@jwt_required(refresh=True)` (or the older
      `@jwt_refresh_token_required`), or
    - it reads a refresh token (`request.cookies.get("refresh_token")`,
      `body["refresh"]`, `payload.refresh_token`), checks a token's `type` against
      `"refresh"`, or builds SimpleJWT's `RefreshToken(...)` from request data.

    It issues a new access token when it signs a JWT (`jwt.encode`, not typed or named
    as a refresh token), calls Flask-JWT-Extended's `create_access_token`, a function
    named like `create_access_token` / `generate_access_token`, a function of the module
    that signs a token, or reads SimpleJWT's `refresh.access_token`.

    It is fine (silent) when, in the function or a function of the module it calls:
    - a new refresh token is issued: `create_refresh_token(...)`, a call named for a token
      pair (`create_tokens`, `issue_token_pair`), `RefreshToken.for_user(...)`, a JWT typed
      or named as a refresh token, a token factory called with `"refresh"`;
    - the old token is revoked or marked used: SimpleJWT's `.blacklist()`, a call named
      `revoke...` / `blacklist...` / `invalidate...` / `mark_used...`, a store write keyed
      by the token's `jti` (`redis.set(f"revoked:{jti}", ...)`, `blocklist.add(jti)`,
      `TokenBlocklist(jti=jti)`), a delete of the stored token (`redis.delete(...)`,
      `RefreshToken.objects.filter(...).delete()`, `session.delete(stored)`), a flag set
      on the stored token (`token.revoked = True`, `.update(used=True)`), or SQL that
      updates, deletes or inserts into a token / session / revocation table.

    Test modules are not checked.

    ## Why is this bad?
    A refresh token lives for days or weeks. If it is never rotated, one stolen refresh
    token (from a log, a compromised device, an XSS-readable store) gives its thief new
    access tokens for its whole lifetime, and the server cannot notice. With rotation each
    refresh token works once: reuse of an old one shows theft and can revoke the whole
    token family (OAuth 2.0 Security BCP, refresh token rotation).

    ## Example
    ```python
    @app.post("/auth/refresh")
    @jwt_required(refresh=True)
    def refresh():
        identity = get_jwt_identity()
        return jsonify(access_token=create_access_token(identity=identity))
    ```

    ## Use instead
    ```python
    @app.post("/auth/refresh")
    @jwt_required(refresh=True)
    def refresh():
        identity = get_jwt_identity()
        revoked_store.set(get_jwt()["jti"], "", ex=REFRESH_LIFETIME)   # old token: used
        return jsonify(access_token=create_access_token(identity=identity),
                       refresh_token=create_refresh_token(identity=identity))
    ```

    ## Options
    - `revocation-functions` (list of strings, default `[]`): more function or method names
      that revoke a token or record it as used (`retire_session`).

    ## References
    - https://www.rfc-editor.org/rfc/rfc9700#name-refresh-token-protection
    - https://datatracker.ietf.org/doc/html/rfc6749#section-10.4
    - https://flask-jwt-extended.readthedocs.io/en/stable/refreshing_tokens.html
    - https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html#rotate-refresh-tokens
    - https://cwe.mitre.org/data/definitions/613.html
    """

    meta = RuleMeta(
        id="BL213", name="refresh-token-not-rotated", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A refresh endpoint issues a new access token without rotating or revoking "
                "the refresh token.",
        cwe=(613,), tags=("security", "jwt", "authentication"),
        triggers=("refresh",),
    )
    options = (
        Option("revocation-functions", list, [],
               "More names of functions or methods that revoke a token or mark it used."),
    )

    def finish(self) -> None:
        if self.file.tree is None or jh.is_test_file(self.file):
            return
        self.extra_revoke = {n.rsplit(".", 1)[-1] for n in self.option("revocation-functions")}
        self.index = hd.index(self.file)
        self.sinks = {id(s.call): s for s in getattr(self.file, "sql_calls", [])}
        for info in self.index.functions:
            if info.parent is not None and not info.is_handler:
                continue
            self._check(info)

    def _check(self, info: hd.FunctionInfo) -> None:
        kind = self._refresh_kind(info)
        if kind is None:
            return
        access = self._access_issued(info)
        if access is None:
            return
        scope = [info] + self.index.reachable(info, 2)
        if any(self._rotates(f) or self._revokes(f) for f in scope):
            return
        self.report(access, f"`{info.name}()` {kind} and issues a new access token, but "
                            f"neither issues a new refresh token nor revokes the old one: a "
                            f"stolen refresh token keeps working for its whole lifetime",
                    confidence=Confidence.HIGH if info.is_handler or "decorator" in kind
                    else Confidence.MEDIUM)

    # -- is it a refresh handler? --------------------------------------------------------
    def _refresh_kind(self, info: hd.FunctionInfo) -> str | None:
        node = info.node
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and hd.call_name(deco) in ("jwt_required", "jwt_refresh_required") \
                    and any(k.arg == "refresh" and isinstance(k.value, ast.Constant)
                            and k.value.value is True for k in deco.keywords):
                return "takes a refresh token (by its `jwt_required(refresh=True)` decorator)"
            name = deco.attr if isinstance(deco, ast.Attribute) else getattr(deco, "id", "")
            if name in ("jwt_refresh_token_required", "refresh_jwt_required"):
                return f"takes a refresh token (by its `@{name}` decorator)"
        reads = self._reads_refresh_token(info)
        if reads:
            return reads
        named = "refresh" in hd.words(info.name) or "refresh" in (info.path or "").lower()
        if named and (info.is_handler or self._decodes(info)):
            return "is a refresh endpoint"
        return None

    def _reads_refresh_token(self, info: hd.FunctionInfo) -> str | None:
        for node in info.nodes:
            key = None
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                key = _const(node.slice)
            elif isinstance(node, ast.Call) and hd.call_name(node) in ("get", "pop") and node.args:
                key = _const(node.args[0])
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) \
                    and node.attr in ("refresh_token", "refresh"):
                base = node.value
                if isinstance(base, ast.Name) and base.id not in ("self", "cls"):
                    return "reads a refresh token"
            elif isinstance(node, ast.Compare):
                for side in [node.left] + node.comparators:
                    if _const(side) == "refresh":
                        return "checks that the token is a refresh token"
            elif isinstance(node, ast.Call) and hd.call_name(node) == "RefreshToken" and node.args:
                return "validates a refresh token (SimpleJWT `RefreshToken(...)`)"
            if isinstance(key, str) and _REFRESH_KEY.match(key):
                return "reads a refresh token"
        for arg in info.node.args.args + info.node.args.kwonlyargs:
            if set(hd.words(arg.arg)) >= {"refresh", "token"} or arg.arg == "refresh":
                if info.is_handler or self._decodes(info):
                    return "takes a refresh token"
        return None

    def _decodes(self, info: hd.FunctionInfo) -> bool:
        for call in info.calls:
            jc = jh.classify_call(self.file, call)
            if jc is not None and jc.table in ("decode", "unverified"):
                return True
            words = set(hd.words(hd.call_name(call)))
            if words & {"decode", "verify", "validate", "parse", "check", "load"} and \
                    words & {"token", "jwt", "refresh"}:
                return True
        return False

    # -- a new access token --------------------------------------------------------------
    def _access_issued(self, info: hd.FunctionInfo) -> ast.AST | None:
        refresh_objects = set()
        for node in info.nodes:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and hd.call_name(node.value) == "RefreshToken":
                refresh_objects |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in info.nodes:
            if isinstance(node, ast.Attribute) and node.attr == "access_token" \
                    and isinstance(node.value, ast.Name) and node.value.id in refresh_objects:
                return node
            if not isinstance(node, ast.Call):
                continue
            jc = jh.classify_call(self.file, node)
            if jc is not None and jc.table == "encode":
                if not self._refresh_encode(info, node, jc):
                    return node
                continue
            if jc is not None and jc.table == "token_factory":
                if jc.api.entry.get("kind") == "access":
                    return node
                continue
            words = set(hd.words(hd.call_name(node)))
            if "access" in words and words & {"token", "jwt"} and "refresh" not in words \
                    and not words & {"get", "verify", "decode", "revoke", "validate"}:
                return node
            callee = self.index.resolve_call(node, info)
            if callee is not None and words & {"token", "jwt"} and "refresh" not in words \
                    and not _has_constant(node, "refresh") and not self._pair_name(words) \
                    and any(self._is_encode(c) for c in callee.calls):
                return node
        return None

    def _is_encode(self, call: ast.Call) -> bool:
        jc = jh.classify_call(self.file, call)
        return jc is not None and jc.table in ("encode", "token_factory")

    def _refresh_encode(self, info, call: ast.Call, jc) -> bool:
        """A JWT signed as a refresh token: typed so in its claims, or stored in a
        variable / dict key named for one."""
        payload = jh.payload_argument(jc)
        if payload is not None:
            claims = jh.ClaimsEvaluator(self.file, {call.lineno}).evaluate(
                payload, info.node, call.lineno, 0, self.index.class_of(info))
            for key in ("type", "typ", "token_type", "kind", "use", "scope"):
                for value, _ in claims.keys.get(key, []):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                            and "refresh" in value.value.lower():
                        return True
            if isinstance(payload, ast.Name) and "refresh" in hd.words(payload.id):
                return True
        for node in info.nodes:
            if isinstance(node, ast.Assign) and node.value is call:
                if any(isinstance(t, ast.Name) and "refresh" in hd.words(t.id) for t in node.targets):
                    return True
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if value is call and isinstance(_const(key), str) and "refresh" in _const(key):
                        return True
            if isinstance(node, ast.keyword) and node.value is call and node.arg \
                    and "refresh" in node.arg:
                return True
        return False

    # -- rotation and revocation -----------------------------------------------------------
    @staticmethod
    def _pair_name(words: set[str]) -> bool:
        return bool(words & {"tokens", "pair", "jwts"}) and bool(words & _CREATE)

    def _rotates(self, info: hd.FunctionInfo) -> bool:
        for node in info.nodes:
            # new_refresh = create_token(...): a token made and named as a refresh token
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Call, ast.Await)):
                value = node.value.value if isinstance(node.value, ast.Await) else node.value
                if isinstance(value, ast.Call):
                    words = set(hd.words(hd.call_name(value)))
                    named = any(isinstance(t, ast.Name) and "refresh" in hd.words(t.id)
                                for t in node.targets)
                    if named and words & {"token", "jwt", "encode"} \
                            and not hd.call_name(value)[:1].isupper() and not words & {
                            "get", "read", "verify", "decode", "validate", "load", "check"}:
                        return True
            # token["refresh_token"] = make(...) / {"refresh_token": make(...)}: a new one
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(t.slice, node.value) for t in node.targets if isinstance(t, ast.Subscript)]
            elif isinstance(node, ast.Dict):
                pairs = list(zip(node.keys, node.values))
            for key, value in pairs:
                key = _const(key)
                if isinstance(key, str) and "refresh" in key.lower() and isinstance(value, ast.Call) \
                        and hd.call_name(value) not in ("str", "get", "pop", "getattr", "bytes"):
                    return True
        for call in info.calls:
            name = hd.call_name(call)
            words = set(hd.words(name))
            if "refresh" in words and words & {"token", "jwt"} and words & _CREATE \
                    and not words & {"get", "read", "verify", "decode", "validate", "load", "check"}:
                return True
            if self._pair_name(words):
                return True
            if name == "for_user" and "RefreshToken" in ast.unparse(call.func):
                return True
            jc = jh.classify_call(self.file, call)
            if jc is not None and jc.table == "token_factory" and jc.api.entry.get("kind") == "refresh":
                return True
            if jc is not None and jc.table == "encode" and self._refresh_encode(info, call, jc):
                return True
            if words & {"token", "jwt", "tokens"} and words & _CREATE and _has_constant(call, "refresh"):
                return True
        return False

    def _revokes(self, info: hd.FunctionInfo) -> bool:
        for node in info.nodes:
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and target.attr in _STATE_ATTRS:
                        return True
            if isinstance(node, ast.Delete):
                return True
            if not isinstance(node, ast.Call):
                continue
            name = hd.call_name(node)
            if name in _LOG_METHODS:
                continue
            words = set(hd.words(name))
            if words & _REVOKE or name in self.extra_revoke:
                return True
            if any(k.arg in _STATE_ATTRS for k in node.keywords):
                return True
            if words & _DELETE and (self._mentions_token(node) or not node.args):
                return True
            if words & _WRITE and self._mentions_jti(node):
                return True
            if name[:1].isupper() and any(k.arg == "jti" for k in node.keywords):
                return True  # TokenBlocklist(jti=jti)
            sink = self.sinks.get(id(node))
            if sink is not None and sink.statement is not None and self._token_table_write(sink):
                return True
        return False

    def _mentions_jti(self, call: ast.Call) -> bool:
        for arg in list(call.args) + [k.value for k in call.keywords]:
            for sub in ast.walk(arg):
                if isinstance(sub, ast.Name) and ("jti" in sub.id.lower() or set(
                        hd.words(sub.id)) & {"revoked", "blacklist", "blocklist", "denylist"}):
                    return True
                if isinstance(sub, ast.Attribute) and sub.attr == "jti":
                    return True
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and any(
                        w in sub.value.lower() for w in ("jti", "revoked", "blacklist", "blocklist",
                                                         "denylist", "used")):
                    return True
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if receiver is not None:
            text = ast.unparse(receiver).lower()
            return any(w in text for w in ("revoked", "blacklist", "blocklist", "denylist"))
        return False

    def _mentions_token(self, call: ast.Call) -> bool:
        parts = [call.func] + list(call.args) + [k.value for k in call.keywords]
        for part in parts:
            for sub in ast.walk(part):
                ident = sub.id if isinstance(sub, ast.Name) else (
                    sub.attr if isinstance(sub, ast.Attribute) else (
                        sub.value if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                        else None))
                if ident and set(hd.words(ident.replace(":", "_"))) & _TOKEN_WORDS:
                    return True
        return False

    def _token_table_write(self, sink) -> bool:
        from sqlglot import exp

        tree = sink.statement.tree
        if not isinstance(tree, (exp.Update, exp.Delete, exp.Insert)):
            return False
        for table in tree.find_all(exp.Table):
            words = set(hd.words(table.name or ""))
            if words & _TOKEN_WORDS:
                return True
        return False


def _const(node):
    return node.value if isinstance(node, ast.Constant) else None


def _has_constant(call: ast.Call, text: str) -> bool:
    for arg in list(call.args) + [k.value for k in call.keywords]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and text in arg.value.lower():
            return True
    return False
