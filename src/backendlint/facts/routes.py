"""Route facts: what one Python file says about the web routes of an application.

A file rarely knows a route's full path: a Flask view knows its blueprint, the blueprint
is registered with a prefix in another module, a Django view is reached through a chain
of `include()`s. So each file records what it sees, with references to other objects as
dotted names resolved through its imports (`pkg.api.users.router`), and the route model
(`backendlint.python.routes_model`) joins them once every file is done.

All facts are frozen dataclasses holding tuples, so they can be cached and compared."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Fact

# Every kind of fact the route model reads; project rules over routes `need` these.
ROUTE_KINDS = ("route.decl", "route.router", "route.include", "route.urlpattern",
               "route.view", "route.register", "route.setting", "route.alias",
               "route.body")


@dataclass(frozen=True)
class RouteDecl(Fact):
    """A route declared next to its handler: a Flask/FastAPI decorator, `add_url_rule`,
    `add_api_route`, a Starlette `Route(...)` or a flask-restful `add_resource`.
    `owner` is the app/blueprint/router object (dotted name) or a Starlette route-list
    name; `handler` the dotted name of the view function or class."""

    kind: ClassVar[str] = "route.decl"
    framework: str = ""
    owner: str = ""
    methods: tuple[str, ...] = ()  # empty: take them from a class-based handler
    path: str = ""
    handler: str = ""
    handler_location: object = None  # Location of the handler's `def`/`class`
    decorators: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    status_code: int | None = None
    class_based: bool = False


@dataclass(frozen=True)
class RouterFact(Fact):
    """An application or router object: `Flask(...)`, `Blueprint(...)`, `FastAPI(...)`,
    `APIRouter(...)`, `Starlette(...)`, `Mount(...)`."""

    kind: ClassVar[str] = "route.router"
    ref: str = ""
    framework: str = ""
    constructor: str = ""
    prefix: str = ""
    dependencies: tuple[str, ...] = ()
    is_app: bool = False
    routes_list: str = ""  # Starlette(routes=NAME): the route list it serves


@dataclass(frozen=True)
class IncludeFact(Fact):
    """`parent.register_blueprint(child, url_prefix=...)`, `parent.include_router(child,
    prefix=..., dependencies=[...])`, `parent.mount("/x", child)`, `Mount("/x", routes=L)`."""

    kind: ClassVar[str] = "route.include"
    parent: str = ""
    child: str = ""
    prefix: str | None = None  # None: the child's own prefix stands
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class UrlPatternFact(Fact):
    """One Django `path()`/`re_path()`/`url()` entry of a module's `urlpatterns`, or a
    router's `urls` added to them. `target_kind`: "view" (a function, a class's
    `as_view()`), "include" (a module name), "router" (a DRF router's urls)."""

    kind: ClassVar[str] = "route.urlpattern"
    module: str = ""
    path: str = ""
    target_kind: str = "view"
    target: str = ""
    methods: tuple[str, ...] = ()  # ViewSet.as_view({"get": "list"}) keys
    actions: tuple[str, ...] = ()  # ...and the action names they map to
    decorators: tuple[str, ...] = ()  # login_required(View.as_view())
    nested: tuple[str, ...] = ()  # path prefixes of an include([...]) list, outermost first


@dataclass(frozen=True)
class ViewMethod:
    """A method of a class-based view that handles requests."""

    name: str
    line: int
    decorators: tuple[str, ...] = ()
    action_detail: bool | None = None  # DRF @action(detail=...); None: not an @action
    action_methods: tuple[str, ...] = ()
    action_path: str = ""
    throttle_classes: tuple[str, ...] | None = None
    permission_classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ViewFact(Fact):
    """A candidate view: a class (Django/DRF/Flask MethodView/flask-restful Resource/
    Starlette HTTPEndpoint) or a function taking `request` or decorated with `@api_view`.
    Class attributes that matter to rules are kept; None means "not set here"."""

    kind: ClassVar[str] = "route.view"
    ref: str = ""
    is_class: bool = False
    bases: tuple[str, ...] = ()
    decorators: tuple[str, ...] = ()
    methods: tuple[ViewMethod, ...] = ()
    api_view_methods: tuple[str, ...] | None = None
    require_methods: tuple[str, ...] | None = None  # @require_POST, @require_http_methods
    body_methods: tuple[str, ...] = ()  # request.method == "POST" in the body
    permission_classes: tuple[str, ...] | None = None
    authentication_classes: tuple[str, ...] | None = None
    throttle_classes: tuple[str, ...] | None = None
    pagination_class: str | None = None  # "" when set to None explicitly
    paginate_by: bool = False
    has_queryset: bool = False
    custom_queryset: str = ""  # "", "custom", "single" (filters on a key), "bounded"
    http_method_names: tuple[str, ...] | None = None
    lookup: str = ""


@dataclass(frozen=True)
class RegisterFact(Fact):
    """`router.register(prefix, ViewSet, basename=...)` of Django REST framework."""

    kind: ClassVar[str] = "route.register"
    router: str = ""
    prefix: str = ""
    viewset: str = ""
    trailing_slash: bool = True


@dataclass(frozen=True)
class SettingFact(Fact):
    """App-wide settings: `name` is one of
    - "rate-limit": an app-wide limiter applies to `target` (an app ref, or "*");
    - "auth": every route of `target` requires authentication (`values` says how);
    - "drf:DEFAULT_PERMISSION_CLASSES" / "drf:DEFAULT_THROTTLE_CLASSES" /
      "drf:DEFAULT_PAGINATION_CLASS" / "drf:DEFAULT_AUTHENTICATION_CLASSES";
    - "django:MIDDLEWARE" / "django:INSTALLED_APPS" / "django:ROOT_URLCONF";
    - "before-request-auth": a Flask `before_request` hook of `target` checks login."""

    kind: ClassVar[str] = "route.setting"
    name: str = ""
    target: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class AliasFact(Fact):
    """A module-level name standing for dependencies: `CurrentUser = Annotated[User,
    Depends(get_current_user)]`, or a custom decorator whose body checks login
    (`values` = ("auth",))."""

    kind: ClassVar[str] = "route.alias"
    ref: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class BodyFact(Fact):
    """What a handler's body does that route rules need: authentication or rate limiting
    done inline, a webhook signature check, an unbounded query returned."""

    kind: ClassVar[str] = "route.body"
    ref: str = ""
    auth_inline: bool = False
    limit_inline: bool = False
    signature_check: bool = False
    renders_html: bool = False
    unbounded: str = ""  # description of an unbounded query result returned, "" if none
    unbounded_location: object = None
    paginated: bool = False
