"""Recognising HTTP client calls from the `http_clients` knowledge base (BL301, BL302):
module functions and constructors by qualified name, client/session methods by name in
modules that import the library, and attribute assignments that switch TLS
verification off. Nothing is imported or run."""
from __future__ import annotations

import ast
from dataclasses import dataclass

from .. import knowledge
from . import calls


@dataclass(frozen=True)
class ClientApi:
    table: str  # function | method
    entry: dict

    @property
    def library(self) -> str:
        return self.entry.get("library", "")

    @property
    def insecure_keywords(self) -> dict:
        return self.entry.get("insecure_keywords", {})


class HttpKnowledge:
    def __init__(self, base: dict[str, list[dict]]):
        self.functions: dict[str, ClientApi] = {}
        for entry in base.get("function", []):
            for name in entry.get("qualnames", []):
                self.functions[name] = ClientApi("function", entry)
        self.methods: dict[str, list[ClientApi]] = {}
        for entry in base.get("method", []):
            for name in entry.get("names", []):
                self.methods.setdefault(name, []).append(ClientApi("method", entry))
        self.attributes: dict[str, list[dict]] = {}
        for entry in base.get("insecure_attribute", []):
            self.attributes.setdefault(entry["attribute"], []).append(entry)
        self.libraries = sorted({e.get("library", "") for table in base.values() for e in table})


@knowledge.cached
def http_knowledge() -> HttpKnowledge:
    return HttpKnowledge(knowledge.load("http_clients"))


def imports_module(file, prefixes) -> bool:
    """Does the module import any of `prefixes` (a module or a name from it)?"""
    for target in file.names.aliases.values():
        for prefix in prefixes:
            if target == prefix or target.startswith(prefix + "."):
                return True
    return False


def _receiver_is_module(file, receiver: ast.AST) -> bool:
    """`json.get(...)`: the receiver is an imported module or a name from one, not an object
    we could be talking about (a client bound in the code is a plain local name)."""
    head = receiver
    while isinstance(head, ast.Attribute):
        head = head.value
    if not isinstance(head, ast.Name):
        return False
    if not file.names.is_imported(head.id):
        return False
    target = file.names.aliases[head.id]
    # `from flask import request`, `import json`: a module-level object of a library.
    # Client classes constructed in place (`httpx.AsyncClient().get`) are calls, not names.
    return isinstance(receiver, (ast.Name, ast.Attribute)) and bool(target)


def classify_call(file, call: ast.Call) -> ClientApi | None:
    """The client API `call` uses, or None (the first candidate when a method name could
    belong to several imported libraries)."""
    found = candidates(file, call)
    return found[0] if found else None


def candidates(file, call: ast.Call) -> list[ClientApi]:
    """Every client API `call` may be: one for a known function, possibly several for a
    method (`session.get` in a module importing both requests and aiohttp)."""
    kb = http_knowledge()
    name = file.qualname(call.func)
    if name is not None and name in kb.functions:
        return [kb.functions[name]]
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in kb.methods:
        return []
    receiver = func.value
    if _receiver_is_module(file, receiver):
        return []
    if isinstance(receiver, ast.Call):
        # `requests.Session().get(...)`, `AsyncHTTPClient().fetch(...)`
        built = file.qualname(receiver.func) or ""
        return [api for api in kb.methods[func.attr]
                if any(built == p or built.startswith(p + ".") for p in api.entry.get("imports", []))]
    if _not_a_client(file, receiver):
        return []
    return [api for api in kb.methods[func.attr] if imports_module(file, api.entry.get("imports", []))]


# Receivers that are mappings in practice (`data.get(...)`, `request.headers.get(...)`).
_CONTAINER_NAMES = frozenset({
    "dict", "data", "params", "kwargs", "headers", "config", "conf", "settings", "options",
    "environ", "env", "cache", "args", "form", "json", "query", "meta", "cookies", "values",
    "payload", "body", "context", "ctx", "result", "response", "resp", "row", "record",
    "item", "items", "mapping", "defaults", "extra", "attrs", "fields", "GET", "POST", "META",
    "FILES", "query_params", "path_params", "state", "store", "registry", "cfg", "opts",
})
_CONTAINER_VALUES = (ast.Dict, ast.List, ast.Set, ast.Tuple, ast.Constant, ast.DictComp,
                     ast.ListComp, ast.SetComp, ast.JoinedStr)


def _not_a_client(file, receiver: ast.AST) -> bool:
    """The receiver is visibly not an HTTP client: a mapping by name, or a name bound to a
    literal / comprehension / `dict(...)` in this function or module."""
    if calls.last_name(receiver) in _CONTAINER_NAMES:
        return True
    if isinstance(receiver, ast.Name):
        scope = file.enclosing_function() if file.ancestors else None
        value = calls.bound_value(file.tree, receiver.id, scope)
        if isinstance(value, _CONTAINER_VALUES):
            return True
        if isinstance(value, ast.Call) and (file.qualname(value.func) or "") in (
                "dict", "list", "json.loads", "collections.OrderedDict", "collections.defaultdict",
                "os.environ.copy"):
            return True
    return False


def url_argument(api: ClientApi, call: ast.Call) -> ast.expr | None:
    entry = api.entry
    position = entry.get("url_argument")
    return calls.argument(call, position, *entry.get("url_keywords", []))


def insecure_keyword(api: ClientApi, call: ast.Call) -> tuple[str, ast.expr] | None:
    """(keyword, value node) of a keyword argument that disables verification."""
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in api.insecure_keywords:
            continue
        bad = api.insecure_keywords[kw.arg]
        if _matches(kw.value, bad):
            return kw.arg, kw.value
    return None


def _matches(node: ast.AST, bad) -> bool:
    if isinstance(bad, bool):
        value = calls.constant(node)
        if bad is False:
            return value is False or (type(value) is int and value == 0)
        return value is True or (type(value) is int and value == 1)
    if isinstance(bad, str):
        value = calls.constant(node)
        if value == bad:
            return True
        # ssl.CERT_NONE / CERT_NONE (a name or attribute spelling the constant)
        return calls.last_name(node) == bad
    return False


def insecure_assignment(file, target: ast.AST, value: ast.AST) -> dict | None:
    """The `insecure_attribute` entry an assignment `target = value` matches, or None."""
    if not isinstance(target, ast.Attribute):
        return None
    for entry in http_knowledge().attributes.get(target.attr, []):
        if not _matches(value, entry["value"]):
            continue
        if entry.get("imports") and not imports_module(file, entry["imports"]):
            continue
        return entry
    return None
