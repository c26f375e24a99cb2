import ast
import re

from ...findings import Confidence, Severity
from ...python import calls
from ...python import secrets_helpers as sh
from ...python.settings_modules import path_matches
from ...rule import Option, PythonRule, RuleMeta

# Words naming a digest or signature that proves something (webhooks, signed cookies).
_SIGNATURE_WORDS = {"signature", "signatures", "sig", "hmac", "mac", "digest", "hash", "checksum"}
_SIGNATURE_STRONG = {"signature", "hmac"}
# Parts of a name that mark a second copy of user input (`confirm_password`, `password2`).
_USER_PAIR = {"confirm", "confirmation", "confirmed", "repeat", "repeated", "again", "retype",
              "retyped", "verify", "verification", "new", "old", "current", "previous", "2", "1",
              "check", "second", "first"}
_AUTH_MODULES = ("hmac", "hashlib", "secrets", "jwt", "jose", "authlib", "itsdangerous",
                 "passlib", "bcrypt", "argon2", "flask_login", "django.contrib.auth",
                 "rest_framework", "fastapi.security", "oauthlib", "werkzeug.security")
_AUTH_TEXT = re.compile(r"(?i)bearer|authorization|x-api-key|api[_-]?key|webhook|csrf|"
                        r"access[_-]?token")
_DIGEST_CALLS = {"hexdigest", "digest", "hmac.new", "hmac.digest", "sign", "signature",
                 "compute_signature", "make_signature", "get_signature", "_sign", "calculate_signature"}
_REFERENCE_WORDS = {"expected", "stored", "valid", "correct", "real", "saved", "actual", "known",
                    "configured", "secret", "key", "computed", "calculated", "settings", "config",
                    "environ", "env", "api", "server", "master", "admin", "required"}
_DUNDER = {"__eq__", "__ne__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__", "__repr__",
           "__str__", "__contains__"}


class TimingUnsafeComparison(PythonRule):
    """
    ## What it does
    Flags `==` / `!=` between secrets: passwords, password hashes, tokens, API keys, HMAC
    digests and signatures — `if token != settings.API_TOKEN`, `if signature ==
    hmac.new(key, body, sha256).hexdigest()`, `if user.password_hash == hash_password(pw)`,
    `request.headers["X-API-Key"] == API_KEY`.

    One side must name a secret (read as words: `api_key`, `X-Hub-Signature`,
    `access_token`, `password_hash`) and the other side must be a value computed or
    stored elsewhere, not a literal (`== ""`, `== None` and comparisons with literals are
    left to BL201 hardcoded-secret). Silent for:
    - comparisons of two copies of user input (`password == confirm_password`,
      `new_password != old_password`, `password1 != password2`): nothing secret is guessed;
    - checksums and ETags (`file_hash == expected_hash`, `etag == ...`): integrity checks,
      not secrets, unless the other side is an HMAC computation;
    - lengths, types and other facts (`len(token) == 32`, `token_type == ...`);
    - comparisons inside `__eq__` and friends (object equality, not authentication) and
      in `assert` statements;
    - a bare `token` / `signature` outside authentication code (lexers, `inspect.signature`):
      the module must import an auth or crypto library or mention bearer tokens, API keys,
      CSRF, webhooks or HMAC, or the other side must be secret too;
    - test code.

    **Confidence.** High when both sides are secrets or one side is an HMAC / digest
    computation; medium otherwise.

    ## Why is this bad?
    `==` on strings stops at the first differing character, so the time a comparison takes
    tells how many leading characters were right. Measured over many requests, that leaks a
    token or signature byte by byte (CWE-208). `hmac.compare_digest` (also
    `secrets.compare_digest`) takes the same time whatever the inputs; password hashers'
    `verify` / `check_password` do the right thing too.

    ## Example
    ```python
    if request.headers.get("X-API-Key") != settings.API_KEY:
        abort(401)
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if signature == expected:
        ...
    ```

    ## Use instead
    ```python
    if not hmac.compare_digest(request.headers.get("X-API-Key", ""), settings.API_KEY):
        abort(401)
    if hmac.compare_digest(signature, expected):
        ...
    ```

    ## Options
    - `test-patterns`: path globs of test code (not checked).

    ## References
    - https://cwe.mitre.org/data/definitions/208.html
    - https://docs.python.org/3/library/hmac.html#hmac.compare_digest
    - https://docs.python.org/3/library/secrets.html#secrets.compare_digest
    """

    meta = RuleMeta(
        id="BL204", name="timing-unsafe-comparison", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A secret (password, token, key, signature) is compared with == instead of a constant-time comparison.",
        cwe=(208,), tags=("security", "crypto"),
        triggers=("password", "passwd", "pwd", "token", "secret", "key", "signature", "hmac",
                  "digest", "sig", "mac"),
    )
    options = (
        Option("test-patterns", list, list(sh.DEFAULT_TEST_PATTERNS), "Path globs of test code."),
    )

    def visit_Module(self, node: ast.Module) -> None:
        self._skip = path_matches(self.file.relpath, self.option("test-patterns"))
        self._auth: bool | None = None

    def _auth_module(self) -> bool:
        if self._auth is None:
            modules = self.file.names.aliases.values()
            self._auth = any(m == a or m.startswith(a + ".") for m in modules for a in _AUTH_MODULES) \
                or bool(_AUTH_TEXT.search(self.file.text))
        return self._auth

    def visit_Compare(self, node: ast.Compare) -> None:
        if self._skip or len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            return
        function = self.file.enclosing_function()
        if function is not None and function.name in _DUNDER:
            return
        if any(isinstance(n, ast.Assert) for n in self.file.ancestors):
            return  # a sanity check, not an authentication decision
        left, right = node.left, node.comparators[0]
        if _is_literal(left) or _is_literal(right):
            return
        for side in (left, right):
            name = sh.expression_name(side)
            if name and (any(w in _USER_PAIR for w in sh.words(name)) or re.search(r"\d$", name)):
                return  # a second copy of user input (`confirm_password`, `password2`)
        a, b = self._secret(left), self._secret(right)
        if a is None and b is None:
            return
        if a is not None and b is not None and (a[0] == "user" or b[0] == "user"):
            return
        if (a and a[0] == "user") or (b and b[0] == "user"):
            return
        kinds = {x[0] for x in (a, b) if x is not None}
        other = right if a is not None and b is None else left if b is not None and a is None else None
        digest = (other is not None and self._is_digest_call(other)) or "digest" in kinds
        if "secret" not in kinds and not digest:
            # Only bare tokens, signatures or checksums: a finding in auth code, against a
            # value that reads as the reference one (`expected`, `stored`, `settings.X`).
            if not self._auth_module() or "checksum" in kinds and "weak" not in kinds:
                return
            names = [sh.expression_name(n) or "" for n in (left, right)]
            if not any(set(sh.words(n)) & _REFERENCE_WORDS for n in names):
                return
        if other is not None and _is_fact(other):
            return
        both = a is not None and b is not None and "secret" in kinds
        conf = Confidence.HIGH if both or digest else Confidence.MEDIUM
        what = (a or b)[1]
        op = "==" if isinstance(node.ops[0], ast.Eq) else "!="
        advice = "the hasher's `verify` / `check_password`" if "password" in what.lower() else \
            "`hmac.compare_digest(a, b)`"
        self.report(node, f"{what} compared with `{op}`, which returns as soon as a character "
                    f"differs and so leaks the secret through timing: use {advice}"
                    + (" or `hmac.compare_digest`" if "verify" in advice else ""), confidence=conf)

    def _secret(self, node: ast.AST) -> tuple[str, str] | None:
        """(kind, description) when `node` is a secret: kind is secret | weak | checksum |
        user (a second copy of user input) | digest."""
        if isinstance(node, ast.Call) and self._is_digest_call(node):
            return "digest", "an HMAC digest"
        name = sh.expression_name(node)
        if name is None and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("strip", "lower", "encode", "decode") :
            return self._secret(node.func.value)
        if not name:
            return None
        ws = sh.words(name)
        if any(w in _USER_PAIR for w in ws) or re.search(r"\d$", name):
            kind = sh.classify_name(name)
            if kind is not None:
                return "user", name
        if name.lower() in ("authorization", "x-api-key", "x-auth-token", "proxy-authorization"):
            return "secret", f"the `{name}` header"
        kind = sh.classify_name(name)
        if kind is not None:
            if kind.category == sh.TOKEN and not set(ws) & sh.TOKEN_QUALIFIERS:
                return "weak", f"the token `{name}`"  # lexer, path and pagination tokens too
            human = {sh.PASSWORD: "password", sh.KEY: "secret key", sh.TOKEN: "token"}[kind.category]
            return "secret", f"the {human} `{name}`"
        # password hashes: `password_hash`, `hashed_password`, `pw_hash`
        if any(w in ("password", "passwd", "pwd", "pw") for w in ws) and any(
                w in ("hash", "hashed", "digest", "encrypted") for w in ws):
            return "secret", f"the password hash `{name}`"
        if ws and ws[-1] in _SIGNATURE_WORDS:
            if any(w in _SIGNATURE_STRONG for w in ws):
                return "weak", f"the signature `{name}`"
            if any(w in ("etag", "file", "content", "body", "cache", "md5", "sha1", "sha256", "crc")
                   for w in ws) or ws[-1] in ("checksum", "hash", "digest"):
                return "checksum", f"`{name}`"
            return "weak", f"`{name}`"
        return None

    def _is_digest_call(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        qual = self.file.qualname(func) or calls.dotted(func)
        if qual in ("hmac.new", "hmac.digest"):
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("hexdigest", "digest"):
            inner = func.value
            if isinstance(inner, ast.Call):
                inner_qual = self.file.qualname(inner.func) or calls.dotted(inner.func)
                return inner_qual in ("hmac.new", "hmac.HMAC") or inner_qual.endswith(".hmac.new")
            if isinstance(inner, ast.Name):
                bound = calls.resolve(self.file.tree, inner, self.file.enclosing_function())
                if isinstance(bound, ast.Call):
                    return (self.file.qualname(bound.func) or "") in ("hmac.new", "hmac.HMAC")
        name = calls.last_name(func)
        return name in ("compute_signature", "make_signature", "calculate_signature",
                        "sign_payload", "compute_hmac", "make_hmac")


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or (
        isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)))


def _is_fact(node: ast.AST) -> bool:
    """`len(x)`, `type(x)`, `x.count(...)`: numbers and types, not secrets."""
    if isinstance(node, ast.Call):
        name = calls.last_name(node.func)
        return name in ("len", "type", "int", "bool", "count", "isinstance", "id", "hash")
    return False
