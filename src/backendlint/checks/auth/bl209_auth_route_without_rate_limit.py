import re

from ...findings import Confidence, Severity
from ...python import routes_model as rm
from ...rule import Option, RuleMeta


class AuthRouteWithoutRateLimit(rm.RouteProjectRule):
    """
    ## What it does
    Flags login, sign-in, token, token refresh, password reset, OTP/2FA verification and
    sign-up routes that accept credentials (`POST`, `PUT` or `PATCH`) and have no rate
    limiter. Routes are found by their full path and, failing that, their handler's name
    (`auth-route-patterns`), across Flask, FastAPI/Starlette, Django and Django REST
    framework applications split over any number of modules.

    A route counts as rate limited when any of these applies to it:
    - a limiter decorator: Flask-Limiter or slowapi `@limiter.limit(...)` /
      `@limiter.shared_limit(...)`, django-ratelimit `@ratelimit(...)` (also through
      `method_decorator`), or a project decorator whose body limits the rate;
    - a FastAPI dependency on the route, its routers or the app:
      `Depends(RateLimiter(times=..., seconds=...))` (fastapi-limiter) or any dependency
      named like a limiter;
    - DRF `throttle_classes` on the view or `@action`, or `DEFAULT_THROTTLE_CLASSES`
      in the `REST_FRAMEWORK` settings (unless the view sets `throttle_classes = []`);
    - an app-wide limiter: a `Limiter(...)` created with `default_limits` or
      `application_limits`, or a middleware named like a rate limiter
      (`app.add_middleware(SlowAPIMiddleware)`, `Starlette(middleware=[...])`);
    - brute-force protection in Django settings (django-axes, django-defender);
    - a rate check inside the handler (`is_ratelimited(...)`, `limiter.hit(...)`, a 429).

    Routes declared in tests are ignored; in docs and examples they are reported with
    medium confidence. Routes that already require an authenticated user (registering a device, testing a
    token, an admin sending a reset mail) are not reported, except token refresh and
    OTP/2FA verification, which are guessable whatever the session, and routes behind
    HTTP basic authentication (the password check is the login). Routes matched only by the handler's name are reported with medium
    confidence.

    ## Why is this bad?
    Without a limit, an attacker can try passwords, one-time codes or reset tokens as fast
    as the server answers (credential stuffing, brute force of 6-digit codes), and can
    flood sign-up and password-reset routes that send e-mails or SMS (CWE-307, CWE-770).

    ## Example
    ```python
    @bp.post("/auth/login")
    def login():
        ...
    ```

    ## Use instead
    ```python
    @bp.post("/auth/login")
    @limiter.limit("5 per minute")
    def login():
        ...
    ```
    With FastAPI: `dependencies=[Depends(RateLimiter(times=5, seconds=60))]`; with DRF:
    `throttle_classes = [AnonRateThrottle]` or `DEFAULT_THROTTLE_CLASSES`.

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/307.html
    - https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
    - https://flask-limiter.readthedocs.io/
    - https://www.django-rest-framework.org/api-guide/throttling/
    """

    meta = RuleMeta(
        id="BL209", name="auth-route-without-rate-limit", severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        summary="A login, token, password-reset, OTP or sign-up route has no rate limiter.",
        cwe=(307, 770), tags=("security", "authentication", "rate-limit"),
    )
    options = (
        Option("auth-route-patterns", list, list(rm.DEFAULT_AUTH_ROUTE_PATTERNS),
               "regular expressions for auth routes, matched against the route's path words "
               "(lowercase, `_` between words, parameters dropped) and then its handler's name"),
    )
    def check_project(self, facts) -> None:
        model = rm.project_model(self, facts)
        protection = rm.Protection(model)
        patterns = self.option("auth-route-patterns")
        for route in model.routes:
            if not {"POST", "PUT", "PATCH"} & set(route.methods):
                continue
            pattern, in_path = rm.auth_route_match(route, patterns)
            if not pattern:
                continue
            words = "/".join(rm.segments(route.path)) + " " + rm.words_of(route.handler_name)
            marker = protection.auth(route)
            if marker and marker != "a check in the handler" and "basic" not in marker.lower() and not any("basic" in d.lower() for d in route.decorators) \
                    and not re.search(r"refresh|otp|2fa|mfa|totp|two_?factor", words):
                continue  # a route behind authentication is no target for guessing credentials
            if protection.rate_limit(route):
                continue
            self.report_route(
                route,
                "is an authentication route with "
                "no rate limiter: add one (e.g. `@limiter.limit(\"5/minute\")`, DRF "
                "`throttle_classes`, `Depends(RateLimiter(...))`) or an app-wide limit",
                confidence=None if in_path and route.confirmed else Confidence.MEDIUM)

