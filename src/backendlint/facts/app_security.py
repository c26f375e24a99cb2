"""Application security facts: what one Python file says about the HTTP security headers
of the web applications in a project (BL305).

Three sorts of things are recorded per file, and joined by the project rule:
- Django settings modules: which header-related settings and middleware they define, and
  which other modules they inherit from through `from .base import *`;
- web application objects created (`Flask(__name__)`, `FastAPI()`, `Starlette()`), and
  applications mounted inside others;
- header protections: libraries (Flask-Talisman, `secure`), middleware classes named for
  headers, and the security header names the code sets itself."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Fact

APP_SECURITY_KINDS = ("appsec.django", "appsec.app", "appsec.mount", "appsec.protection")

# The protections BL305 knows, by short name.
HSTS, CSP, NOSNIFF, CLICKJACKING = "hsts", "csp", "nosniff", "clickjacking"
ALL_HEADERS = (HSTS, CSP, NOSNIFF, CLICKJACKING)


@dataclass(frozen=True)
class MiddlewareOp:
    """One change a settings module makes to `MIDDLEWARE`, in source order: "set" (replace
    the list), "add" (items joined to the inherited list), "remove", or "unknown" (built in
    a way that cannot be read; `items` are the names seen in it anyway)."""

    op: str
    items: tuple[str, ...] = ()
    line: int = 0
    refs: tuple[str, ...] = ()  # module-level lists it joins that this module does not define


@dataclass(frozen=True)
class DjangoSettingsFact(Fact):
    """A module that may be a Django settings module (it assigns Django settings at module
    level, or star-imports another module from a settings path). `settings` maps each
    header-related setting it assigns to "on" or "off" (a literal 0/False/None/empty)."""

    kind: ClassVar[str] = "appsec.django"
    module: str = ""
    names: tuple[str, ...] = ()  # UPPER_CASE names assigned at module level
    settings: tuple[tuple[str, str], ...] = ()
    middleware: tuple[MiddlewareOp, ...] = ()
    star_imports: tuple[tuple[str, bool, int], ...] = ()  # (absolute module, inside try, line)
    lists: tuple[tuple[str, tuple[str, ...]], ...] = ()  # UPPER_CASE lists of strings
    debug_true: bool = False  # `DEBUG = True` at module level
    split_settings: bool = False  # django-split-settings `include(...)`: settings are elsewhere
    dynamic: bool = False  # `exec(...)` or `globals()` handed to a call: more settings may come


@dataclass(frozen=True)
class AppFact(Fact):
    """A web application object created: `framework` is "flask" (Flask, Quart) or
    "fastapi" (FastAPI, Starlette); `ref` is `module.name` of the variable holding it."""

    kind: ClassVar[str] = "appsec.app"
    framework: str = ""
    constructor: str = ""
    ref: str = ""
    in_test: bool = False  # created inside a test function or test class


@dataclass(frozen=True)
class MountFact(Fact):
    """`parent.mount("/path", child)`: the child application is served by the parent, whose
    headers protection covers it."""

    kind: ClassVar[str] = "appsec.mount"
    parent: str = ""
    child: str = ""


@dataclass(frozen=True)
class ProtectionFact(Fact):
    """Something that sets security headers. `source` says what ("flask_talisman",
    "header Strict-Transport-Security", a middleware's dotted name); `headers` the
    protections it gives, or () when only its name is known (the rule classifies the name,
    e.g. a middleware class)."""

    kind: ClassVar[str] = "appsec.protection"
    source: str = ""
    headers: tuple[str, ...] = ()
    name_only: bool = False  # a middleware / extension name, to be classified by the rule
    # A class of the project that sets header names itself: its name says nothing more than
    # the header names seen in it (a `SecurityHeadersMiddleware` setting only nosniff).
    explicit_class: str = ""
