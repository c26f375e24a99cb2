import ast

from ...findings import Confidence, Severity
from ...python import jwt_helpers as jh
from ...rule import Option, PythonRule, RuleMeta

_LEVELS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log",
           "msg", "trace", "success"}
_LOGGER_WORDS = {"log", "logger", "logging", "slog", "structlog", "loguru"}
_LOGGING_KEYWORDS = {"exc_info", "stack_info", "stacklevel", "sep", "end", "file", "flush"}
# Identifier words: secrets by themselves...
_STRONG = {"password", "passwd", "passphrase", "secret", "apikey", "authorization",
           "bearer", "jwt", "passcode"}
# ...two-word secrets...
_PAIRS = {("api", "key"), ("secret", "key"), ("private", "key"), ("signing", "key"),
          ("encryption", "key"), ("master", "key"), ("access", "token"), ("refresh", "token"),
          ("id", "token"), ("auth", "token"), ("session", "token"), ("bearer", "token"),
          ("api", "token"), ("jwt", "token"), ("client", "secret"), ("auth", "header"),
          ("access", "key")}
# ...and `token`, which names a credential only in authentication code.
_WEAK = {"token", "pwd", "credentials", "credential", "creds"}
# A leading word that turns the name into a fact about the secret, not the secret.
_FACT_PREFIX = {"has", "is", "num", "n", "count", "len", "length", "total", "max", "min",
                "should", "use", "uses", "needs", "require", "requires", "required", "missing",
                "no", "empty", "valid", "invalid", "wrong", "bad", "expected", "check", "verify",
                "validate", "generate", "hash", "hashed", "ignored", "unused", "available",
                "supported", "allowed", "default"}
# A trailing word that does the same.
_FACT_SUFFIX = {"type", "types", "name", "names", "id", "ids", "arn", "path", "file", "url",
                "uri", "endpoint", "len", "length", "size", "count", "expiry", "expires",
                "expiration", "exp", "ttl", "lifetime", "age", "field", "fields", "env", "var",
                "version", "hint", "policy", "strength", "valid", "validity", "changed", "set",
                "required", "enabled", "prefix", "suffix", "last4", "hash", "hashed", "digest",
                "fingerprint", "mask", "masked", "redacted", "scope", "scopes", "kind", "format",
                "location", "source", "error", "errors", "status", "used", "at", "date", "time",
                "created", "updated", "manager", "store", "backend", "provider", "class",
                "header_name", "key_name", "label", "rule", "rules", "regex", "pattern",
                "placeholder", "min", "max", "reset", "attempts", "retries", "sent", "issuer",
                "audience", "algorithm", "alg", "method", "methods", "mode", "flag", "param",
                "params_name", "exists", "ok", "match", "matches", "verified", "info", "data",
                "claims", "payload", "details", "meta", "metadata", "record", "model", "obj",
                "service", "client", "cache", "table", "usage", "form", "schema", "serializer",
                "view", "handler", "func", "callback", "factory", "generator", "counter",
                "expired", "revoked", "present", "missing", "refreshed", "rotated", "failed",
                "failure", "success", "header", "headers", "param", "option", "options",
                "setting", "settings", "config", "env", "key_name", "filename", "filepath",
                "dir", "directory", "provider", "providers", "loader", "resolver", "chain",
                "process", "command", "cmd", "method", "methods", "fetcher", "refresher"}
_SENSITIVE_HEADERS = {"auth_header", "authorization_header", "authheader", "auth_headers",
                      "authorization_headers"}
_PLURAL_OK = {"credentials"}
_REQUEST_NAMES = {"request", "req", "self.request", "flask.request"}
_WHOLE_HEADERS = {"headers", "META", "cookies", "COOKIES"}
_WHOLE_BODY = {"json", "form", "data", "body", "POST", "values", "get_json", "get_data",
               "stream"}
_LOGIN_WORDS = {"login", "signin", "authenticate", "auth", "token", "register", "signup",
                "password", "credentials", "logon", "session", "sessions"}
_BODY_TYPES = ("Login", "Credential", "PasswordRequestForm", "SignIn", "Signin", "Signup",
               "SignUp", "Register", "Password")
_TRANSPARENT = {"str", "repr", "format", "dict", "list", "tuple", "json.dumps", "pprint.pformat",
                "vars"}
_AUTH_MODULES = ("jwt", "jose", "authlib", "itsdangerous", "oauthlib", "flask_login",
                 "flask_jwt_extended", "fastapi.security", "rest_framework", "django.contrib.auth",
                 "passlib", "bcrypt", "argon2", "requests_oauthlib", "msal", "keycloak", "boto3")
_AUTH_TEXT = ("bearer", "jwt", "oauth", "authorization", "login", "access_token", "api_key")
_NOT_AUTH_MODULES = ("tokenize", "ply", "openai", "anthropic", "tiktoken", "transformers",
                     "langchain", "nltk", "spacy", "pygments", "lark", "sly", "llama_index",
                     "sentencepiece", "tokenizers")
_GETTERS = {"get", "create", "generate", "make", "issue", "encode", "fetch", "read", "load",
            "build", "new", "sign", "mint"}


class SensitiveDataLogged(PythonRule):
    """
    ## What it does
    Flags logging calls that write a secret: `logging.*`, `logger.*` / `log.*` /
    `app.logger.*`, structlog and loguru loggers, and `print`, when an argument, a piece of
    an f-string, a `%`- or `.format()` argument, a concatenated value, a structlog keyword
    or an `extra={...}` value is
    - a password, secret, API key, private key or client secret (`password`,
      `user.password`, `request.form["password"]`, `data.get("api_key")`,
      `settings.SECRET_KEY`, `{"password": pw}`);
    - an access, refresh, id or bearer token, a JWT, or an `Authorization` header
      (`request.headers["Authorization"]`, `auth_header`); a bare `token` or `credentials`
      counts only in modules that do authentication (they import a JWT, OAuth or auth
      library, or mention bearer tokens or logins), so lexer tokens, language-model token
      counts and credential-provider objects elsewhere stay silent;
    - the whole `request.headers` (or Django `request.META`, or the cookies), which carry
      the `Authorization` header and session cookies;
    - the whole request body (`request.json`, `request.form`, `request.POST`,
      `await request.json()`, an `OAuth2PasswordRequestForm`...) in a login, sign-up,
      token or password route.

    Names are split into words and read as a whole: facts about a secret are not the
    secret, so `has_password`, `token_type`, `password_length`, `token_expiry`, `api_key_id`,
    `secret_name`, `password_hash` and `len(token)` stay silent, and so do user ids,
    usernames and e-mail addresses. Values passed through a redacting function
    (`mask(...)`, `redact(...)`, `hash...(...)`, and the names in `redacting-functions`) or
    cut down with a slice (`token[:6]`) are silent too. Other calls are judged by their name
    (`get_api_key()` is a secret, `find_user(token)` is not), except under a sensitive
    keyword or key (`log.info("login", password=encrypt(pw))`), where only a redacting
    function keeps the rule silent. A message built in a local variable
    first (`msg = f"...{password}"`, `body = request.get_json()`) is followed one step.

    `print` findings have medium confidence (a CLI may print a key it just generated for its
    user on purpose), and prints under `if __name__ == "__main__":` low confidence.

    Test modules (under `tests/`, `test_*.py`, `*_test.py`, `conftest.py`) are not
    checked: tokens, cookies and secrets there are fixtures, not exposures.

    ## Why is this bad?
    Logs are copied to many places — log shippers, search indexes, support tickets,
    developers' laptops — and are kept for a long time, with far weaker access control than
    the credential store. A password or token in a log is a leaked password or token
    (CWE-532).

    ## Example
    ```python
    logger.info("login attempt user=%s password=%s", username, password)
    logger.debug(f"calling upstream with {request.headers}")
    ```

    ## Use instead
    ```python
    logger.info("login attempt user=%s", username)
    logger.debug("calling upstream with headers %s", sorted(request.headers.keys()))
    ```

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/532.html
    - https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html#data-to-exclude
    """

    meta = RuleMeta(
        id="BL210", name="sensitive-data-logged", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A password, token, secret or Authorization header is written to a log.",
        cwe=(532,), tags=("security", "logging", "secrets"),
        triggers=("log", "print"),
    )
    options = (
        Option("redacting-functions", list, [],
               "extra names of functions whose result is safe to log (e.g. `safe_repr`, "
               "`utils.mask_secret`); names containing mask, redact, hash, obfuscate, scrub "
               "or sanitize are always treated so"),
    )

    _REDACT_WORDS = {"mask", "masked", "redact", "redacted", "obfuscate", "obfuscated", "hash",
                     "hashed", "sha256", "sha1", "md5", "hexdigest", "len", "bool", "type",
                     "id", "isinstance", "censor", "scrub", "sanitize", "sanitise",
                     "anonymize", "anonymise", "truncate", "fingerprint", "hide", "hidden",
                     "partial", "preview", "safe", "count", "mask_secret", "strip_secrets"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._auth_context: bool | None = None
        extra = self.option("redacting-functions")
        self._redacting = {name.rsplit(".", 1)[-1] for name in extra} | set(extra)

    # -- sinks ---------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        if jh.is_test_file(self.file):
            return
        kind = self._sink_kind(node)
        if kind is None:
            return
        args = list(node.args)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "log" and args:
            args = args[1:]  # the level
        found: list[tuple[str, bool]] = []
        for arg in args:
            found.extend(self._inspect(arg, 0))
        for keyword in node.keywords:
            if keyword.arg in _LOGGING_KEYWORDS:
                continue
            if keyword.arg == "extra":
                found.extend(self._inspect(keyword.value, 0))
                continue
            if keyword.arg is not None and kind != "print":
                found.extend(self._named(keyword.arg, keyword.value, 0))
            elif keyword.arg is None:
                found.extend(self._inspect(keyword.value, 0))
        if not found:
            return
        strong = any(s for _, s in found)
        labels = list(dict.fromkeys(label for label, _ in found))
        confidence = Confidence.HIGH if strong else Confidence.MEDIUM
        if kind == "print":
            confidence = Confidence.MEDIUM
            if self._under_main():
                confidence = Confidence.LOW
        shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
        where = "printed" if kind == "print" else "logged"
        self.report(node, f"{shown} {where}: logs must not hold credentials; log a redacted "
                          f"form or leave it out", confidence=confidence)

    def _sink_kind(self, node: ast.Call) -> str | None:
        func = node.func
        name = self.file.qualname(func) or ""
        if name == "print" and not self.file.names.is_imported("print"):
            return "print"
        if not isinstance(func, ast.Attribute) or func.attr not in _LEVELS:
            return None
        if name.startswith("logging.") or name.startswith("loguru.logger.") \
                or name.startswith("structlog."):
            return "logging"
        receiver = func.value
        if isinstance(receiver, ast.Call):
            inner = self.file.qualname(receiver.func) or ""
            last = inner.rsplit(".", 1)[-1]
            return "logging" if last in ("getLogger", "get_logger", "getChild", "bind") else None
        leaf = receiver.attr if isinstance(receiver, ast.Attribute) else (
            receiver.id if isinstance(receiver, ast.Name) else None)
        if leaf and set(jh.words(leaf)) & _LOGGER_WORDS:
            return "logging"
        return None

    # -- expressions ---------------------------------------------------------------------
    def _inspect(self, node: ast.AST, depth: int) -> list[tuple[str, bool]]:
        if depth > 4 or node is None:
            return []
        if isinstance(node, ast.Constant):
            return []
        if isinstance(node, ast.JoinedStr):
            out = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    out.extend(self._inspect(value.value, depth + 1))
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            right = node.right
            if isinstance(node.op, ast.Mod) and isinstance(right, ast.Dict):
                return self._inspect(node.left, depth + 1) + self._dict(right, depth)
            return self._inspect(node.left, depth + 1) + self._inspect(right, depth + 1)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [x for e in node.elts for x in self._inspect(e, depth + 1)]
        if isinstance(node, ast.Dict):
            return self._dict(node, depth)
        if isinstance(node, ast.Starred):
            return self._inspect(node.value, depth + 1)
        if isinstance(node, ast.Await):
            return self._inspect(node.value, depth + 1)
        if isinstance(node, ast.IfExp):
            return self._inspect(node.body, depth + 1) + self._inspect(node.orelse, depth + 1)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Name):
            found = self._leaf(node.id, node)
            if found:
                return found
            return self._local_message(node, depth)
        if isinstance(node, ast.Attribute):
            whole = self._whole_request(node)
            if whole:
                return whole
            return self._leaf(node.attr, node)
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Slice):
                return []  # a prefix or suffix: a redaction
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return self._leaf(key.value, node)
            return []
        return []

    def _dict(self, node: ast.Dict, depth: int) -> list[tuple[str, bool]]:
        out = []
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                out.extend(self._named(key.value, value, depth + 1))
            else:
                out.extend(self._inspect(value, depth + 1))
        return out

    def _named(self, name: str, value: ast.AST, depth: int) -> list[tuple[str, bool]]:
        """A value logged under a name (structlog keyword, `extra` key, dict key)."""
        found = self._inspect(value, depth + 1)
        if found:
            return found
        if isinstance(value, (ast.Constant, ast.Slice)) or self._is_redacted(value):
            return []
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):
            return []
        if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.JoinedStr,
                              ast.Await)):
            strength = self._strength(name)
            if strength is not None:
                return [(f"`{name}`", strength)]
        return []

    def _call(self, node: ast.Call, depth: int) -> list[tuple[str, bool]]:
        func = node.func
        name = self.file.qualname(func) or ""
        leaf = name.rsplit(".", 1)[-1] if name else (func.attr if isinstance(func, ast.Attribute) else "")
        if self._is_redacted(node):
            return []
        jc = jh.classify_call(self.file, node)
        if jc is not None and jc.table in ("encode", "token_factory"):
            return [(f"`{leaf}()` (a signed token)", True)]
        if name.startswith("rest_framework_simplejwt.tokens.") and leaf in ("for_user", "access_token"):
            return [(f"`{leaf}()` (a simplejwt token)", True)]
        if isinstance(func, ast.Attribute) and func.attr == "format":
            out = self._inspect(func.value, depth + 1)
            for arg in node.args:
                out.extend(self._inspect(arg, depth + 1))
            for keyword in node.keywords:
                if keyword.arg:
                    out.extend(self._named(keyword.arg, keyword.value, depth + 1))
            return out
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return self._leaf(key.value, node)
            return []
        if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values") \
                and func.attr != "keys":
            return self._whole_request(func.value) if isinstance(func.value, ast.Attribute) else []
        if name in _TRANSPARENT or leaf in ("str", "repr", "dumps", "pformat"):
            return [x for a in node.args for x in self._inspect(a, depth + 1)]
        if isinstance(func, ast.Attribute):
            whole = self._whole_request(func)  # request.get_json(), await request.json()
            if whole:
                return whole
        w = jh.words(leaf)
        if w and w[0] in _GETTERS:
            strength = self._strength("_".join(w[1:]))
            if strength is not None:
                return [(f"`{leaf}()`", False)]
        return []

    def _is_redacted(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        name = self.file.qualname(func) or ""
        leaf = name.rsplit(".", 1)[-1] if name else (func.attr if isinstance(func, ast.Attribute) else "")
        if leaf in self._redacting or name in self._redacting:
            return True
        if leaf in ("len", "bool", "type", "id", "isinstance", "hash", "callable"):
            return True
        return bool(set(jh.words(leaf)) & self._REDACT_WORDS) or leaf.startswith("hash")

    def _leaf(self, name: str, node: ast.AST) -> list[tuple[str, bool]]:
        strength = self._strength(name)
        if strength is None:
            return []
        try:
            label = ast.unparse(node)
        except Exception:  # pragma: no cover
            label = name
        if len(label) > 40:
            label = name
        return [(f"`{label}`", strength)]

    def _strength(self, name: str) -> bool | None:
        """True: a secret by its name; False: a token, in authentication code; None: not."""
        w = jh.words(name.replace("-", "_"))
        if not w:
            return None
        if "_".join(w) in _SENSITIVE_HEADERS:
            return True
        if w[0] in _FACT_PREFIX or w[-1] in _FACT_SUFFIX:
            return None
        if "_".join(w) in ("new_password_required",):
            return None
        if set(w) & _STRONG:
            return True
        for pair in zip(w, w[1:]):
            if pair in _PAIRS:
                return True
        if "".join(w) in ("apikey", "accesstoken", "refreshtoken", "idtoken", "authtoken",
                          "privatekey", "secretkey", "clientsecret"):
            return True
        if set(w) & _WEAK and self._is_auth_context():
            return False
        return None

    def _is_auth_context(self) -> bool:
        if self._auth_context is None:
            modules = {a.split(".")[0] for a in self.file.names.aliases.values()}
            qualified = set(self.file.names.aliases.values())
            if modules & set(_NOT_AUTH_MODULES):
                self._auth_context = False
            elif any(m in modules or any(q.startswith(m) for q in qualified) for m in _AUTH_MODULES):
                self._auth_context = True
            else:
                lowered = self.file.text.lower()
                self._auth_context = any(t in lowered for t in _AUTH_TEXT)
        return self._auth_context

    def _whole_request(self, node: ast.AST) -> list[tuple[str, bool]]:
        if not isinstance(node, ast.Attribute):
            return []
        base = node.value
        try:
            base_text = ast.unparse(base)
        except Exception:  # pragma: no cover
            return []
        if base_text not in _REQUEST_NAMES and self.file.qualname(base) != "flask.request":
            return []
        if node.attr in _WHOLE_HEADERS:
            return [(f"`{base_text}.{node.attr}` (the whole headers, with Authorization and "
                     f"cookies)", node.attr in ("headers", "META"))]
        if node.attr in _WHOLE_BODY and self._login_route():
            return [(f"`{base_text}.{node.attr}` (the whole body of a login route)", False)]
        return []

    def _login_route(self) -> bool:
        function = self.file.enclosing_function()
        if function is None:
            return False
        texts = [function.name]
        cls = jh.enclosing(self.file, ast.ClassDef)
        if cls is not None:
            texts.append(cls.name)  # class LoginView(APIView): def post(self, request)
        for decorator in function.decorator_list:
            for sub in ast.walk(decorator):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    texts.append(sub.value)
        found = set()
        for text in texts:
            found.update(jh.words(text.replace("/", "_")))
        return bool(found & _LOGIN_WORDS)

    def _local_message(self, node: ast.Name, depth: int) -> list[tuple[str, bool]]:
        """`msg = f"...{password}"; logger.info(msg)`: follow a local message one step. A
        parameter annotated as a login form in a login route is the whole body."""
        scope = self.file.enclosing_function()
        if scope is None or depth > 1:
            return []
        for arg in scope.args.args + scope.args.kwonlyargs:
            if arg.arg == node.id and arg.annotation is not None:
                try:
                    annotation = ast.unparse(arg.annotation)
                except Exception:  # pragma: no cover
                    annotation = ""
                if any(t in annotation for t in _BODY_TYPES) and self._login_route():
                    return [(f"`{node.id}` (the whole {annotation} of a login route)", False)]
        values = jh.assignments(self.file, scope, node.id, node.lineno)
        if not values or len(values) != 1:
            return []
        value = values[0]
        return self._inspect(value, depth + 2)

    def _under_main(self) -> bool:
        for node in self.file.ancestors:
            if isinstance(node, ast.If):
                try:
                    if "__name__" in ast.unparse(node.test):
                        return True
                except Exception:  # pragma: no cover
                    pass
        return False
