import re
from dataclasses import replace

from ...facts.response_shapes import ResponseShapesFact
from ...facts.routes import ROUTE_KINDS
from ...findings import Confidence, Severity
from ...python import routes_model as rm
from ...rule import Option, RuleMeta

_DEFAULT_CANDIDATES = ["data", "result", "payload", "response"]
_ERROR_KEYS = ("error", "errors", "detail", "message", "msg", "error_message")
_DEFAULT_EXEMPT = [r"health", r"healthz", r"ping", r"ready", r"readiness", r"live", r"liveness",
                   r"status", r"version", r"metrics", r"openapi", r"swagger", r"docs", r"well_known",
                   r"token", r"oauth", r"webhooks?", r"callback"]


class InconsistentResponseEnvelope(rm.RouteProjectRule):
    """
    ## What it does
    Learns the JSON response conventions of each application from its own routes and
    flags the routes that break them:

    - **success envelope**: when most routes wrap their JSON body in one envelope key
      (`{"data": ..., "meta": {...}}`), a route returning a bare list or a dict without
      that key is reported;
    - **error shape**: when most routes that answer errors with a JSON body share one
      shape (`{"error": {"code": ..., "message": ..., "details": ...}}`, or FastAPI's
      `{"detail": ...}` from `HTTPException`), an error body of another shape is reported.

    The heuristic, step by step:
    1. Routes are grouped by application (the Flask/FastAPI app, Django root URLconf
       their blueprints and routers are registered on; routes never registered on an app
       are grouped by framework).
    2. For each handler, only what the syntax shows is counted: a dict literal (also
       through `jsonify(...)`, `JSONResponse(...)`, `Response(...)`, `JsonResponse(...)`,
       `(body, status)` tuples, or a local name assigned once), a list literal or
       comprehension, and the result of a project helper (`return ok(data)`,
       `return api_error("NOT_FOUND", "...", 404)`) whose every return has one such
       shape (its status taken from a literal status argument of the call, else from
       the default of its status parameter). Everything else — a variable of unknown
       shape, `serializer.data`, a model, a `**spread` or `.update()` without the key —
       is *opaque* and is never an outlier. FastAPI handlers with a `response_model` or a return annotation
       are left out (the model defines the shape); so are handlers that render HTML.
    3. Success bodies (no status or 2xx): for each candidate key (`envelope-keys`), the
       handlers whose every known success body contains it are counted. The convention
       is the key followed by at least `min-routes` handlers and at least `min-share` of
       the handlers with a known success body. Keys found next to the envelope key in at
       least half of the enveloped bodies (`meta`, `success`) are part of the envelope:
       a body with one of them and no payload (`{"success": true, "message": "deleted"}`)
       follows it. Bodies with an `error`/`errors` key (that is BL403's business) and
       OAuth token bodies (`access_token`) are not counted.
    4. Error bodies (4xx/5xx): each is summarised by its main key (`error`, `errors`,
       `detail`, `message`, `msg`; else its key set) and whether that key holds an
       object. FastAPI `raise HTTPException(...)` counts as `{"detail": ...}`, the
       framework's shape, and is never reported; so is a `{"detail": ...}` body in a
       FastAPI or DRF handler. The convention is the summary that
       every error body of at least `min-routes` handlers, and `min-share` of the
       handlers with a known error body, follows; a body follows it when it has the
       main key (other keys may come with it: `{"message": ..., "errors": {...}}`
       follows `{"message": ...}`) holding an object or not as the convention does
       (unknown values match either). Error handlers (`@app.errorhandler`) are not
       routes and are not checked.
    5. Routes whose path matches `exempt-paths` (health checks, metrics, OAuth token,
       webhooks...) are neither counted nor reported.

    With `success-envelope` or `error-envelope` set, the convention is taken from the
    configuration instead (no learning, high confidence); learned conventions give
    medium confidence. Silent when no convention is evident.

    ## Why is this bad?
    Clients of an API parse every response the same way: one route that returns a bare
    list where all others return `{"data": [...], "meta": {...}}`, or an error as
    `{"message": "..."}` where all others send `{"error": {"code", "message"}}`, breaks
    generic client code, error handling and pagination, and shows up as a bug only at
    run time.

    ## Example
    ```python
    @bp.get("/orders")
    def list_orders():
        return jsonify(data=orders, meta={"page": page, "total": total})

    @bp.get("/customers")
    def list_customers():
        return jsonify([c.to_dict() for c in customers])   # a bare list
    ```

    ## Use instead
    ```python
    @bp.get("/customers")
    def list_customers():
        return jsonify(data=[c.to_dict() for c in customers], meta={"total": len(customers)})
    ```

    ## Options
    - `success-envelope` (list, default `[]`): the keys every success body must have,
      e.g. `["data"]`; empty: learn the convention from the application.
    - `error-envelope` (list, default `[]`): the key every error body must have, e.g.
      `["error"]`; empty: learn it.
    - `envelope-keys` (list): keys that may be learned as a success envelope.
    - `min-share` (number, default 0.7): the share of handlers that must follow a learned
      convention.
    - `min-routes` (integer, default 4): the number of handlers that must follow it.
    - `exempt-paths` (list): regular expressions matched against the route's path words;
      matching routes are ignored.

    ```toml
    [tool.backendlint.rules.BL406]
    success-envelope = ["data"]
    error-envelope = ["error"]
    ```

    ## References
    - https://jsonapi.org/format/#document-top-level
    - https://google.github.io/styleguide/jsoncstyleguide.xml
    - https://www.rfc-editor.org/rfc/rfc9457
    """

    meta = RuleMeta(
        id="BL406", name="inconsistent-response-envelope", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A route's JSON body (success or error) does not follow the envelope the app's "
                "other routes use.",
        tags=("api-design", "consistency"),
    )
    needs = ROUTE_KINDS + ("route.shapes",)
    options = (
        Option("success-envelope", list, [], "keys every success body must have (empty: learn)"),
        Option("error-envelope", list, [], "keys every error body must have (empty: learn)"),
        Option("envelope-keys", list, list(_DEFAULT_CANDIDATES),
               "keys that can be learned as a success envelope"),
        Option("min-share", float, 0.7, "share of handlers that must follow a learned convention"),
        Option("min-routes", int, 4, "number of handlers that must follow a learned convention"),
        Option("exempt-paths", list, list(_DEFAULT_EXEMPT),
               "regular expressions for path words of routes to ignore"),
    )

    def check_project(self, facts) -> None:
        model = rm.project_model(self, facts)
        shapes: dict[str, ResponseShapesFact] = {}
        for fact in facts.of(ResponseShapesFact):
            shapes.setdefault(fact.ref, fact)
        if not shapes:
            return
        names = rm.Resolver(shapes)
        shapes = {ref: _expand(fact, shapes, names) for ref, fact in shapes.items()}
        exempt = [re.compile(rf"(?<![a-z0-9])(?:{p})(?![a-z0-9])") for p in self.option("exempt-paths")]
        groups: dict[str, dict[str, tuple]] = {}
        for route in model.routes:
            key = names.find(route.handler)
            if key is None:
                continue
            words = "/".join(rm.segments(route.path))
            if any(p.search(words) for p in exempt):
                continue
            group = route.app if route.confirmed else f"?{route.framework}"
            groups.setdefault(group, {}).setdefault(key, (route, shapes[key]))
        self._reported: set = set()
        for handlers in groups.values():
            self._success(list(handlers.values()))
            self._errors(list(handlers.values()))

    def _report(self, route, location, message, confidence) -> None:
        if location in self._reported:
            return  # a handler served by two apps: once
        self._reported.add(location)
        if not route.confirmed:
            confidence = Confidence.MEDIUM
        self.report_at(location, message, confidence=confidence)

    # -- success bodies -----------------------------------------------------------------

    def _success(self, handlers) -> None:
        candidates = set(self.option("envelope-keys")) | set(self.option("success-envelope"))
        known = []
        for route, fact in handlers:
            if fact.declared_model or fact.renders_html:
                continue
            bodies = [r for r in fact.returns if r.shape in ("dict", "list") and _success_status(r.status)
                      and not (r.shape == "dict" and (set(r.keys) & {"error", "errors", "access_token"}))
                      and not (r.partial and not set(r.keys) & candidates)]
            if bodies:
                known.append((route, bodies))
        configured = self.option("success-envelope")
        if configured:
            envelope, follow, confidence = tuple(configured), None, None
        else:
            envelope, follow = self._learn_envelope(known)
            confidence = Confidence.MEDIUM
            if not envelope:
                return
        keys = set(envelope)
        siblings = set() if configured else _siblings(known, envelope[0])
        for route, bodies in known:
            for body in bodies:
                if body.shape == "dict" and (keys <= set(body.keys) or body.partial
                                             or set(body.keys) & siblings):
                    continue  # enveloped, or the envelope without its payload ({"meta": ...})
                what = "a bare list" if body.shape == "list" else (
                    f"an object with keys {_keys(body.keys)}" if body.keys else "an empty object")
                shape = ", ".join(f'"{k}": ...' for k in tuple(envelope) + tuple(sorted(siblings)))
                how = (f"{follow} of {len(known)} routes of this app with a known JSON body wrap it in "
                       f"{{{shape}}}") if follow else f"the configured success envelope is {{{shape}}}"
                self._report(route, body.location, f"{_route(route)} returns {what}: {how}; use the "
                             f"same envelope", confidence)

    def _learn_envelope(self, known):
        """The candidate key whose every known body contains it in the most handlers,
        when enough handlers use the envelope (the key, or keys that come with it)."""
        if not known:
            return (), 0
        best, best_count = None, 0
        for candidate in self.option("envelope-keys"):
            count = sum(1 for _, bodies in known
                        if all(b.shape == "dict" and candidate in b.keys for b in bodies))
            if count > best_count:
                best, best_count = candidate, count
        if best is None or best_count < self.option("min-routes"):
            return (), 0
        keys = {best} | _siblings(known, best)
        using = sum(1 for _, bodies in known if all(b.shape == "dict" and keys & set(b.keys) for b in bodies))
        if using / len(known) < self.option("min-share"):
            return (), 0
        return (best,), using

    # -- error bodies -------------------------------------------------------------------

    def _errors(self, handlers) -> None:
        known = []
        for route, fact in handlers:
            if fact.renders_html:
                continue
            bodies = [r for r in fact.returns if r.status is not None and r.status >= 400
                      and (r.shape == "framework" or (r.shape == "dict" and not r.partial and r.keys))]
            if fact.framework in ("fastapi", "drf"):
                # {"detail": ...} is the framework's own error shape (HTTPException, APIException)
                bodies = [replace(r, shape="framework") if r.shape == "dict" and r.keys == ("detail",)
                          else r for r in bodies]
            if bodies:
                known.append((route, bodies))
        configured = self.option("error-envelope")
        if configured:
            keys = set(configured)
            for route, bodies in known:
                for body in bodies:
                    if body.shape == "dict" and not keys <= set(body.keys):
                        shape = ", ".join(f'"{k}": ...' for k in configured)
                        self._report(route, body.location, f"{_route(route)} answers {body.status} with "
                                     f"{_describe(body)}: the configured error shape is {{{shape}}}", None)
            return
        every = {_signature(b) for _, bodies in known for b in bodies}
        definite = {c for c in every if c[-1] is not None}
        loose = {(c[0], None) for c in every if c[-1] != "*"}
        voters = len(known)
        best, follow = None, 0
        # the most specific shape first ({"error": {...}}), else the main key alone
        for candidates in (definite, loose):
            best, follow = None, 0
            for sig in sorted(candidates, key=repr):
                count = sum(1 for _, bodies in known if all(_follows(b, sig) for b in bodies))
                if count > follow:
                    best, follow = sig, count
            if best is not None and follow >= self.option("min-routes") \
                    and follow / voters >= self.option("min-share"):
                break
        else:
            return
        for route, bodies in known:
            for body in bodies:
                if body.shape == "framework" or _follows(body, best):
                    continue
                self._report(route, body.location, f"{_route(route)} answers {body.status} with "
                             f"{_describe(body)}: {follow} of {voters} routes of this app with a JSON "
                             f"error body use {_sig_text(best)}; use the same error shape",
                             Confidence.MEDIUM)


def _follows(body, sig) -> bool:
    """Does an error body have the shape `sig` (its main key, holding an object or not)?"""
    if sig[-1] == "*":
        return body.shape == "dict" and tuple(sorted(body.keys)) == sig[:-1]
    key, nested = sig
    if body.shape == "framework":
        return key == "detail"
    if key not in body.keys:
        return False
    mine = True if key in body.nested else False if key in body.scalars else None
    return mine is None or nested is None or mine == nested


def _siblings(known, envelope: str) -> set[str]:
    """Keys that come with the envelope key in at least half of the enveloped bodies."""
    enveloped = [b for _, bodies in known for b in bodies if b.shape == "dict" and envelope in b.keys]
    counts: dict[str, int] = {}
    for body in enveloped:
        for key in set(body.keys) - {envelope}:
            counts[key] = counts.get(key, 0) + 1
    return {k for k, n in counts.items() if n * 2 >= len(enveloped)}


def _expand(fact, shapes, names):
    """Returns of a helper call (`return api_response(data)`, `return error(404, "...")`)
    take the helper's shape when every return of the helper has the same known shape."""
    if not any(r.callee for r in fact.returns):
        return fact
    out = []
    for ret in fact.returns:
        key = names.find(ret.callee) if ret.callee else None
        helper = shapes.get(key) if key and key != fact.ref else None
        shape = _helper_shape(helper, ret) if helper is not None else None
        out.append(shape or ret)
    return replace(fact, returns=tuple(out))


def _helper_shape(helper, ret):
    returns = helper.returns
    if not returns or any(r.shape not in ("dict", "list") or r.partial for r in returns):
        return None
    if len({(r.shape, tuple(sorted(r.keys)), r.nested, r.scalars) for r in returns}) != 1:
        return None
    statuses = {r.status for r in returns}
    if len(statuses) != 1:
        return None
    status = next(iter(statuses))
    if status == -1:  # the helper's status is a parameter: the call's literal, else its default
        defaults = {r.status_default for r in returns}
        status = ret.call_status if ret.call_status is not None else (
            next(iter(defaults)) if len(defaults) == 1 and None not in defaults else -1)
    elif ret.status is not None:
        status = ret.status
    first = returns[0]
    return replace(ret, shape=first.shape, keys=first.keys, nested=first.nested, scalars=first.scalars,
                   status=status, callee="")


def _success_status(status) -> bool:
    return status is None or 200 <= status < 300


def _keys(keys) -> str:
    return "{" + ", ".join(f'"{k}"' for k in keys) + "}"


def _route(route) -> str:
    return f"{', '.join(route.methods)} {route.path}"


def _signature(body) -> tuple:
    if body.shape == "framework":
        return ("detail", False)
    for key in _ERROR_KEYS:
        if key in body.keys:
            return (key, True if key in body.nested else False if key in body.scalars else None)
    return tuple(sorted(body.keys)) + ("*",)


def _sig_text(sig) -> str:
    if sig[-1] == "*":
        return _keys(sig[:-1])
    key, nested = sig
    if sig == ("detail", False):
        return '{"detail": ...} (as FastAPI\'s HTTPException)'
    return f'{{"{key}": {{...}}}}' if nested else f'{{"{key}": ...}}'


def _describe(body) -> str:
    sig = _signature(body)
    if sig[-1] == "*":
        return f"an object with keys {_keys(body.keys)}"
    key, nested = sig
    if nested:
        return f'{{"{key}": {{...}}}}'
    return f'{{"{key}": "..."}}' if nested is False else f'{{"{key}": ...}}'
