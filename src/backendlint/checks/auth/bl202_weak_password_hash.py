import ast
import re

from ... import knowledge
from ...findings import Confidence, Severity
from ...python import calls
from ...python import secrets_helpers as sh
from ...python.settings_modules import is_dev_or_test, path_matches
from ...rule import Option, PythonRule, RuleMeta

_NOT_PLAIN = {"hash", "hashed", "digest", "token", "key", "salt", "checksum", "encoded", "stored"}
_HASHER_METHODS = {"hash", "encrypt", "genconfig", "using"}
_PASSWORDISH_FUNCTION = re.compile(r"(?i)(hash|encrypt|encode|make|set|digest|store|crypt)")


@knowledge.cached
def _kb() -> dict:
    base = knowledge.load("password_hashing")
    fast: dict[str, dict] = {}
    for entry in base.get("fast_hash", []):
        for name in entry["qualnames"]:
            fast[name] = entry
    work: dict[str, dict] = {}
    for entry in base.get("work_factor", []):
        for name in entry["qualnames"]:
            work[name] = entry
    weak_schemes = {s for e in base.get("passlib_weak", []) for s in e["schemes"]}
    django_weak = {s for e in base.get("django_hasher", []) for s in e["weak"]}
    django_names = {s for e in base.get("django_hasher", []) for s in e["names"]}
    pbkdf2 = {k: v for e in base.get("pbkdf2_minimum", []) for k, v in e.items()
              if isinstance(v, (int, float))}
    return {"fast": fast, "work": work, "weak_schemes": weak_schemes,
            "django_weak": django_weak, "django_names": django_names, "pbkdf2": pbkdf2}


class WeakPasswordHash(PythonRule):
    """
    ## What it does
    Flags passwords stored with a hash that is too fast to resist guessing:

    - a password-like value (`password`, `passwd`, `user.password`, `form["password"]`,
      `request.form.get("password")`, `form.password.data`, and any parameter of a function
      named like `hash_password` / `set_password`) hashed with `hashlib.md5`, `sha1`, the
      SHA-2 and SHA-3 families, BLAKE2 (also `hashlib.new("sha256", ...)`, a hash object's
      `.update(password)`, pycryptodome's `Crypto.Hash`), or with `crypt.crypt`;
    - passlib's weak schemes (`md5_crypt`, `des_crypt`, `hex_sha256`, `ldap_salted_sha1`,
      `plaintext`, ...) used directly or as the default (first) scheme of a `CryptContext`;
    - Django `PASSWORD_HASHERS` led by `MD5PasswordHasher`, `SHA1PasswordHasher`, the
      unsalted hashers or `CryptPasswordHasher`, and `make_password(..., hasher="md5")`;
    - strong algorithms with a weak cost: bcrypt `gensalt(rounds)` (passlib
      `bcrypt.using(rounds=...)`, `bcrypt__rounds=`) below `min-bcrypt-rounds`; PBKDF2
      (`hashlib.pbkdf2_hmac`, cryptography's `PBKDF2HMAC`, Django's `pbkdf2`, a Django
      hasher subclass's `iterations`, passlib `pbkdf2_sha256.using(rounds=...)`, Werkzeug
      `method="pbkdf2:sha256:N"`) below `min-pbkdf2-iterations` for SHA-256 (scaled by
      OWASP's table for SHA-1 and SHA-512); scrypt with `n` below `min-scrypt-n`
      (`hashlib.scrypt`, cryptography's `Scrypt`, Werkzeug `"scrypt:N:r:p"`, passlib
      `scrypt.using(rounds=log2 n)`); argon2-cffi `PasswordHasher` below OWASP's minimum
      (memory `min-argon2-memory-kib` with time cost `min-argon2-time-cost`, or one of the
      equivalent pairs m=47104/t=1, 12288/3, 9216/4, 7168/5).

    The data must be password-like: hashing a body, a file, a cache key or an ETag with
    md5 is not a finding, nor is hashing a token or API key (random, high-entropy values
    are fine with a fast hash), nor anything called with `usedforsecurity=False`. Costs are
    judged only when they are constants (literals, `2**17`, module constants): defaults of
    the libraries are never reported.

    **Confidence.** Medium when the password-like value is only inferred from the function's
    name, when the hash function is not resolved through an import, and for
    `crypt.crypt` with a SHA-2 salt. Low inside classes that implement password hashers
    (a framework offering a legacy scheme for old hashes), in the hashing library's own
    code (`passlib/...` using passlib) and in functions implementing the very algorithm
    they call (`_raw_md5_crypt` calling md5). Not reported: test code, hashes of literals
    (test vectors and availability probes such as `pbkdf2_hmac(name, b"p", b"s", 1)`),
    PBKDF2 calls whose digest is not a constant, and Django `PASSWORD_HASHERS` in test or
    development settings (the documented way to speed up tests).

    ## Why is this bad?
    When a database leaks, stored hashes are attacked offline. A GPU computes billions of
    MD5 or SHA-256 hashes per second, so most human passwords fall within hours; without a
    per-user salt, one precomputed table cracks every account at once (CWE-916, CWE-328,
    CWE-759). Password hashes must be slow and salted — bcrypt, scrypt, argon2id, PBKDF2 with
    enough iterations — and their cost must keep up with hardware.

    ## Example
    ```python
    stored = hashlib.sha256((salt + password).encode()).hexdigest()
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8))
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ```

    ## Use instead
    ```python
    stored = argon2.PasswordHasher().hash(password)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())  # 12 rounds
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher",
                        "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    ```

    ## Options
    - `min-bcrypt-rounds` (12): bcrypt cost factor (log2 of the rounds); OWASP: 10 at least,
      12 is the libraries' default.
    - `min-pbkdf2-iterations` (600000): PBKDF2-HMAC-SHA256 iterations (OWASP); SHA-1 needs
      1,300,000 and SHA-512 210,000 (scaled from this value).
    - `min-scrypt-n` (131072 = 2^17): scrypt CPU/memory cost with r=8, p=1 (OWASP).
    - `min-argon2-memory-kib` (19456) and `min-argon2-time-cost` (2): argon2id (OWASP).
    - `test-patterns`: path globs of test code (not checked).

    ## References
    - https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    - https://cwe.mitre.org/data/definitions/916.html
    - https://cwe.mitre.org/data/definitions/328.html
    - https://docs.djangoproject.com/en/stable/topics/auth/passwords/
    - https://passlib.readthedocs.io/en/stable/lib/passlib.hash.html
    - https://argon2-cffi.readthedocs.io/en/stable/parameters.html
    """

    meta = RuleMeta(
        id="BL202", name="weak-password-hash", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A password is hashed with a fast or unsalted hash, or with too low a work factor.",
        cwe=(916, 328), tags=("security", "passwords", "crypto"),
        triggers=("md5", "sha1", "sha2", "sha3", "sha5", "blake2", "crypt", "passlib", "argon2",
                  "pbkdf2", "password_hashers", "hasher", "generate_password_hash", "hashlib"),
    )
    options = (
        Option("min-bcrypt-rounds", int, 12, "Minimum bcrypt cost factor (log2 rounds)."),
        Option("min-pbkdf2-iterations", int, 600_000,
               "Minimum PBKDF2-HMAC-SHA256 iterations (others scaled by OWASP's table)."),
        Option("min-scrypt-n", int, 2 ** 17, "Minimum scrypt N (CPU/memory cost)."),
        Option("min-argon2-memory-kib", int, 19456, "Minimum argon2 memory cost in KiB."),
        Option("min-argon2-time-cost", int, 2, "Minimum argon2 time cost at that memory."),
        Option("test-patterns", list, list(sh.DEFAULT_TEST_PATTERNS), "Path globs of test code."),
    )

    # -- helpers -------------------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> None:
        self._skip = path_matches(self.file.relpath, self.option("test-patterns"))

    def _self_implementation(self, qual: str, algorithm: str = "") -> bool:
        """Code of the hashing library itself (`passlib/apps.py` using passlib), or a
        function implementing the very algorithm it calls (`_raw_md5_crypt` calling md5):
        legacy schemes offered for compatibility, not a choice of how to store passwords."""
        folders = self.file.relpath.lower().split("/")
        top = qual.split(".", 1)[0].lower()
        if top and top in folders[:-1]:
            return True
        if algorithm:
            function = self.file.enclosing_function()
            names = [folders[-1].rsplit(".", 1)[0]] + ([function.name.lower()] if function else [])
            return any(algorithm.lower() in n for n in names)
        return False

    def _library_confidence(self, qual: str) -> Confidence:
        return Confidence.LOW if self._self_implementation(qual) else self._base_confidence()

    def _base_confidence(self) -> Confidence:
        if path_matches(self.file.relpath, self.option("test-patterns")):
            return Confidence.LOW
        for node in reversed(self.file.ancestors):
            if isinstance(node, ast.ClassDef):
                bases = " ".join(calls.dotted(b) for b in node.bases)
                if node.name.endswith("Hasher") or "Hasher" in bases:
                    return Confidence.LOW
        return Confidence.HIGH

    def _passwordish(self, expr: ast.AST | None) -> tuple[bool, str]:
        """Does `expr` carry a password? (yes/no, how we know)."""
        if expr is None:
            return False, ""
        for node in ast.walk(expr):
            if isinstance(node, ast.Lambda):
                continue
            name = sh.expression_name(node)
            kind = sh.classify_name(name) if name else None
            if kind is not None and kind.category == sh.PASSWORD:
                return True, f"`{name}`"
        function = self.file.enclosing_function()
        if function is not None:
            fwords = set(sh.words(function.name))
            if fwords & {"password", "passwd", "pwd", "passphrase"} \
                    and _PASSWORDISH_FUNCTION.search(function.name):
                params = {a.arg for a in function.args.args + function.args.kwonlyargs
                          + function.args.posonlyargs if not set(sh.words(a.arg)) & _NOT_PLAIN}
                params -= {"self", "cls"}
                for node in ast.walk(expr):
                    if isinstance(node, ast.Name) and node.id in params:
                        return True, f"an argument of `{function.name}()`"
        return False, ""

    def _resolved(self, node: ast.AST) -> bool:
        head = node
        while isinstance(head, ast.Attribute):
            head = head.value
        return isinstance(head, ast.Name) and self.file.names.is_imported(head.id)

    def _int(self, node: ast.AST | None) -> int | None:
        node = calls.resolve(self.file.tree, node, self.file.enclosing_function())
        return _int_value(node)

    # -- calls ---------------------------------------------------------------------------

    def report(self, node, message, *, confidence=None, **extra):  # noqa: D401
        if getattr(self, "_skip", False):
            return None
        return super().report(node, message, confidence=confidence, **extra)

    def visit_Call(self, node: ast.Call) -> None:
        qual = self.file.qualname(node.func) or ""
        kb = _kb()
        if qual in kb["fast"]:
            self._fast_hash(node, qual, kb["fast"][qual])
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "update" and node.args:
            self._hash_update(node)
        if qual in ("crypt.crypt",):
            self._crypt(node)
        if qual in kb["work"]:
            self._work_factor(node, qual, kb["work"][qual])
        if qual.startswith("passlib."):
            self._passlib(node, qual)
        if qual.endswith("generate_password_hash") and qual.startswith(("werkzeug", "flask_bcrypt")) \
                or qual == "werkzeug.security.generate_password_hash":
            self._werkzeug(node)
        if qual == "django.contrib.auth.hashers.make_password":
            hasher = calls.str_constant(calls.argument(node, 2, "hasher"))
            if hasher in kb["django_names"]:
                self.report(node, f"`make_password(..., hasher=\"{hasher}\")` stores the password "
                            "with a fast hash: leave the hasher to PASSWORD_HASHERS (PBKDF2, "
                            "argon2 or bcrypt)", confidence=self._base_confidence())

    def _fast_hash(self, node: ast.Call, qual: str, entry: dict) -> None:
        if calls.is_false(calls.keyword(node, "usedforsecurity")):
            return
        algorithm = qual.rsplit(".", 1)[-1]
        if "name_argument" in entry:
            algorithm = calls.str_constant(calls.argument(node, entry["name_argument"], "name")) or ""
            if not algorithm or algorithm.lower() in ("scrypt",):
                return
        data = calls.argument(node, entry.get("data_argument", 0), *entry.get("data_keywords", ()))
        if _constant_data(data):
            return  # a test vector or a probe, not a user's password
        found, how = self._passwordish(data)
        if not found:
            return
        conf = self._base_confidence()
        if self._self_implementation(qual, algorithm):
            conf = Confidence.LOW
        if "argument of" in how or not self._resolved(node.func):
            conf = min(conf, Confidence.MEDIUM)
        self.report(node, f"password ({how}) hashed with {algorithm}, a fast unsalted hash: "
                    "use a password hasher (argon2-cffi, bcrypt, passlib's CryptContext, "
                    "Django's make_password, Werkzeug's generate_password_hash)", confidence=conf)

    def _hash_update(self, node: ast.Call) -> None:
        receiver = node.func.value
        if not isinstance(receiver, ast.Name):
            return
        bound = calls.resolve(self.file.tree, receiver, self.file.enclosing_function())
        if not isinstance(bound, ast.Call):
            return
        qual = self.file.qualname(bound.func) or ""
        entry = _kb()["fast"].get(qual)
        if entry is None or calls.is_false(calls.keyword(bound, "usedforsecurity")):
            return
        found, how = self._passwordish(node.args[0])
        if found:
            algorithm = qual.rsplit(".", 1)[-1]
            if "name_argument" in entry:
                algorithm = calls.str_constant(calls.argument(bound, 0, "name")) or "hashlib.new"
            self.report(node, f"password ({how}) fed to a {algorithm} hash object, a fast "
                        "unsalted hash: use a password hasher (argon2-cffi, bcrypt, passlib)",
                        confidence=self._base_confidence())

    def _crypt(self, node: ast.Call) -> None:
        if _constant_data(calls.argument(node, 0, "word")):
            return
        salt = calls.argument(node, 1, "salt")
        conf = self._base_confidence()
        if self._self_implementation("crypt", "crypt"):
            conf = Confidence.LOW
        salt_name = ""
        if isinstance(salt, ast.Call):
            salt_name = " ".join(self.file.qualname(a) or "" for a in salt.args)
        if "METHOD_SHA512" in salt_name or "METHOD_SHA256" in salt_name:
            conf = min(conf, Confidence.MEDIUM)
            detail = "SHA-crypt with its default 5000 rounds"
        elif salt is None or "METHOD_BLOWFISH" not in salt_name:
            detail = "DES or MD5 crypt, or whatever the platform's default is"
        else:
            return
        self.report(node, f"`crypt.crypt` hashes the password with {detail} (the `crypt` module "
                    "is removed in Python 3.13): use bcrypt or argon2", confidence=conf)

    def _work_factor(self, node: ast.Call, qual: str, entry: dict) -> None:
        kind = entry["kind"]
        name = qual.rsplit(".", 1)[-1]
        if kind == "argon2":
            time_cost = self._int(calls.argument(node, entry.get("time_argument"), entry.get("time_keyword", "")))
            memory = self._int(calls.argument(node, entry.get("memory_argument"), entry.get("memory_keyword", "")))
            if time_cost is None and memory is None:
                return
            self._argon2(node, 3 if time_cost is None else time_cost,
                         65536 if memory is None else memory, name)
            return
        value = self._int(calls.argument(node, entry.get("argument"), entry.get("keyword", "")))
        if value is None:
            return
        if "password_argument" in entry and _constant_data(calls.argument(node, entry["password_argument"], "password")):
            return  # `pbkdf2_hmac(name, b"p", b"s", 1)`: a probe, not a password
        if kind == "bcrypt":
            self._bcrypt(node, value, name)
        elif kind == "scrypt":
            self._scrypt(node, value, name)
        elif kind == "pbkdf2":
            digest_node = calls.argument(node, entry.get("digest_argument"), entry.get("digest_keyword", ""))
            digest = calls.str_constant(digest_node)
            if digest is None and isinstance(digest_node, ast.Call):
                digest = calls.last_name(digest_node.func)
            if digest_node is not None and digest is None:
                return  # which hash is iterated is not known here
            self._pbkdf2(node, value, (digest or entry.get("default_digest", "sha256")), name)

    def _bcrypt(self, node: ast.AST, rounds: int, name: str) -> None:
        minimum = self.option("min-bcrypt-rounds")
        if rounds < minimum:
            self.report(node, f"bcrypt cost {rounds} in `{name}` is below {minimum}: each step down "
                        "halves an attacker's work; use the default (12) or more",
                        confidence=self._base_confidence())

    def _scrypt(self, node: ast.AST, n: int, name: str) -> None:
        minimum = self.option("min-scrypt-n")
        if n < minimum:
            self.report(node, f"scrypt n={n} in `{name}` is below {minimum} (2^{minimum.bit_length() - 1}, "
                        "OWASP's minimum with r=8, p=1)", confidence=self._base_confidence())

    def _pbkdf2(self, node: ast.AST, iterations: int, digest: str, name: str) -> None:
        digest = digest.lower().replace("-", "").replace("_", "")
        factor = _kb()["pbkdf2"].get(digest, 1.0)
        minimum = int(round(self.option("min-pbkdf2-iterations") * factor, -4))
        if iterations < minimum:
            self.report(node, f"PBKDF2-{digest.upper()} with {iterations:,} iterations in `{name}` is "
                        f"below {minimum:,} (OWASP): raise the iteration count or use argon2id",
                        confidence=self._base_confidence())

    def _argon2(self, node: ast.AST, time_cost: int, memory: int, name: str) -> None:
        min_m, min_t = self.option("min-argon2-memory-kib"), self.option("min-argon2-time-cost")
        if memory >= min_m and time_cost >= min_t:
            return
        for m, t in ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)):
            if m >= min_m * 0.36 and memory >= m and time_cost >= t and m * t >= min_m * min_t * 0.9:
                return
        self.report(node, f"argon2 with memory_cost={memory} KiB and time_cost={time_cost} in "
                    f"`{name}` is below OWASP's minimum (m={min_m} KiB with t={min_t}, or an "
                    "equivalent pair)", confidence=self._base_confidence())

    def _passlib(self, node: ast.Call, qual: str) -> None:
        kb = _kb()
        parts = qual.split(".")
        if qual.endswith("CryptContext") or qual == "passlib.context.CryptContext":
            self._crypt_context(node)
            return
        if len(parts) >= 3 and parts[-2] in kb["weak_schemes"] and parts[-1] in _HASHER_METHODS:
            self.report(node, f"passlib's `{parts[-2]}` is not a password hash fit for storage "
                        "(fast, unsalted or broken): use `bcrypt`, `argon2` or `pbkdf2_sha256` "
                        "through a CryptContext", confidence=self._library_confidence(qual))
            return
        if len(parts) >= 3 and parts[-1] == "using":
            scheme = parts[-2]
            rounds = self._int(calls.keyword(node, "rounds"))
            if rounds is None:
                memory = self._int(calls.keyword(node, "memory_cost"))
                if scheme == "argon2" and memory is not None:
                    self._argon2(node, self._int(calls.keyword(node, "time_cost", "rounds")) or 3,
                                 memory, f"{scheme}.using")
                return
            self._scheme_rounds(node, scheme, rounds, f"{scheme}.using")

    def _scheme_rounds(self, node: ast.AST, scheme: str, rounds: int, name: str) -> None:
        if scheme in ("bcrypt", "bcrypt_sha256"):
            self._bcrypt(node, rounds, name)
        elif scheme.startswith("pbkdf2_"):
            self._pbkdf2(node, rounds, scheme[len("pbkdf2_"):], name)
        elif scheme == "scrypt":
            self._scrypt(node, 2 ** rounds if rounds < 64 else rounds, name)
        elif scheme == "argon2":
            self._argon2(node, rounds, 65536, name)

    def _crypt_context(self, node: ast.Call) -> None:
        kb = _kb()
        schemes = calls.constant(calls.argument(node, 0, "schemes"))
        default = calls.str_constant(calls.keyword(node, "default"))
        if isinstance(schemes, str):
            schemes = [s.strip() for s in schemes.split(",")]
        if isinstance(schemes, (list, tuple)) and schemes:
            first = default or schemes[0]
            if isinstance(first, str) and first in kb["weak_schemes"]:
                self.report(node, f"the CryptContext's default scheme `{first}` is not a password "
                            "hash fit for storage: put bcrypt, argon2 or pbkdf2_sha256 first and "
                            "keep weak schemes only as `deprecated`",
                            confidence=self._library_confidence("passlib"))
                return
        for kw in node.keywords:
            if kw.arg and "__" in kw.arg:
                scheme, _, setting = kw.arg.partition("__")
                if setting in ("rounds", "default_rounds", "min_rounds"):
                    value = self._int(kw.value)
                    if value is not None:
                        self._scheme_rounds(kw.value, scheme, value, f"CryptContext {kw.arg}")

    def _werkzeug(self, node: ast.Call) -> None:
        method = calls.str_constant(calls.argument(node, 1, "method"))
        if not method:
            return
        parts = method.split(":")
        if parts[0] in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "plain"):
            self.report(node, f"`generate_password_hash(method=\"{method}\")` stores a fast salted "
                        "hash (or the plain password): use the default (scrypt) or pbkdf2",
                        confidence=self._base_confidence())
        elif parts[0] == "pbkdf2" and len(parts) == 3 and parts[2].isdigit():
            self._pbkdf2(node, int(parts[2]), parts[1], "generate_password_hash")
        elif parts[0] == "scrypt" and len(parts) >= 2 and parts[1].isdigit():
            self._scrypt(node, int(parts[1]), "generate_password_hash")

    # -- settings and hasher classes ---------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            name = calls.dotted(target)
            if name.endswith("PASSWORD_HASHERS"):
                self._django_hashers(node)
            elif name == "iterations" and self._in_pbkdf2_hasher():
                value = _int_value(node.value)
                if value is not None:
                    cls = next(n for n in reversed(self.file.ancestors) if isinstance(n, ast.ClassDef))
                    digest = "sha1" if "SHA1" in " ".join(calls.dotted(b) for b in cls.bases) else "sha256"
                    conf_before = self._base_confidence
                    self._base_confidence = lambda: Confidence.HIGH  # type: ignore[method-assign]
                    try:
                        self._pbkdf2(node, value, digest, f"{cls.name}.iterations")
                    finally:
                        self._base_confidence = conf_before  # type: ignore[method-assign]
            elif name == "rounds" and self._in_hasher_base("BCryptSHA256PasswordHasher", "BCryptPasswordHasher"):
                value = _int_value(node.value)
                if value is not None:
                    self._bcrypt(node, value, "rounds")

    def _in_pbkdf2_hasher(self) -> bool:
        return self._in_hasher_base("PBKDF2PasswordHasher", "PBKDF2SHA1PasswordHasher")

    def _in_hasher_base(self, *bases: str) -> bool:
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if not isinstance(parent, ast.ClassDef):
            return False
        return any(calls.last_name(b) in bases for b in parent.bases)

    def _django_hashers(self, node: ast.Assign) -> None:
        if is_dev_or_test(self.file.relpath) or re.search(r"(?i)test", self.file.relpath):
            return
        value = node.value
        if not isinstance(value, (ast.List, ast.Tuple)) or not value.elts:
            return
        first = calls.str_constant(value.elts[0])
        if first and first.rsplit(".", 1)[-1] in _kb()["django_weak"]:
            self.report(value.elts[0], f"PASSWORD_HASHERS starts with {first.rsplit('.', 1)[-1]}: "
                        "new passwords are stored with a fast hash; put PBKDF2, Argon2 or "
                        "BCryptSHA256 first", confidence=Confidence.HIGH)


def _constant_data(node: ast.AST | None) -> bool:
    """A literal (`b"p"`, `"password".encode()`): a probe or a test vector."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "encode":
        node = node.func.value
    return isinstance(node, ast.Constant)


def _int_value(node: ast.AST | None) -> int | None:
    """Integer constant arithmetic: `600_000`, `2**17`, `1 << 17`, `16 * 1024`."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp):
        left, right = _int_value(node.left), _int_value(node.right)
        if left is None or right is None:
            return None
        try:
            if isinstance(node.op, ast.Pow) and 0 <= right < 64:
                return left ** right
            if isinstance(node.op, ast.LShift) and 0 <= right < 64:
                return left << right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Add):
                return left + right
        except (OverflowError, ValueError):
            return None
    return None
