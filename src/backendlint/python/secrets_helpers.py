"""What the secret and password rules (BL201-BL204) share: reading identifiers as words
(`SECRET_KEY`, `apiKey`, `password_hash`), judging whether a literal value is a real secret
or a placeholder / field name / message, the well-known token formats of `rules/secrets.toml`,
credentials in URLs, and redaction (a secret is never shown in full).

Everything works on names and literal text; nothing is run."""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from .. import knowledge
from ..findings import Confidence

PASSWORD, KEY, TOKEN = "password", "key", "token"

# -- names ------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# Compound words written as one (`apikey`, `secretkey`) are read as their parts.
_COMPOUNDS = {
    "apikey": ("api", "key"), "secretkey": ("secret", "key"), "privatekey": ("private", "key"),
    "accesstoken": ("access", "token"), "authtoken": ("auth", "token"),
    "refreshtoken": ("refresh", "token"), "clientsecret": ("client", "secret"),
    "apitoken": ("api", "token"), "signingkey": ("signing", "key"), "secrettoken": ("secret", "token"),
    "bottoken": ("bot", "token"), "idtoken": ("id", "token"), "apisecret": ("api", "secret"),
    "appsecret": ("app", "secret"), "passwd": ("passwd",), "password": ("password",),
}
# Words that make `*_token` a credential (`access_token`, `api_token`); other compound tokens
# (`page_token`, `output_token`, `identity_token`, `c_token`) are pagination, lexer or path
# tokens.
TOKEN_QUALIFIERS = {"access", "refresh", "auth", "api", "bearer", "csrf", "xsrf", "session",
                    "reset", "verification", "verify", "bot", "id", "jwt", "oauth", "secret",
                    "service", "webhook", "github", "gitlab", "slack", "personal", "invite",
                    "activation", "magic", "login", "remember", "admin", "app", "client",
                    "signup", "confirmation", "otp", "mfa", "device", "hook", "internal",
                    "discord", "telegram", "stripe", "twilio", "sentry", "npm", "pypi", "docker",
                    "hf", "openai", "user", "deploy", "registry", "vault", "consul", "private"}
# Words that say the value is a stand-in (`DUMMY_PASSWORD`, `_dummy_secret`, `fake_token`).
_STAND_IN = {"dummy", "fake", "example", "sample", "mock", "placeholder", "test", "testing",
             "demo", "stub", "bogus"}
_DEFAULT_CREDENTIALS = {"guest", "postgres", "root", "admin", "mysql", "redis", "rabbitmq",
                        "minioadmin", "changeit", "sa", "oracle", "elastic", "neo4j"}
_PASSWORD_WORDS = {"password", "passwd", "passphrase", "passcode", "pwd", "pw", "pword"}
_KEY_PAIRS = {("api", "key"), ("private", "key"), ("signing", "key"), ("encryption", "key"),
              ("hmac", "key"), ("master", "key"), ("fernet", "key"), ("jwt", "key"),
              ("sign", "key"), ("crypt", "key"), ("cipher", "key"), ("aes", "key"),
              ("app", "key"), ("license", "key"), ("webhook", "key"), ("session", "secret")}
# Words after the secret word that keep the name a secret (`SECRET_KEY`, `api_key_value`).
_TRAILERS = {"key", "keys", "value", "str", "string", "raw", "plain", "plaintext", "b64",
             "base64", "hex", "bytes", "access", "token", "secret", "1", "2", "pass", "text",
             "live", "prod", "production", "test", "dev", "default", "s", "encoded", "salt"}
# First words that turn the name into a fact about a secret, not the secret.
_FACT_PREFIX = {"has", "is", "no", "num", "n", "count", "min", "max", "use", "uses", "using",
                "require", "requires", "required", "should", "needs", "need", "enable",
                "enabled", "disable", "disabled", "allow", "allowed", "show", "hide",
                "validate", "validates", "verify", "check", "get", "set", "gen", "generate",
                "make", "create", "hash", "hashed", "encrypt", "encrypted", "masked",
                "redacted", "invalid", "wrong", "bad", "len", "length", "reset", "forgot",
                "forgotten", "change", "changed", "last", "rotate", "rotation", "with",
                "without", "ask", "prompt", "input", "on", "handle", "load", "read",
                "fetch", "parse", "store", "save", "send", "refresh_", "salted", "digest",
                "mask", "strip", "sanitize", "obfuscate", "obfuscated", "unused", "old_hashed"}


def words(name: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        for word in _WORD.findall(part):
            lowered = word.lower()
            out.extend(_COMPOUNDS.get(lowered, (lowered,)))
    return out


@dataclass(frozen=True)
class SecretName:
    category: str  # PASSWORD | KEY | TOKEN
    words: tuple[str, ...]


@lru_cache(maxsize=8192)  # a pure function of the name, asked for the same names often
def classify_name(name: str | None) -> SecretName | None:
    """Is `name` (an identifier, attribute, dict key, keyword or config key) the name of a
    secret, and of which kind? Facts about a secret are not the secret: `password_hash`,
    `token_type`, `secret_name`, `api_key_id`, `has_password`, `PASSWORD_RESET_TIMEOUT`."""
    if not name or len(name) > 80:
        return None
    ws = words(name)
    if not ws:
        return None
    phrases: list[tuple[int, str]] = []  # (index of the phrase's last word, category)
    for i, word in enumerate(ws):
        category = None
        if word in _PASSWORD_WORDS:
            category = PASSWORD
        elif word == "pass" and i == len(ws) - 1 and len(ws) > 1:
            category = PASSWORD
        elif word == "secret" or (word == "secrets" and i == len(ws) - 1 and len(ws) > 1):
            category = KEY
        elif word == "key" and i > 0 and (ws[i - 1], "key") in _KEY_PAIRS:
            category = KEY
        elif word in ("token", "tokens") and not (word == "tokens" and i < len(ws) - 1):
            category = TOKEN
        if category is not None:
            phrases.append((i, category))
    if not phrases:
        return None
    index, category = phrases[-1]
    # `secret_token`, `password_reset_token`: the stronger first word decides how the value
    # is judged; the last phrase decides where the name ends.
    if category == TOKEN and any(c != TOKEN for _, c in phrases[:-1]):
        category = next(c for _, c in phrases if c != TOKEN)
    if ws[0] in _FACT_PREFIX and phrases[0][0] > 0:
        return None
    if set(ws) & _STAND_IN:
        return None
    if category == TOKEN and len(ws) > 1 and not set(ws) & TOKEN_QUALIFIERS:
        return None
    if any(w not in _TRAILERS for w in ws[index + 1:]):
        return None
    return SecretName(category, tuple(ws))


def expression_name(node: ast.AST | None) -> str | None:
    """The name a value is known by: `x`, `obj.attr`, `d["key"]`, `d.get("key")`,
    `os.environ["KEY"]` (-> "KEY"), `form.password.data` (-> "password")."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        if node.attr in ("data", "value") and isinstance(node.value, ast.Attribute):
            return node.value.attr  # WTForms `form.password.data`
        return node.attr
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("get", "pop", "getlist", "get_one", "getattr") and node.args:
        key = node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
        value = node.args[1].value
        return value if isinstance(value, str) else None
    return None


# -- values -----------------------------------------------------------------------------

@knowledge.cached
def _knowledge() -> dict:
    return knowledge.load("secrets")


@dataclass(frozen=True)
class TokenFormat:
    name: str
    regex: re.Pattern
    words: tuple[str, ...]
    context: tuple[str, ...]
    confidence: Confidence


@knowledge.cached
def token_formats() -> tuple[TokenFormat, ...]:
    out = []
    for entry in _knowledge().get("token", []):
        out.append(TokenFormat(entry["name"], re.compile(entry["regex"]), tuple(entry.get("words", ())),
                               tuple(entry.get("context", ())),
                               Confidence.parse(entry.get("confidence", "high"))))
    return tuple(out)


@knowledge.cached
def _any_token_word() -> re.Pattern | None:
    """One search for all formats' words: most strings hold none of them."""
    found = sorted({w for fmt in token_formats() for w in fmt.words})
    return re.compile("|".join(map(re.escape, found))) if found else None


def token_trigger_words() -> tuple[str, ...]:
    return tuple(sorted({w for fmt in token_formats() for w in fmt.words}))


@dataclass(frozen=True)
class TokenMatch:
    format: TokenFormat
    start: int
    end: int
    value: str


_last_lowered: list = [None, "", {}]  # file text, lower-cased, {format id: has context}


def _lowered(file_text: str) -> str:
    """The whole file lower-cased, once per file (not once per string constant in it)."""
    if _last_lowered[0] is not file_text:
        _last_lowered[:] = [file_text, file_text.lower(), {}]
    return _last_lowered[1]


def _has_context(fmt, whole: str, file_text: str | None) -> bool:
    """Does the file mention one of the format's context words? Asked once per file."""
    if file_text is None:
        return any(w in whole for w in fmt.context)
    answers = _last_lowered[2]
    if id(fmt) not in answers:
        answers[id(fmt)] = any(w in whole for w in fmt.context)
    return answers[id(fmt)]


def find_tokens(text: str, file_text: str | None = None) -> list[TokenMatch]:
    """Well-known credential formats in `text` (`file_text`: the whole file, for formats
    that need a context word)."""
    lowered = text.lower()
    whole = _lowered(file_text) if file_text is not None else lowered
    found: list[TokenMatch] = []
    any_word = _any_token_word()
    some_word = any_word is not None and any_word.search(lowered) is not None
    for fmt in token_formats():
        if fmt.words and not fmt.context and not (some_word and any(w in lowered for w in fmt.words)):
            continue
        if fmt.context and not _has_context(fmt, whole, file_text):
            continue
        for match in fmt.regex.finditer(text):
            value = match.group(0)
            if _is_placeholder_token(value):
                continue
            found.append(TokenMatch(fmt, match.start(), match.end(), value))
    return found


def _is_placeholder_token(value: str) -> bool:
    body = re.sub(r"^[A-Za-z]+[_-]", "", value)
    return bool(re.search(r"(?i)x{6,}|\*{4,}|0{12,}|<|>", body)) or len(set(body)) <= 3


def is_example_value(value: str) -> bool:
    """A value a vendor documents as an example (AWS's `...EXAMPLE` keys)."""
    return "EXAMPLE" in value.upper()


@knowledge.cached
def _placeholders() -> tuple[frozenset, tuple[re.Pattern, ...]]:
    exact: set[str] = set()
    patterns: list[re.Pattern] = []
    for entry in _knowledge().get("placeholder", []):
        exact.update(_normal(v) for v in entry.get("exact", []))
        patterns.extend(re.compile(p) for p in entry.get("regex", []))
    return frozenset(exact), tuple(patterns)


def _normal(value: str) -> str:
    return re.sub(r"[-_ .]", "", value.lower())


def is_placeholder(value: str, extra: tuple[str, ...] = ()) -> bool:
    """`changeme`, `<your-key>`, `xxx`, `${VAR}`, `%(x)s`, `your-api-key-here`... (the
    documented list in rules/secrets.toml, plus the `extra-placeholders` option)."""
    stripped = value.strip()
    if not stripped:
        return True
    exact, patterns = _placeholders()
    normal = _normal(stripped)
    if normal in exact or normal in {_normal(e) for e in extra}:
        return True
    return any(p.search(stripped) for p in patterns)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_FIELD_VOCAB = {
    "password", "passwd", "pass", "pwd", "pw", "passphrase", "passcode", "secret", "secrets",
    "key", "keys", "api", "token", "tokens", "access", "refresh", "id", "client", "auth",
    "authorization", "authentication", "x", "user", "username", "private", "public",
    "signing", "jwt", "bearer", "new", "old", "current", "confirm", "confirmation",
    "confirmed", "repeat", "again", "retype", "hashed", "hash", "raw", "plain", "value",
    "field", "input", "header", "session", "csrf", "xsrf", "app", "db", "database", "email",
    "mail", "smtp", "login", "account", "next", "prev", "previous", "continuation", "page",
    "reset", "verify", "verification", "otp", "code", "bot", "oauth", "oauth2", "openid",
    "master", "encryption", "hmac", "aws", "amazon", "type", "name", "data", "form", "param", "cookie",
    "remember", "me", "str", "string", "set", "cursor", "sync", "marker", "continue", "request",
    "response", "upload", "download", "csrfmiddlewaretoken", "nonce", "state", "grant",
    "invalid", "missing", "required", "wrong", "expired", "error", "errors", "mismatch",
    "too", "short", "long", "weak", "common", "similar", "numeric", "entirely", "change",
    "changed", "done", "complete", "forgot", "forgotten", "link", "sent", "s", "1", "2", "3",
}
_SCHEME_WORDS = {"bearer", "basic", "digest", "token", "jwt", "oauth", "oauth2", "hmac",
                 "negotiate", "ntlm", "apikey", "hs256", "hs384", "hs512", "rs256", "rs384",
                 "rs512", "es256", "es384", "es512", "ps256", "eddsa", "sha1", "sha256",
                 "sha512", "md5", "utf8", "ascii", "latin1", "json", "base64", "hex",
                 "access", "refresh", "id", "none", "plain", "login", "cram-md5",
                 "x-api-key", "authorization", "on", "off", "yes", "no", "dev", "prod",
                 "development", "production", "staging", "local", "debug", "test", "testing"}
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_PATH = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)|\.(?:pem|key|crt|cer|der|json|txt|p12|pfx|"
                   r"pub|asc|gpg|ya?ml|toml|ini|cfg|conf|env|jks|keystore)$", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]*$")
_WEAK_KEYS = {"secret", "secretkey", "key", "password", "token", "mysecret", "mysecretkey",
              "jwtsecret", "jwtsecretkey", "supersecret", "topsecret", "test", "dev", "pass"}
_WEAK_VALUES = {"dev", "development", "test", "testing", "local", "debug", "secret",
                "demo", "sample", "example"}


def is_field_like(value: str, name: str | None = None) -> bool:
    """Reads as a name rather than a secret: `password`, `new_password1`, `NextToken`,
    `X-API-Key`, `Authorization`, or the target's own name."""
    if name is not None and _normal(value) == _normal(name):
        return True
    if not _IDENT.match(value):
        return False
    parts = words(value)
    return bool(parts) and all(p in _FIELD_VOCAB for p in parts)


def is_sentence(value: str) -> bool:
    parts = value.split()
    if len(parts) < 2:
        return False
    return len(parts) >= 4 or value.rstrip()[-1:] in ".?!:;,)" or "'" in value


def judge_value(value: str, category: str, name: str | None = None, *, strong: bool = False,
                min_entropy: float = 3.0, extra_placeholders: tuple[str, ...] = ()) -> Confidence | None:
    """Is `value`, stored under a secret-like name of `category`, a real hard-coded secret?
    None: no (placeholder, field name, message, URL, path, env-var name, too short or too
    regular). `strong`: the name is one whose value is certainly used as a key
    (`SECRET_KEY`, the key argument of `jwt.encode`), so any non-placeholder counts."""
    value = value.strip()
    if not value or "\n" in value or len(value) > 512:
        return None
    if value == name or _ENV_NAME.match(value):
        return None  # the name itself, or the name of an environment variable
    if name is not None and _normal(value) == _normal(name):
        # `JWT_SECRET = "jwt-secret"`: a key spelled like its name (weak) or a field name
        return Confidence.MEDIUM if strong else None
    if strong and _normal(value) in _WEAK_KEYS:
        return Confidence.MEDIUM  # `jwt.encode(claims, "secret")`: a key anyone can guess
    if is_placeholder(value, extra_placeholders):
        return None
    if _URL.match(value) or _PATH.search(value) or _ENV_NAME.match(value):
        return None
    if _DOTTED.match(value) and not any(ch.isdigit() for ch in value):
        return None
    if is_sentence(value):
        return None
    lowered = value.lower()
    if strong:
        if len(value) < 3 or (name is not None and _normal(value) == _normal(name)):
            return None
        if is_field_like(value):
            return None  # `SECRET_KEY = "AWSSecretKey"`: the name of a field
        if lowered in _WEAK_VALUES or len(value) < 8:
            return Confidence.MEDIUM
        return Confidence.HIGH if entropy(value) >= 2.5 else Confidence.MEDIUM
    if lowered in _SCHEME_WORDS or is_field_like(value, name):
        return None
    if value.startswith("_") or (category != PASSWORD and not any(ch.isdigit() for ch in value)
                                 and re.fullmatch(r"[a-z]+(?:[_.:-][a-z]+)+", value)):
        return None  # `_password_reset_token`, `auth_user_hash`: a session or cache key name
    if " " in value and category != KEY:
        return None
    if lowered in _DEFAULT_CREDENTIALS:
        return Confidence.LOW if category == PASSWORD else None
    has_digit = any(ch.isdigit() for ch in value)
    has_other = any(not ch.isalnum() for ch in value)
    if category == PASSWORD:
        if len(value) < 4:
            return None
        if lowered in _WEAK_VALUES:
            return Confidence.LOW
        if len(value) >= 8 and (has_digit or has_other):
            return Confidence.HIGH
        return Confidence.MEDIUM
    if category == KEY:
        if len(value) < 6:
            return None
        if len(value) >= 16 and entropy(value) >= min_entropy and " " not in value:
            return Confidence.HIGH
        return Confidence.MEDIUM
    # TOKEN: a bare `token` names too many things; the value must look generated.
    if len(value) < 12 or not (has_digit or has_other) or entropy(value) < min_entropy:
        return None
    if re.fullmatch(r"[-_.]*[A-Za-z]+(?:[-_.:][A-Za-z]+)*[-_]?\d{0,2}", value):
        return None  # `access-token-1`, `refresh_token`: a name with a number
    return Confidence.HIGH if len(value) >= 20 else Confidence.MEDIUM


# -- credentials in URLs and DSNs ---------------------------------------------------------

_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,30})://(?P<user>[^\s:/@'\"?#]*):(?P<password>[^\s/@'\"?#]+)@"
    r"(?P<host>[^\s/'\"?#:]*)")
_URL_SCHEMES = re.compile(
    r"^(?:postgres(?:ql)?|mysql|mariadb|mssql|oracle|sqlite|redshift|cockroachdb|clickhouse|"
    r"snowflake|db2|sybase|firebird|redis|rediss|valkey|amqp|amqps|mongodb(?:\+srv)?|mqtt|mqtts|"
    r"kafka|nats|memcached?|couchdb|neo4j|bolt|elasticsearch|ldap|ldaps|smtp|smtps|imap|imaps|"
    r"ftp|ftps|sftp|ssh|http|https|ws|wss|jdbc:[a-z]+|sqlalchemy)(?:\+[A-Za-z0-9_]+)?$",
    re.IGNORECASE)
_LOCAL_HOSTS = re.compile(r"^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|::1|db|database|"
                          r"postgres|postgresql|mysql|mariadb|redis|mongo|mongodb|rabbitmq|"
                          r"host\.docker\.internal|example\.(?:com|org)|[a-z0-9-]*\.example(?:\.com)?)$",
                          re.IGNORECASE)
_LIBPQ = re.compile(r"(?:^|\s)password\s*=\s*(?P<q>'?)(?P<password>[^\s']+)(?P=q)(?:\s|$)")


@dataclass(frozen=True)
class UrlCredential:
    start: int  # of the password, in the text
    end: int
    password: str
    scheme: str
    host: str
    confidence: Confidence


@knowledge.cached
def _example_pairs() -> frozenset:
    pairs: set[str] = set()
    for entry in _knowledge().get("example_credentials", []):
        pairs.update(p.lower() for p in entry.get("pairs", []))
    return frozenset(pairs)


def url_credentials(text: str, extra_placeholders: tuple[str, ...] = ()) -> list[UrlCredential]:
    """Passwords written into connection URLs (`postgresql://app:s3cret@db.internal/app`)
    and libpq DSNs (`"host=db user=app password=s3cret"`)."""
    out: list[UrlCredential] = []
    if "://" in text:
        for match in _URL_CREDENTIALS.finditer(text):
            scheme, user, password, host = match.group("scheme", "user", "password", "host")
            if not _URL_SCHEMES.match(scheme):
                continue
            conf = _judge_url_password(user, password, host, scheme, extra_placeholders)
            if conf is not None:
                out.append(UrlCredential(match.start("password"), match.end("password"), password,
                                         scheme, host, conf))
    if "password" in text and ("host=" in text or "dbname=" in text or "user=" in text):
        for match in _LIBPQ.finditer(text):
            password = match.group("password")
            conf = _judge_url_password("", password, "", "dsn", extra_placeholders)
            if conf is not None:
                out.append(UrlCredential(match.start("password"), match.end("password"), password,
                                         "dsn", "", min(conf, Confidence.MEDIUM)))
    return out


def _judge_url_password(user: str, password: str, host: str, scheme: str,
                        extra: tuple[str, ...]) -> Confidence | None:
    if len(password) < 3 or is_placeholder(password, extra) or is_field_like(password):
        return None
    if f"{user}:{password}".lower() in _example_pairs():
        return None
    if re.search(r"[{}$%<>]", password) or "*" in password:
        return None
    if scheme != "dsn" and (not host or host.startswith(("{", "$", "%", "<"))):
        return None
    if password.lower() == user.lower():
        return None  # `guest:guest`, `postgres:postgres`: a local default, not a secret
    if _LOCAL_HOSTS.match(host) or scheme.lower().startswith(("http", "ws")):
        return Confidence.MEDIUM
    return Confidence.HIGH


# -- redaction --------------------------------------------------------------------------

def redacted(value: str) -> str:
    """A short prefix and the length: enough to find the secret, never the secret.
    Short values show less (a third at most) so that the prefix is never the whole."""
    shown = min(4, len(value) // 3)
    return f"{value[:shown]}…({len(value)} chars)"


def redact(text: str, secret: str, source_forms: tuple[str, ...] = ()) -> str:
    """`text` with every occurrence of `secret` (and of its source spellings, such as the
    escaped literal) replaced by `redacted(secret)`."""
    if not secret:
        return text
    replacement = redacted(secret)
    for form in sorted(set(source_forms), key=len, reverse=True):
        if form and len(form) >= 3:
            text = text.replace(form, replacement)
    text = text.replace(secret, replacement)
    # A literal split over lines (implicit concatenation): redact every long quoted piece
    # of the secret.
    if len(secret) >= 12:
        def piece(match: re.Match) -> str:
            inner = match.group(2)
            if len(inner) >= 6 and inner in secret:
                return f"{match.group(1)}{redacted(inner)}{match.group(1)}"
            return match.group(0)
        text = re.sub(r"(['\"])([^'\"\n]*)\1", piece, text)
    return text


# -- paths ------------------------------------------------------------------------------

DEFAULT_TEST_PATTERNS = ["tests/*", "test/*", "testing/*", "test_*.py", "*_test.py", "*_tests.py",
                         "conftest.py", "tests.py"]
