from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import calls, http_clients
from ...python.settings_modules import is_dev_or_test
from ...rule import Option, PythonRule, RuleMeta, TextRule

_ENV_NAME = "PYTHONHTTPSVERIFY"
# PYTHONHTTPSVERIFY=0 in .env files, `PYTHONHTTPSVERIFY: "0"` in YAML, `= "0"` in TOML/INI.
_ENV_LINE = re.compile(r"""(?im)^[ \t]*(?:-[ \t]*)?(?:export[ \t]+|ENV[ \t]+)?["']?PYTHONHTTPSVERIFY["']?"""
                       r"""[ \t]*[=:][ \t]*["']?0["']?[ \t]*(?:[#;,].*)?$""")
_CERT_REQS_KEYWORDS = ("cert_reqs", "ssl_cert_reqs")
# An `if` testing a name containing one of these implements a verification option.
_SWITCH_WORDS = ("verif", "ssl", "tls", "insecure", "cert", "secure")


class TlsVerificationDisabled(PythonRule, TextRule):
    """
    ## What it does
    Flags code that switches off TLS certificate verification:

    - `verify=False` on requests and httpx calls, sessions and clients (and boto3
      clients), `session.verify = False`;
    - aiohttp `ssl=False` / `verify_ssl=False` (on `TCPConnector`, `aiohttp.request` and
      session requests), tornado `validate_cert=False`, httplib2
      `disable_ssl_certificate_validation=True`;
    - `ssl._create_unverified_context()` (also installed as the default HTTPS context),
      `ctx.verify_mode = ssl.CERT_NONE`, `ctx.check_hostname = False`;
    - urllib3 / redis `cert_reqs="CERT_NONE"` (or `ssl.CERT_NONE`, redis
      `ssl_cert_reqs="none"`);
    - `PYTHONHTTPSVERIFY=0` set from Python (`os.environ[...]`, `setdefault`, `putenv`)
      or in `.env`, YAML, TOML, INI and JSON configuration files.

    The API knowledge (which calls, which keywords) is data in `rules/http_clients.toml`.
    Method calls such as `session.get(..., verify=False)` are recognised when the module
    imports the client library and the receiver is not an imported module, so
    `jwt.decode(token, verify=False)` or `redis.Redis(ssl=False)` (no TLS at all, which is
    a different question) never match. Only the literal values are judged: a flag read
    from configuration (`verify=settings.VERIFY_TLS`) stays silent.

    Code under an `if` that tests a name about verification (`if not verify:`, `if self.verify_tls:`, `if settings.INSECURE_SSL:`)
    stays silent: that is a library or helper honouring its caller's or its
    configuration's choice (the call that passes `verify=False` is what gets reported).
    Findings in test code and inside other conditional branches have medium confidence.

    ## Why is this bad?
    Without certificate verification, TLS still encrypts but no longer proves who is on
    the other end: anyone on the network path (a hostile Wi-Fi, a compromised proxy, a
    cloud neighbour doing ARP spoofing) can present any certificate and read or change
    every request, including the credentials and tokens in it (CWE-295).
    `check_hostname = False` alone accepts any valid certificate for any host.

    ## Example
    ```python
    requests.get("https://billing.internal.example.com/api", verify=False)

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ```

    ## Use instead
    ```python
    # trust the private CA explicitly instead of trusting everyone
    requests.get("https://billing.internal.example.com/api", verify="/etc/ssl/internal-ca.pem")

    ctx = ssl.create_default_context(cafile="/etc/ssl/internal-ca.pem")
    ```

    ## Options
    `test-patterns`: path globs of test and development code, where findings get medium
    confidence.

    ## References
    - https://cwe.mitre.org/data/definitions/295.html
    - https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification
    - https://www.python-httpx.org/advanced/ssl/
    - https://docs.python.org/3/library/ssl.html#security-considerations
    - https://peps.python.org/pep-0493/
    """

    meta = RuleMeta(
        id="BL301", name="tls-verification-disabled", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="TLS certificate verification is switched off for an HTTP client or SSL context.",
        cwe=(295,), tags=("security", "transport", "tls"),
        triggers=("verify", "ssl", "cert_none", "check_hostname", "validate_cert", "cert_reqs",
                  "pythonhttpsverify", "disable_ssl_certificate_validation"),
    )
    options = (
        Option("test-patterns", list, ["test*.py", "*_test.py", "conftest.py", "tests/*",
                                       "test/*", "testing/*"],
               "Path globs of test code, where findings get medium confidence."),
    )

    # -- Python ------------------------------------------------------------------------

    def _confidence(self) -> Confidence:
        if is_dev_or_test(self.file.relpath, self.option("test-patterns")):
            return Confidence.MEDIUM
        if calls.inside_conditional(self.file.ancestors) is not None:
            return Confidence.MEDIUM
        return Confidence.HIGH

    def _option_switch(self) -> bool:
        return calls.option_switch(self.file.ancestors, _SWITCH_WORDS) is not None

    def visit_Call(self, node: ast.Call) -> None:
        if self._option_switch():
            return
        name = self.file.qualname(node.func) or calls.dotted(node.func)
        for api in http_clients.candidates(self.file, node):
            if api.entry.get("unverified_context"):
                self.report(node, f"`{name}()` makes an SSL context that checks neither the "
                            "certificate nor the host name", confidence=self._confidence())
                return
            bad = http_clients.insecure_keyword(api, node)
            if bad is not None:
                keyword, value = bad
                self.report(node, f"`{keyword}={ast.unparse(value)}` switches off TLS certificate "
                            f"verification for this {api.library} call: pass a CA bundle "
                            "instead", confidence=self._confidence())
                return
        for kw in node.keywords:
            if kw.arg in _CERT_REQS_KEYWORDS and _is_cert_none(self.file, kw.value, kw.arg):
                self.report(node, f"`{kw.arg}={ast.unparse(kw.value)}` accepts any certificate",
                            confidence=self._confidence())
                return
        self._environment_call(node, name)

    def _environment_call(self, node: ast.Call, name: str) -> None:
        if name in ("os.environ.setdefault", "os.putenv", "os.environ.__setitem__"):
            key = calls.str_constant(calls.argument(node, 0))
            value = calls.argument(node, 1)
            if key == _ENV_NAME and _is_zero(value):
                self.report(node, f"{_ENV_NAME}=0 switches off certificate verification for "
                            "every urllib/http.client request of the process",
                            confidence=self._confidence())
        elif name == "os.environ.update":
            pairs = [(kw.arg, kw.value) for kw in node.keywords]
            if node.args and isinstance(node.args[0], ast.Dict):
                pairs += [(calls.str_constant(k), v) for k, v in zip(node.args[0].keys, node.args[0].values)]
            for key, value in pairs:
                if key == _ENV_NAME and _is_zero(value):
                    self.report(node, f"{_ENV_NAME}=0 switches off certificate verification",
                                confidence=self._confidence())

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assignment(node, target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node, node.target, node.value)

    def _assignment(self, node: ast.stmt, target: ast.AST, value: ast.AST) -> None:
        if self._option_switch():
            return
        if isinstance(target, ast.Subscript) and self.file.qualname(target.value) == "os.environ":
            if calls.str_constant(target.slice) == _ENV_NAME and _is_zero(value):
                self.report(node, f"{_ENV_NAME}=0 switches off certificate verification for "
                            "every urllib/http.client request of the process",
                            confidence=self._confidence())
            return
        if isinstance(target, ast.Attribute) and target.attr == "_create_default_https_context":
            if (self.file.qualname(value) or "").endswith("_create_unverified_context"):
                self.report(node, "installs an unverified SSL context as the default for every "
                            "HTTPS request of the process", confidence=self._confidence())
            return
        entry = http_clients.insecure_assignment(self.file, target, value)
        if entry is None:
            return
        if entry["attribute"] == "verify_mode" and not _is_cert_none(self.file, value, "verify_mode"):
            return
        messages = {
            "verify": "`verify = False` on a session switches off certificate verification for "
                      "every request it sends",
            "check_hostname": "`check_hostname = False` accepts a valid certificate for any host",
            "verify_mode": "`verify_mode = CERT_NONE` accepts any certificate",
            "cert_reqs": "`cert_reqs = \"CERT_NONE\"` accepts any certificate",
        }
        self.report(node, messages.get(entry["attribute"], "switches off certificate verification"),
                    confidence=self._confidence())

    # -- configuration files -------------------------------------------------------------

    def check_text(self) -> None:
        text = self.file.text
        if _ENV_NAME.lower() not in text.lower():
            return
        for match in _ENV_LINE.finditer(text):
            start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
            self.report_span(start, match.end(), f"{_ENV_NAME}=0 switches off certificate "
                             "verification for every urllib/http.client request of the process")


def _is_zero(node: ast.AST | None) -> bool:
    value = calls.constant(node)
    return value == "0" or (type(value) is int and value == 0) or value is False


def _is_cert_none(file, node: ast.AST, keyword: str) -> bool:
    name = file.qualname(node) or ""
    if name in ("ssl.CERT_NONE", "CERT_NONE") or name.endswith(".CERT_NONE"):
        return True
    value = calls.constant(node)
    if value == "CERT_NONE":
        return True
    # redis-py: ssl_cert_reqs="none" (or None) means no verification
    return keyword == "ssl_cert_reqs" and (value is None or (isinstance(value, str) and value.lower() == "none"))
