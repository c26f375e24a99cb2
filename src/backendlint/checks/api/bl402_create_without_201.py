import ast
import re

from ...findings import Confidence, Severity
from ...python import web_ast as w
from ...rule import Option, RuleMeta
from . import HandlerRule

_NOT_A_CREATE = re.compile(r"(?<![a-z])(log_?in|sign_?in|token|refresh|auth|search|query|verify|validate|"
                           r"logout|preview|calculate|estimate|check|login|password|reset|webhook|"
                           r"callback|graphql|batch|bulk|import|upload|export|send|notify|ping|test)(?![a-z])")
_CREATE_FUNC = re.compile(r"^(create|insert|add|save|register|new|make)(_|$)")


class CreateWithout201(HandlerRule):
    """
    ## What it does
    Flags a `POST` handler that creates a resource and answers with the default
    `200 OK` (or an explicit 200) instead of `201 Created`:

    - FastAPI: a `@app.post`/`@router.post` route without `status_code=201` (and no
      `response.status_code = 201` in the body);
    - Flask: a `return` of a body (`jsonify(...)`, a dict, an object) without a `201`
      status (`return jsonify(post), 201` is right);
    - DRF / Django: `create()` or `post()` returning `Response(...)` / `JsonResponse(...)`
      without `status=201`.

    "Creates" means the body shows a creation — `Model.objects.create(...)`,
    `serializer.save()`, `session.add(obj)` of an object built there, `obj.save()`,
    a `create_*`/`insert_*` function, `insert_one` — and the response carries the
    created object (it refers to it). Handlers that render templates or redirect,
    auth/token/search/action routes (`/login`, `/search`, `/webhooks/...`) and responses
    with no body are left alone.

    Option `check-delete-body` (off by default) also reports a `DELETE` handler that
    returns a body with 200 where `204 No Content` is the convention; it is off because
    returning the deleted object or a confirmation with 200 is allowed by HTTP and common.

    Code in tests is not checked (its routes are fixtures); in docs and examples findings
    have medium confidence at most.

    ## Why is this bad?
    Clients, SDK generators and API gateways use the status to know what happened: 201
    says a resource was created (and where, with `Location`), 200 says nothing. OpenAPI
    documents generated from the code advertise the wrong status.

    ## Example
    ```python
    @router.post("/items")
    def create_item(item: ItemIn, db: Session = Depends(get_db)):
        obj = Item(**item.model_dump())
        db.add(obj)
        db.commit()
        return obj
    ```

    ## Use instead
    ```python
    @router.post("/items", status_code=201)
    def create_item(item: ItemIn, db: Session = Depends(get_db)):
        ...
    ```

    ## Options
    None.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#name-201-created
    - https://fastapi.tiangolo.com/tutorial/response-status-code/
    """

    meta = RuleMeta(
        id="BL402", name="create-without-201", severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="A POST route that creates a resource answers 200 instead of 201 Created.",
        tags=("api-design", "rest", "status-code"),
        triggers=("post", "create"),
    )
    options = (
        Option("check-delete-body", bool, False,
               "also report DELETE handlers that return a body with 200 instead of 204"),
    )

    def finish(self) -> None:
        if self.in_tests():
            return
        for handler in w.handlers(self.file):
            func = handler.func
            if "POST" in handler.methods and (handler.cls is None or func.name in ("post", "create")):
                self._check_create(handler)
            elif self.option("check-delete-body") and handler.methods == ("DELETE",):
                self._check_delete(handler)

    def _check_create(self, handler: w.Handler) -> None:
        func = handler.func
        words = (handler.path or "") + " " + func.name
        if _NOT_A_CREATE.search(re.sub(r"[-/]", "_", words.lower())):
            return
        created = _created_names(func)
        if not created:
            return
        if any(isinstance(n, ast.Assign) and any(w.dotted(t).endswith("status_code") for t in n.targets)
               for n in w.own_nodes(func)):
            return
        returns = w.own_returns(func)
        if handler.framework == "fastapi" and handler.decorator is not None:
            if handler.status_code is not None:
                return
            for ret in returns:
                if ret.value is None:
                    continue
                response = w.returned_response(ret.value)
                if response.status is not None or response.kind in ("html", "empty"):
                    return
                if _mentions(ret.value, created):
                    self.report(handler.decorator.call,
                                f"POST {handler.path} creates a resource and returns it with the default "
                                f"200: declare `status_code=201` on the route")
                    return
            return
        for ret in returns:
            if ret.value is None:
                continue
            response = w.returned_response(ret.value)
            if response.kind in ("html", "empty") or response.status not in (None, 200):
                continue
            if response.body is None or not _mentions(response.body, created):
                continue
            status = "an explicit 200" if response.status == 200 else "the default 200"
            self.report(ret, f"`{func.name}` creates a resource and answers with {status}: "
                        f"return 201 Created", confidence=None if response.kind == "json" or
                        handler.framework != "flask" else Confidence.MEDIUM)
            return

    def _check_delete(self, handler: w.Handler) -> None:
        for ret in w.own_returns(handler.func):
            if ret.value is None:
                continue
            response = w.returned_response(ret.value)
            if response.kind in ("json", "other") and response.status in (None, 200) and response.body is not None:
                self.report(ret, f"DELETE handler `{handler.func.name}` returns a body with 200: "
                            f"`204 No Content` is the convention", confidence=Confidence.MEDIUM)
                return


def _created_names(func) -> set[str]:
    """Names bound to what the handler creates ('<call>' when a create call is returned
    directly)."""
    constructed: set[str] = set()
    serializers: set[str] = set()
    created: set[str] = set()
    for node in w.own_nodes(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if isinstance(value, ast.Await):
                value = value.value
            if isinstance(value, ast.Call):
                callee = w.last(w.dotted(value.func))
                chain = w.dotted(value.func)
                if callee.endswith("Serializer") or callee.endswith("Form"):
                    serializers.add(name)
                elif callee == "create" and (".objects." in chain + "." or chain.endswith("objects.create")):
                    created.add(name)
                elif callee in ("insert_one", "create", "insert") or _CREATE_FUNC.match(callee):
                    created.add(name)
                elif (callee[:1].isupper() and not callee.endswith(("Response", "Error", "Exception"))) \
                        or callee in ("model_validate", "from_orm", "model_construct", "parse_obj"):
                    constructed.add(name)
    for node in w.own_nodes(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            receiver = node.func.value
            if attr == "save" and isinstance(receiver, ast.Name):
                if receiver.id in serializers or receiver.id in constructed:
                    created.add(receiver.id)
            elif attr in ("add", "add_all") and node.args and isinstance(node.args[0], ast.Name) \
                    and node.args[0].id in constructed:
                created.add(node.args[0].id)
    return created


def _mentions(expr, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))
