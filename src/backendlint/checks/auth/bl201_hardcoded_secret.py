import ast
import re

from ...findings import Confidence, Severity
from ...python import calls
from ...python import jwt_helpers as jh
from ...python import secrets_helpers as sh
from ...python.settings_modules import path_matches
from ...rule import Option, PythonRule, RuleMeta, TextRule

# Names whose value is certainly used as a signing or encryption key: any literal there is
# a hard-coded key, even a word (`SECRET_KEY = "secret"`).
_STRONG_NAMES = {"secretkey", "jwtsecretkey", "jwtsecret", "appsecretkey", "flasksecretkey",
                 "djangosecretkey", "securitypasswordsalt", "wtfcsrfsecretkey", "sessionsecret",
                 "sessionsecretkey", "signingkey", "jwtsigningkey", "tokensecret", "authsecret",
                 "secretkeybase", "jwtkey", "hmacsecret", "hmackey", "encryptionkey", "fernetkey",
                 "cookiesecret", "appsecret"}
_READS = {"os.getenv", "os.environ.get", "os.environ.pop", "environ.get", "getenv",
          "decouple.config", "config", "env", "environ.Env", "env.str", "env.get_value"}
_EXAMPLE_KEYS = {"example", "examples", "json_schema_extra", "schema_extra", "openapi_examples",
                 "openapi_extra", "sample", "samples"}
_WRAPPERS = {"Field", "SecretStr", "SecretBytes", "Secret"}
_ENV_STORES = {"os.environ.setdefault", "os.putenv"}
_HUMAN = {sh.PASSWORD: "password", sh.KEY: "secret key", sh.TOKEN: "token"}
_EXAMPLE_FILE = re.compile(r"(?i)(?:^|[./_-])(?:example|examples|sample|samples|template|templates|"
                           r"dist|default|defaults|tpl|skel|fixture|fixtures|mock|mocks)(?:[./_-]|$)")
_CONFIG_DEFAULTS = {"postgres", "mysql", "root", "admin", "guest", "redis", "rabbitmq",
                    "minioadmin", "sa", "user", "test", "dev", "local"}


class HardcodedSecret(PythonRule, TextRule):
    """
    ## What it does
    Flags secrets written into code and configuration files:

    - **string literals stored under secret names** — `SECRET_KEY = "..."`,
      `password = "..."`, `self.api_key = "..."`, `{"client_secret": "..."}`,
      `connect(password="...")`, `app.config["SECRET_KEY"] = "..."`,
      `app.config.update(SECRET_KEY="...")`, `os.environ["TOKEN"] = "..."`, default values of
      parameters (`def login(password="...")`) and comparisons (`if password == "..."`);
      passwords passed to well-known calls (`HTTPBasicAuth(user, "...")`, smtplib / ftplib
      `login(user, "...")`, Django `set_password("...")` and `create_superuser(...)`);
    - **the signing key of a JWT call** (`jwt.encode(claims, "...")`, `jwt.decode(token,
      "...")`) of PyJWT, python-jose and authlib, also through a module constant;
    - **passwords inside connection URLs** (`postgresql://app:s3cret@db.internal/app`,
      `redis://:pw@cache:6379`, `amqp://...`) and libpq DSNs (`"host=db password=..."`);
    - **well-known token formats anywhere** in Python strings and in `.env`, YAML, JSON,
      TOML, INI and CFG files (never lock files): AWS access keys, GitHub and GitLab
      tokens, Slack tokens and webhooks, Stripe keys, Google API keys, Twilio, SendGrid,
      PyPI, OpenAI and Anthropic keys, PEM private keys and JWTs — the formats are data
      in `rules/secrets.toml`, each with examples that a test checks;
    - in configuration files, also `key = value` / `key: value` / `"key": "value"` pairs
      under secret names (medium confidence at most) whose value holds a digit or a
      symbol (letters only are translations and labels: `"password": "Passwort"`), except
      in files named like examples or templates (`.env.example`, `config.sample.yaml`).

    **Value checks decide, not names alone.** A name is read as words, and a name that
    states a fact about a secret is not a secret: `password_hash`, `token_type`,
    `api_key_id`, `secret_name`, `PASSWORD_RESET_TIMEOUT`, `has_password`. The value must
    then look like a secret. Never reported:
    - values read at run time: `os.environ[...]`, `os.getenv(...)`, `config(...)`
      (python-decouple), `env(...)` (django-environ), settings objects, any call;
    - empty strings and placeholders: `changeme`, `<your-key>`, `xxx`, `***`, `${VAR}`,
      `$VAR`, `{{ var }}`, `%(x)s`, `%s`, `your-api-key-here`, `insert-key-here`,
      `fake-password`, `secret`, `password`, `none`, `todo`, `redacted`... (the list is
      `[[placeholder]]` in `rules/secrets.toml`; add yours with `extra-placeholders`);
    - field names and words: `"password"`, `"new_password1"`, `"NextToken"`,
      `"X-API-Key"`, `"Authorization"`, auth schemes (`"Bearer"`, `"Basic"`), algorithm
      names, environment variable names (`"DB_PASSWORD"`), dotted paths, file paths,
      URLs without credentials, messages (`"Enter your password"`);
    - values too short or too regular for their kind: passwords under 4 characters, keys
      under 6; a bare `token` must hold at least 12 characters with digits or symbols and
      an entropy of `min-entropy` bits per character;
    - documentation credentials in URLs (`scott:tiger`, `user:pass`) and passwords that
      are templates (`{password}`, `%s`);
    - docstrings (except token formats), and test code (`tests/`, `test_*.py`,
      `conftest.py`: fixture passwords are not secrets) unless `check-tests` is true —
      token formats are still reported there, at medium confidence.

    **Confidence.** High for token formats, keys with a long random-looking value, and
    passwords of 8 or more characters with digits or symbols. Medium for short or
    word-like values, dict entries, keyword arguments, parameter defaults, comparisons,
    JWTs, URLs pointing at local hosts, and JWT calls whose library the imports do not
    tell. Low for `dev`/`test`-like values, well-known default passwords (`guest`,
    `postgres`, `root`, `admin`...), and AWS's documented `...EXAMPLE` keys (not reported
    at all in files named like examples). URLs whose password equals the user name
    (`guest:guest@localhost`) are not reported.

    **Names.** Names with a stand-in word (`DUMMY_PASSWORD`, `fake_token`,
    `example_secret`) are skipped. A compound `*_token` counts only with a credential
    word (`access_token`, `api_token`, `csrf_token`, `github_token`...): `page_token`,
    `output_token` and `identity_token` are pagination and path tokens. Values starting
    with `_` and snake-case word lists without digits (`_password_reset_token`) are
    session or cache key names.

    **Redaction.** The secret is never printed in full: the code frame of every output
    format (console, JSON, SARIF, GitHub) shows the first few characters and the length
    (`"k3y-…(21 chars)"`), and messages never include the value. Other rules' findings on
    the same lines get the same redaction.

    **Trade-offs (precision first).** Secrets built by concatenation or f-strings,
    secrets in defaults of `os.getenv(...)` (a read), and high-entropy strings under
    neutral names are not reported, except when they match a token format.

    ## Why is this bad?
    Code and configuration are copied everywhere: every clone, fork, CI log, container
    image and backup holds the secret, and it cannot be rotated without a release. Leaked
    keys are found by scanners within minutes of a push (CWE-798, CWE-259). Secrets belong
    in the environment or a secret manager, read at start-up.

    ## Example
    ```python
    SECRET_KEY = "k3y-for-prod-7f2a91e0"
    engine = create_engine("postgresql://app:Spring-2024@db.internal/app")
    token = jwt.encode(claims, "my-signing-key", algorithm="HS256")
    ```

    ## Use instead
    ```python
    SECRET_KEY = os.environ["SECRET_KEY"]
    engine = create_engine(os.environ["DATABASE_URL"])
    token = jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")
    ```

    ## Options
    - `extra-placeholders`: more values that mean "no secret here" (compared ignoring case,
      `-`, `_`, `.` and spaces).
    - `min-entropy`: bits per character a value under a bare `token` name needs (3.0).
    - `check-tests`: also report secret names in test code (false).
    - `extra-secret-names`: more names whose string values are keys (exact names, compared
      ignoring case and `_`), such as `MY_SERVICE_SIGNING_SALT`.
    - `test-patterns`: path globs of test code.

    ## References
    - https://cwe.mitre.org/data/definitions/798.html
    - https://cwe.mitre.org/data/definitions/259.html
    - https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html
    - https://docs.djangoproject.com/en/stable/ref/settings/#secret-key
    - https://docs.github.com/en/code-security/secret-scanning/introduction/supported-secret-scanning-patterns
    """

    meta = RuleMeta(
        id="BL201", name="hardcoded-secret", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A secret (password, key, token, credential in a URL) is written into code or configuration.",
        cwe=(798, 259), tags=("security", "secrets"),
        triggers=("password", "passwd", "pwd", "pass", "secret", "token", "key", "://", "login",
                  "auth", "dbname=") + sh.token_trigger_words(),
    )
    options = (
        Option("extra-placeholders", list, [],
               "More values that mean 'no secret here' (case, `-`, `_`, `.` and spaces ignored)."),
        Option("min-entropy", float, 3.0,
               "Bits per character a value under a bare `token` name needs to be reported."),
        Option("check-tests", bool, False,
               "Also report values under secret names in test code (token formats always are)."),
        Option("extra-secret-names", list, [],
               "More exact names whose string values are keys (case and `_` ignored)."),
        Option("test-patterns", list, list(sh.DEFAULT_TEST_PATTERNS),
               "Path globs of test code."),
    )

    # -- shared --------------------------------------------------------------------------

    def _setup(self) -> None:
        if getattr(self, "_ready", False):
            return
        self._ready = True
        self._extra = tuple(self.option("extra-placeholders"))
        self._min_entropy = float(self.option("min-entropy"))
        self._strong = _STRONG_NAMES | {sh._normal(n) for n in self.option("extra-secret-names")}
        self._in_tests = path_matches(self.file.relpath, self.option("test-patterns"))
        self._reported: set[int] = set()
        # Every name `_password_argument` can match: most calls are none of them.
        entries = sh._knowledge().get("password_argument", [])
        self._password_apis = ({q for e in entries for q in e.get("qualnames", ())},
                               {m for e in entries for m in e.get("methods", ())})

    def _remember(self, secret: str) -> None:
        """Other rules' code frames on these lines are redacted too (engine hook)."""
        if len(secret) >= 6:
            self.file.__dict__.setdefault("redactions", {})[secret] = sh.redacted(secret)

    # -- Python --------------------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> None:
        self._setup()

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) \
                    and len(target.elts) == len(node.value.elts):
                for t, v in zip(target.elts, node.value.elts):
                    self._store(t, v)
            else:
                self._store(target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._store(node.target, node.value)

    def _store(self, target: ast.AST, value: ast.AST) -> None:
        name = sh.expression_name(target) if not isinstance(target, ast.Attribute) else target.attr
        if isinstance(value, ast.Call) and calls.last_name(value.func) in _WRAPPERS:
            # pydantic `Field("...")` / `Field(default="...")`, `SecretStr("...")`
            inner = calls.argument(value, 0, "default")
            if inner is not None:
                value = inner
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) \
                and target.value.attr == "environ" and name:
            self._named(name, value, "assignment", strong_hint=False)
            return
        self._named(name, value, "assignment")

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self._named(key.value, value, "entry")

    def visit_Call(self, node: ast.Call) -> None:
        self._setup()
        qual = self.file.qualname(node.func) or calls.dotted(node.func)
        if qual in _READS or qual.endswith((".getenv", "environ.get")):
            return
        for kw in node.keywords:
            if kw.arg:
                self._named(kw.arg, kw.value, "keyword")
            if kw.arg == "auth" and isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                self._named("password", kw.value.elts[1], "keyword")
        if qual in _ENV_STORES and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            self._named(node.args[0].value, node.args[1], "keyword")
        self._password_argument(node, qual)
        self._jwt_key(node)

    def _password_argument(self, node: ast.Call, qual: str) -> None:
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        qualnames, methods = self._password_apis
        if qual not in qualnames and method not in methods:
            return
        for entry in sh._knowledge().get("password_argument", []):
            if qual in entry.get("qualnames", ()):
                pass
            elif method and method in entry.get("methods", ()) and any(
                    self._imports(m) for m in entry.get("modules", ())):
                pass
            else:
                continue
            if entry.get("keyword") and calls.has_keyword(node, entry["keyword"]):
                return  # the keyword form is judged as a keyword argument
            value = calls.argument(node, entry.get("position"))
            if value is not None:
                self._named("password", value, "keyword")
            return

    def _imports(self, module: str) -> bool:
        return any(v == module or v.startswith(module + ".") for v in self.file.names.aliases.values())

    def _jwt_key(self, node: ast.Call) -> None:
        jc = jh.classify_call(self.file, node)
        if jc is None or jc.table not in ("encode", "decode"):
            return
        library = jc.api.library
        where = None
        for entry in sh._knowledge().get("jwt_key", []):
            if entry.get("library") == library:
                where = entry.get(jc.table)
        if where is None:
            return
        key = calls.argument(node, where.get("position"), *where.get("keywords", ()))
        if key is None:
            return
        cap = Confidence.HIGH if jc.resolved else Confidence.MEDIUM
        call = calls.dotted(node.func) or "jwt call"
        literal = key
        origin = None
        if isinstance(key, ast.Name):
            resolved = calls.resolve(self.file.tree, key, self.file.enclosing_function())
            if resolved is key or not isinstance(resolved, ast.Constant):
                return
            if sh.classify_name(key.id) is not None or sh._normal(key.id) in self._strong:
                return  # reported where it is assigned
            literal, origin = resolved, key.id
        value = _literal_text(literal)
        if value is None or id(literal) in self._reported:
            return
        if sh.find_tokens(value):
            return
        conf = sh.judge_value(value, sh.KEY, None, strong=True, extra_placeholders=self._extra)
        if conf is None:
            return
        if self._in_tests:
            conf = min(conf, Confidence.LOW)
        via = f" (the constant `{origin}`, line {literal.lineno})" if origin else ""
        self._reported.add(id(literal))
        self._report_secret(key, literal, value,
                            f"the JWT key of `{call}()` is a string literal{via} "
                            f"({len(value)} characters): load it from the environment or a "
                            "secret manager", min(conf, cap))

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            return
        left, right = node.left, node.comparators[0]
        for named, other in ((left, right), (right, left)):
            name = sh.expression_name(named)
            if name and isinstance(other, ast.Constant):
                self._named(name, other, "comparison", strong_hint=False)

    def visit_FunctionDef(self, node) -> None:
        args = node.args
        positional = args.posonlyargs + args.args
        for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            self._named(arg.arg, default, "default")
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                self._named(arg.arg, default, "default")

    visit_AsyncFunctionDef = visit_FunctionDef

    def _named(self, name: str | None, value: ast.AST, where: str, strong_hint: bool = True) -> None:
        """A value stored under `name` (assignment target, key, keyword, parameter)."""
        self._setup()
        if not name:
            return
        text = _literal_text(value)
        if text is None or id(value) in self._reported:
            return
        kind = sh.classify_name(name)
        strong = strong_hint and sh._normal(name) in self._strong
        if kind is None and not strong:
            return
        if where in ("entry", "keyword") and self._in_example():
            return
        if sh.find_tokens(text, self.file.text) or sh.url_credentials(text, self._extra):
            return  # reported by visit_Constant, with the format's name
        category = kind.category if kind else sh.KEY
        conf = sh.judge_value(text, category, name, strong=strong, min_entropy=self._min_entropy,
                              extra_placeholders=self._extra)
        if conf is None:
            return
        if self._in_tests:
            if not self.option("check-tests"):
                return
            conf = min(conf, Confidence.LOW)
        if where in ("entry", "keyword", "default", "comparison"):
            conf = min(conf, Confidence.MEDIUM)
        self._reported.add(id(value))
        what = _HUMAN[category]
        how = {"assignment": "assigned to", "entry": "stored under", "keyword": "passed as",
               "default": "as the default of", "comparison": "compared with"}[where]
        self._report_secret(value, value, text,
                            f"hard-coded {what} {how} `{name}` ({len(text)} characters): load it "
                            "from the environment or a secret manager", conf)

    def _in_example(self) -> bool:
        """Inside API documentation examples (`json_schema_extra={"example": {...}}`,
        `Body(examples=...)`): sample payloads, not configuration."""
        for node in self.file.ancestors:
            if isinstance(node, ast.keyword) and node.arg in _EXAMPLE_KEYS:
                return True
            if isinstance(node, ast.Dict) and any(
                    isinstance(k, ast.Constant) and k.value in _EXAMPLE_KEYS for k in node.keys):
                return True
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(calls.last_name(t) in _EXAMPLE_KEYS for t in targets):
                    return True
        return False

    def visit_Constant(self, node: ast.Constant) -> None:
        self._setup()
        text = _literal_text(node)
        if text is None or len(text) < 8 or id(node) in self._reported:
            return
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        docstring = isinstance(parent, ast.Expr)
        for match in sh.find_tokens(text, self.file.text):
            if docstring and match.format.name == "JSON Web Token":
                continue
            conf = match.format.confidence
            if sh.is_example_value(match.value):
                conf = Confidence.LOW
            if docstring or self._in_tests:
                conf = min(conf, Confidence.MEDIUM)
            self._reported.add(id(node))
            self._report_secret(node, node, match.value,
                                f"{match.format.name} ({len(match.value)} characters) written in "
                                "the code: revoke it and load it from the environment or a "
                                "secret manager", conf)
            return
        if docstring:
            return
        for cred in sh.url_credentials(text, self._extra):
            conf = cred.confidence
            if self._in_tests:
                if not self.option("check-tests"):
                    return
                conf = min(conf, Confidence.LOW)
            self._reported.add(id(node))
            self._report_secret(node, node, cred.password,
                                f"password ({len(cred.password)} characters) written into a "
                                f"{cred.scheme} connection string: take the credentials from "
                                "the environment", conf, url=True)
            return

    def _report_secret(self, at: ast.AST, literal: ast.AST, secret: str, message: str,
                       conf: Confidence, url: bool = False) -> None:
        location = self.file.location(at)
        snippet = self.file.snippet(location)
        forms = []
        segment = self.file.source_segment(literal)
        if segment and not url:
            inner = segment
            match = re.match(r"^[rRbBuU]{0,2}(['\"]{3}|['\"])(.*)\1$", segment, re.DOTALL)
            if match:
                inner = match.group(2)
            forms.append(inner)
        snippet = sh.redact(snippet, secret, tuple(forms))
        self._remember(secret)
        self.report(at, message, confidence=conf, snippet=snippet)

    # -- configuration files --------------------------------------------------------------

    def check_text(self) -> None:
        self._setup()
        text = self.file.text
        spans: list[tuple[int, int]] = []
        name = self.file.relpath.rsplit("/", 1)[-1]
        example_file = bool(_EXAMPLE_FILE.search(name))
        for match in sh.find_tokens(text):
            conf = match.format.confidence
            if sh.is_example_value(match.value):
                if example_file:
                    continue  # a vendor's example key in an examples file
                conf = Confidence.LOW
            if self._in_tests:
                conf = min(conf, Confidence.MEDIUM)
            spans.append((match.start, match.end))
            self._report_text(match.start, match.end, match.value,
                              f"{match.format.name} ({len(match.value)} characters) in a "
                              "configuration file: revoke it and keep it out of the repository",
                              conf)
        for cred in sh.url_credentials(text, self._extra):
            if _overlaps(cred.start, cred.end, spans):
                continue
            spans.append((cred.start, cred.end))
            self._report_text(cred.start, cred.end, cred.password,
                              f"password ({len(cred.password)} characters) written into a "
                              f"{cred.scheme} connection string in a configuration file",
                              min(cred.confidence, Confidence.MEDIUM))
        if example_file or self._in_tests:
            return
        for key, start, end, value in _config_pairs(self.file.relpath, text):
            if _overlaps(start, end, spans):
                continue
            kind = sh.classify_name(key)
            strong = sh._normal(key) in self._strong
            if kind is None and not strong:
                continue
            category = kind.category if kind else sh.KEY
            if not strong and all(c.isalpha() or c.isspace() for c in value):
                continue  # `"password": "Passwort"`: translations and labels, not secrets
            conf = sh.judge_value(value, category, key, strong=strong,
                                  min_entropy=self._min_entropy, extra_placeholders=self._extra)
            if conf is None:
                continue
            if value.lower() in _CONFIG_DEFAULTS:
                conf = Confidence.LOW
            spans.append((start, end))
            self._report_text(start, end, value,
                              f"hard-coded {_HUMAN[category]} under `{key}` ({len(value)} "
                              "characters) in a configuration file: inject it at deploy time "
                              "instead of committing it", min(conf, Confidence.MEDIUM))

    def _report_text(self, start: int, end: int, secret: str, message: str, conf: Confidence) -> None:
        location = self.file.location_of_offsets(start, end)
        snippet = sh.redact(self.file.snippet(location), secret)
        self._remember(secret)
        self.report_span(start, end, message, confidence=conf, snippet=snippet)


def _literal_text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return node.value
        if isinstance(node.value, bytes):
            try:
                return node.value.decode("ascii")
            except UnicodeDecodeError:
                return None
    return None


def _overlaps(start: int, end: int, spans) -> bool:
    return any(start < e and s < end for s, e in spans)


_ENV_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*(.*?)[ \t]*$", re.M)
_YAML_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?([\"']?)([A-Za-z_][\w.-]*)\1[ \t]*:[ \t]+(.+?)[ \t]*$", re.M)
_INI_LINE = re.compile(r"^[ \t]*([\"']?)([A-Za-z_][\w.-]*)\1[ \t]*[=:][ \t]*(.+?)[ \t]*$", re.M)
_JSON_PAIR = re.compile(r"\"([^\"\\\n]{1,80})\"\s*:\s*\"((?:[^\"\\\n]|\\.)*)\"")


def _config_pairs(relpath: str, text: str):
    """(key, start, end, value) of the scalar string values of a config file; start/end are
    the value's offsets in `text`."""
    name = relpath.rsplit("/", 1)[-1].lower()
    if name.endswith(".json"):
        for match in _JSON_PAIR.finditer(text):
            value = match.group(2)
            if "\\" in value:
                continue
            yield match.group(1), match.start(2), match.end(2), value
        return
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        pattern, key_group, value_group = _ENV_LINE, 1, 2
    elif name.endswith((".yaml", ".yml")):
        pattern, key_group, value_group = _YAML_LINE, 2, 3
    else:
        pattern, key_group, value_group = _INI_LINE, 2, 3
    for match in pattern.finditer(text):
        raw = match.group(value_group)
        start = match.start(value_group)
        value, offset = _unquote(raw)
        if value is None:
            continue
        yield match.group(key_group), start + offset, start + offset + len(value), value


def _unquote(raw: str) -> tuple[str | None, int]:
    if not raw:
        return None, 0
    if raw[0] in "\"'":
        end = raw.find(raw[0], 1)
        if end < 0:
            return None, 0
        return raw[1:end], 1
    if raw[0] in "[{|>&*!@`":
        return None, 0
    value = re.split(r"[ \t]+[#;]", raw, maxsplit=1)[0].strip()
    return value or None, 0
