from ...findings import Confidence, Severity
from ...python import routes_model as rm
from ...rule import Option, RuleMeta

DEFAULT_VERBS = ["get", "fetch", "retrieve", "create", "add", "insert", "make", "update",
                 "modify", "delete", "remove", "destroy", "del", "save", "upsert"]
DEFAULT_ALLOWED = ["login", "logout", "signin", "signout", "signup", "register", "search", "health",
                   "healthz", "ping", "token", "refresh", "reset", "password", "set_password",
                   "change_password", "reset_password", "update_password", "forgot_password",
                   "verify", "callback", "webhook", "export", "import", "upload", "download",
                   "get_token", "me", "add_to_cart", "remove_from_cart"]


class VerbInRoutePath(rm.RouteProjectRule):
    """
    ## What it does
    Flags a route whose path names the operation: `/getUsers`, `/users/create`,
    `/delete_user/<id>`, `/orders/updateStatus`. Each literal path segment written at a
    route declaration (decorator, `path()`, router registration, `@action` path) is split
    into words (camelCase, `_`, `-`); the segment is flagged when its first word is a
    CRUD verb (`verbs`). The message shows the route's full path and method.

    Silent for the RPC-style actions users expect: `/login`, `/logout`, `/search`,
    `/health`, `/token/refresh`, `/password/reset` and the other segments of
    `allowed-actions`, for non-CRUD verbs (`/orders/<id>/cancel`, `/publish`), for the
    HTML form conventions `new`, `edit` and `change`, and for path parameters.

    Routes of server-rendered pages (the handler renders a template or redirects, or a
    Django view outside DRF: HTML forms only have GET and POST) and routes not reached
    from an application object or ROOT_URLCONF are reported with medium confidence.

    Code in tests is not checked (its routes are fixtures); in docs and examples findings
    have medium confidence at most.

    ## Why is this bad?
    In a REST API the HTTP method carries the verb and the path names the resource:
    `POST /users`, `DELETE /users/{id}`. Verbs in paths multiply endpoints, hide the
    method's semantics from caches, proxies and clients (is `GET /deleteUser` safe to
    retry or prefetch?) and make the API inconsistent.

    ## Example
    ```python
    @app.post("/users/create")
    def create_user(): ...

    @app.get("/getUsers")
    def get_users(): ...
    ```

    ## Use instead
    ```python
    @app.post("/users")
    def create_user(): ...

    @app.get("/users")
    def list_users(): ...
    ```

    ## Options
    None.

    ## References
    - https://learn.microsoft.com/en-us/azure/architecture/best-practices/api-design
    - https://restfulapi.net/resource-naming/
    """

    meta = RuleMeta(
        id="BL401", name="verb-in-route-path", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A route path names the operation (a verb) instead of letting the HTTP method carry it.",
        tags=("api-design", "rest"),
    )
    options = (
        Option("verbs", list, list(DEFAULT_VERBS), "words that make a path segment a verb when it starts it"),
        Option("allowed-actions", list, list(DEFAULT_ALLOWED),
               "path segments never reported (lowercase, words joined by `_`)"),
    )
    def check_project(self, facts) -> None:
        model = rm.project_model(self, facts)
        verbs = {v.lower() for v in self.option("verbs")}
        allowed = {rm.words_of(a) for a in self.option("allowed-actions")}
        reported: set = set()
        for route in model.routes:
            local = route.local_path
            if route.view_method is not None and route.view_method.action_path:
                local = route.view_method.action_path
            for segment in rm.segments(local):
                if segment in allowed:
                    continue
                first = segment.split("_")[0]
                if first not in verbs:
                    continue
                key = (route.declared_at, segment)
                if key in reported:
                    break
                reported.add(key)
                html = (route.body is not None and route.body.renders_html) or route.framework == "django"
                self.report_at(
                    route.declared_at,
                    f"{', '.join(route.methods)} {route.path}: the path segment "
                    f"`{_original(local, segment)}` names the operation; let the HTTP method carry "
                    f"the verb and the path name the resource",
                    confidence=Confidence.MEDIUM if html or not route.confirmed else None)
                break


def _original(path: str, segment: str) -> str:
    for part in path.split("/"):
        if rm.words_of(part) == segment:
            return part
    return segment

