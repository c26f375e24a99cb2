from __future__ import annotations

import ast
import ipaddress
import re

from ...findings import Confidence, Severity
from ...python import calls, http_clients
from ...python.settings_modules import (is_dev_or_test, is_django_settings, is_production_path)
from ...rule import Option, PythonRule, RuleMeta

# Names of settings, variables and keyword arguments that hold a service URL.
_URL_NAME = re.compile(r"(^|_)(url|uri|urls|endpoint|endpoints|webhook|webhooks|hook|callback|api|"
                       r"base|host|server|service|gateway|backend)(_|$)", re.IGNORECASE)
# ...and names that hold links for people or identifiers, never fetched by the service.
_NOT_SERVICE = re.compile(r"(^|_)(doc|docs|documentation|help|home|homepage|license|licence|schema|"
                          r"namespace|ns|xmlns|spec|rfc|link|links|icon|logo|image|img|avatar|"
                          r"proxy|proxies|example|sample|pattern|regex|prefix|scheme|"
                          r"source|repo|repository|issue|issues|tracker|changelog|"
                          r"terms|privacy|support|about|website|author|project)(_|s?$)",
                          re.IGNORECASE)
_ENV_GETTERS = ("os.environ.get", "os.getenv", "os.environ.setdefault")
_SCHEMA_HOSTS = ("w3.org", "www.w3.org", "schemas.xmlsoap.org", "schemas.microsoft.com",
                 "json-schema.org", "purl.org", "xmlns.com", "ns.adobe.com",
                 "schemas.android.com", "www.sitemaps.org", "ogp.me", "schema.org",
                 "relaxng.org", "java.sun.com", "xml.org", "docs.oasis-open.org",
                 "www.openarchives.org", "www.opengis.net", "maven.apache.org")
_DOC_DOMAINS = ("example.com", "example.org", "example.net")


class PlaintextHttp(PythonRule):
    """
    ## What it does
    Flags plaintext `http://` URLs to hosts outside the machine or private network:

    - passed to an HTTP client (requests, httpx, aiohttp, urllib, tornado — the calls
      and URL positions are data in `rules/http_clients.toml`), directly or through a
      variable bound once in the same function or module;
    - held in a setting, class attribute or keyword argument named for a service URL
      (`API_BASE_URL`, `webhook_url`, `PAYMENT_ENDPOINT`, `callback_url=`...), also as the
      default of an environment read (`os.environ.get("API_URL", "http://...")`);
    - Django `SECURE_SSL_REDIRECT = False` in a production settings module
      (`settings.py`, `production.py`, `prod*.py`, `live.py`), with medium confidence
      since a proxy in front may do the redirect;
    - Flask-Talisman `force_https=False`.

    It stays silent for `localhost`, `127.0.0.0/8`, `::1`, `0.0.0.0`, link-local
    addresses (cloud metadata services), private networks (`10/8`, `172.16/12`,
    `192.168/16`), single-label host names (`http://web:8000`, a container on the same
    network), the reserved `.local`, `.localhost`, `.test`, `.example`, `.invalid`
    domains and `example.com`, XML namespaces and schema hosts (`www.w3.org`...), names
    that hold documentation or identifiers rather than endpoints (`DOCS_URL`,
    `XMLNS`, `HTTP_PROXY`: proxies are addressed with `http://` even for HTTPS), URLs
    whose host is not a constant (`f"http://{host}/..."`), and test code.

    ## Why is this bad?
    Plain HTTP sends requests and responses, including API keys, session cookies,
    webhook signatures and personal data, readable and changeable by anyone on the
    path (CWE-319). A webhook or service URL in a setting is used on every call.

    ## Example
    ```python
    PAYMENTS_API_URL = "http://payments.example-bank.com/v2"
    requests.post("http://hooks.partner.io/orders", json=order)
    ```

    ## Use instead
    ```python
    PAYMENTS_API_URL = "https://payments.example-bank.com/v2"
    requests.post("https://hooks.partner.io/orders", json=order)
    ```

    ## Options
    `local-domains`: host suffixes treated as local (add `.internal`, `.corp` or your
    service-mesh domain here). `private-networks-are-local`: whether RFC 1918 addresses
    count as local. `ignore-hosts`: hosts never reported. `test-patterns`: path globs of
    test code, which is not checked.

    ## References
    - https://cwe.mitre.org/data/definitions/319.html
    - https://docs.djangoproject.com/en/stable/ref/settings/#secure-ssl-redirect
    - https://github.com/wntrblm/flask-talisman#options
    - https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html
    """

    meta = RuleMeta(
        id="BL302", name="plaintext-http", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A service URL, webhook or HTTP request uses plaintext http:// to a remote host.",
        cwe=(319,), tags=("security", "transport"),
        triggers=("http://", "secure_ssl_redirect", "force_https"),
    )
    options = (
        Option("local-domains", list, [".local", ".localhost", ".test", ".example", ".invalid",
                                       ".home.arpa", "host.docker.internal",
                                       "metadata.google.internal"],
               "Host suffixes treated as local (a leading dot matches subdomains)."),
        Option("private-networks-are-local", bool, True,
               "Treat RFC 1918 private addresses (10/8, 172.16/12, 192.168/16) as local."),
        Option("ignore-hosts", list, [], "Hosts never reported."),
        Option("test-patterns", list, ["test*.py", "*_test.py", "conftest.py", "tests/*",
                                       "test/*", "testing/*", "examples/*", "docs/*"],
               "Path globs of test and example code, which is not checked."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._skip = None
        self._reported_names: set[str] = set()

    def _skipped(self) -> bool:
        if self._skip is None:
            self._skip = is_dev_or_test(self.file.relpath, self.option("test-patterns"))
        return self._skip

    # -- URL judgement -------------------------------------------------------------------

    def _remote_http(self, node: ast.AST | None) -> str | None:
        """The remote host of a plaintext URL `node` evaluates to, or None."""
        if node is None:
            return None
        pieces = calls.string_pieces(node)
        if not pieces or pieces[0] is None:
            return None
        text = ""
        complete = False
        for piece in pieces:
            if piece is None:
                break
            text += piece
        else:
            complete = True
        if not text.lower().startswith("http://"):
            return None
        rest = text[7:]
        match = re.match(r"(\[[^\]]*\]|[^/:?#\[]*)", rest)
        host = match.group(1) if match else ""
        ended = len(host) < len(rest)
        if not host or (not ended and not complete):
            return None  # the host continues into a value we do not know
        if "@" in host:
            host = host.rsplit("@", 1)[1]
        return None if self._is_local(host.lower().strip("[]")) else host

    def _is_local(self, host: str) -> bool:
        if not host or "." not in host and ":" not in host:
            return True  # localhost, single-label names of the local network
        if host in [h.lower() for h in self.option("ignore-hosts")]:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            if address.is_loopback or address.is_link_local or address.is_unspecified:
                return True
            return address.is_private and self.option("private-networks-are-local")
        if host in _SCHEMA_HOSTS or any(host == d or host.endswith("." + d) for d in _DOC_DOMAINS):
            return True
        for suffix in self.option("local-domains"):
            suffix = suffix.lower()
            if suffix.startswith("."):
                if host.endswith(suffix) or host == suffix[1:]:
                    return True
            elif host == suffix or host.endswith("." + suffix):
                return True
        return False

    # -- HTTP clients and keyword arguments ---------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if self._skipped():
            return
        name = self.file.qualname(node.func) or ""
        if name.endswith("Talisman") or (isinstance(node.func, ast.Attribute)
                                         and node.func.attr == "init_app"):
            force = calls.keyword(node, "force_https")
            if force is not None and calls.is_false(force) and http_clients.imports_module(
                    self.file, ("flask_talisman",)):
                self.report(node, "Flask-Talisman with `force_https=False` serves the site over "
                            "plain HTTP too", confidence=Confidence.MEDIUM)
                return
        apis = http_clients.candidates(self.file, node)
        if apis:
            url = http_clients.url_argument(apis[0], node)
            if url is not None:
                if isinstance(url, ast.Name) and url.id in self._reported_names:
                    return
                resolved = calls.resolve(self.file.tree, url, self.file.enclosing_function())
                host = self._remote_http(resolved)
                if host is not None:
                    self.report(node, f"plaintext HTTP request to `{host}`: use https:// so that "
                                "the request and its answer cannot be read or changed on the way")
                    return
        for kw in node.keywords:
            if kw.arg and _URL_NAME.search(kw.arg) and not _NOT_SERVICE.search(kw.arg):
                host = self._remote_http(kw.value)
                if host is not None:
                    self.report(kw.value, f"`{kw.arg}` is a plaintext http:// URL to `{host}`: "
                                "use https://")
                    return

    # -- settings ------------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._assignment(node, target, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node, node.target, node.value)

    def _assignment(self, node: ast.stmt, target: ast.AST, value: ast.AST) -> None:
        if self._skipped():
            return
        name = target.id if isinstance(target, ast.Name) else (
            target.attr if isinstance(target, ast.Attribute) else None)
        if name is None:
            return
        if name == "SECURE_SSL_REDIRECT" and isinstance(target, ast.Name):
            self._ssl_redirect(node, value)
            return
        if not _URL_NAME.search(name) or _NOT_SERVICE.search(name):
            return
        if isinstance(target, ast.Name) and self.file.enclosing_function() is not None:
            return  # a local variable: judged where a client uses it
        host = self._remote_http(value)
        if host is None:
            host = self._remote_http(_env_default(self.file, value))
        if host is None:
            return
        if isinstance(target, ast.Name):
            self._reported_names.add(name)
        self.report(node, f"`{name}` is a plaintext http:// URL to `{host}`: use https://")

    def _ssl_redirect(self, node: ast.stmt, value: ast.AST) -> None:
        if not calls.is_false(value) or self.file.enclosing_function() is not None:
            return
        if not is_production_path(self.file.relpath) or not is_django_settings(self.file):
            return
        self.report(node, "`SECURE_SSL_REDIRECT = False` in production settings: plain HTTP "
                    "requests are served instead of redirected (fine only when a proxy in front "
                    "redirects them)", confidence=Confidence.MEDIUM)


def _env_default(file, value: ast.AST) -> ast.AST | None:
    if isinstance(value, ast.Call):
        name = file.qualname(value.func) or ""
        if name in _ENV_GETTERS:
            return calls.argument(value, 1, "default")
        if calls.has_keyword(value, "default"):
            return calls.keyword(value, "default")
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or) and len(value.values) == 2:
        return value.values[1]  # os.environ.get("URL") or "http://..."
    return None
