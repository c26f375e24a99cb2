import re
from collections import Counter

from ...findings import Confidence, Severity
from ...python import routes_model as rm
from ...python.web_ast import MUTATING, code_context
from ...rule import Option, RuleMeta

_WEBHOOK = re.compile(r"(?<![a-z])(web_?hooks?|hooks?|callbacks?|notify|notifications?_callback|ipn|events?_receiver|stripe|github|slack|twilio)(?![a-z])")
DEFAULT_PUBLIC = [r"logout|log_out|sign_?out", r"health|healthz|ping|ready|readiness|liveness|metrics|status",
                  r"contact|newsletter|subscribe|unsubscribe|feedback|csp_report|report_csp|csp",
                  r"search|lookup|preview|validate|calculate|quote|estimate", r"oauth|sso|saml|openid|oidc",
                  r"graphql", r"i18n|set_language|setlang|language"]


class MutatingRouteWithoutAuth(rm.RouteProjectRule):
    """
    ## What it does
    Flags a `POST`, `PUT`, `PATCH` or `DELETE` route with no authentication in an
    application whose other mutating routes use one, and names the convention it
    inferred. The convention is learned from the application itself: at least
    `min-protected` mutating routes, and at least `min-share` of them, carry one of

    - an authentication decorator: `login_required`, `jwt_required`, `permission_required`,
      `staff_member_required`, Flask-HTTPAuth `auth.login_required`, any decorator named
      `*_required` after a login/role/permission/token word, or a project decorator whose
      body checks the user (learned from its definition);
    - a FastAPI dependency on the route, its routers or the app:
      `Depends(get_current_user)`, `Security(...)`, `Annotated` aliases such as
      `CurrentUser`, OAuth2/HTTP bearer/API-key schemes;
    - DRF permission classes other than `AllowAny` on the view or action, or
      `DEFAULT_PERMISSION_CLASSES`; Django mixins (`LoginRequiredMixin`,
      `PermissionRequiredMixin`...); `LoginRequiredMiddleware`;
    - a Flask `before_request` hook on the blueprint or app that checks login;
    - a check inside the handler (`current_user.is_authenticated`, `abort(401)`,
      `PermissionDenied`, `get_jwt_identity()`...), which also silences the route.

    Not reported: authentication routes themselves (the `auth-route-patterns` of BL209),
    routes declared public (`AllowAny`, `permission_classes = []`,
    `@login_not_required`), webhooks and callbacks that verify a signature (HMAC,
    `construct_event`), and routes public by nature (`public-patterns`: logout, health,
    contact forms, newsletter sign-up, search, OAuth callbacks...), and `POST` to a
    `users`/`accounts`/`members` collection, the REST form of sign-up. Routes declared
    in tests are ignored (and do not count for the convention); in docs and examples
    they are reported with medium confidence.

    ## Why is this bad?
    When an application protects its write routes, one that was forgotten lets anyone
    change or delete data (CWE-306, CWE-862). The omission is easy to make when routes are
    spread over many modules and invisible in review.

    ## Example
    ```python
    @bp.post("/posts")
    @login_required
    def create_post(): ...

    @bp.delete("/posts/<int:id>")
    def delete_post(id): ...   # anyone can delete
    ```

    ## Use instead
    ```python
    @bp.delete("/posts/<int:id>")
    @login_required
    def delete_post(id): ...
    ```

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/306.html
    - https://cwe.mitre.org/data/definitions/862.html
    - https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/
    """

    meta = RuleMeta(
        id="BL211", name="mutating-route-without-auth", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A write route has no authentication while the application's other write routes do.",
        cwe=(306, 862), tags=("security", "authentication", "authorization"),
    )
    options = (
        Option("min-protected", int, 2,
               "how many mutating routes must use authentication for the convention to be known"),
        Option("min-share", float, 0.5,
               "the share of mutating routes that must use authentication for the convention to be known"),
        Option("public-patterns", list, list(DEFAULT_PUBLIC),
               "regular expressions for routes public by nature, matched against the path words "
               "and the handler name"),
        Option("auth-route-patterns", list, list(rm.DEFAULT_AUTH_ROUTE_PATTERNS),
               "authentication routes (not reported), as in BL209"),
    )
    def check_project(self, facts) -> None:
        model = rm.project_model(self, facts)
        protection = rm.Protection(model)
        public_res = [re.compile(rf"(?<![a-z0-9])(?:{p})(?![a-z])") for p in self.option("public-patterns")]
        groups: dict[str, list] = {}
        for route in model.routes:
            if MUTATING & set(route.methods) and code_context(route.declared_at.path) != "test":
                groups.setdefault(route.framework if route.framework in ("flask", "fastapi") else "django",
                                  []).append(route)
        for routes in groups.values():
            candidates = []
            for route in routes:
                pattern, _ = rm.auth_route_match(route, self.option("auth-route-patterns"))
                if pattern or protection.public(route):
                    continue
                words = "/".join(rm.segments(route.path)) + " " + rm.words_of(route.handler_name.split(".")[-1])
                if any(r.search(words) for r in public_res):
                    continue
                if "POST" in route.methods and not rm.ends_with_parameter(route.path) and \
                        (rm.segments(route.path) or [""])[-1] in ("users", "accounts", "members"):
                    continue  # POST /users without authentication is how clients sign up
                if _WEBHOOK.search(words) and (route.body is None or route.body.signature_check):
                    continue
                if route.body is not None and route.body.signature_check:
                    continue
                candidates.append((route, protection.auth(route)))
            protected = [marker for _, marker in candidates if marker]
            if len(protected) < self.option("min-protected") or not candidates:
                continue
            share = len(protected) / len(candidates)
            if share < self.option("min-share"):
                continue
            convention, _ = Counter(m for m in protected if m != "a check in the handler").most_common(1)[0] \
                if any(m != "a check in the handler" for m in protected) else ("a check in the handler", 0)
            for route, marker in candidates:
                if marker:
                    continue
                self.report_route(
                    route,
                    f"changes data with no "
                    f"authentication, while {len(protected)} of {len(candidates)} mutating routes "
                    f"of this application use `{convention}`",
                    confidence=Confidence.HIGH if share >= 0.75 and route.confirmed else Confidence.MEDIUM)

