import ast
import re

from ...findings import Confidence, Severity
from ...python import web_ast as w
from ...rule import RuleMeta
from . import HandlerRule

_ERROR_TEXT = re.compile(r"not found|does not exist|doesn't exist|invalid|error|failed|failure|"
                         r"unauthori[sz]ed|forbidden|denied|missing|is required|are required|"
                         r"not allowed|already exists|bad request|must be|cannot|can't|could not",
                         re.IGNORECASE)
_CLIENT_ERROR_TEXT = re.compile(r"not found|does not exist|invalid|missing|is required|are required|"
                                r"must be|already exists|bad request|not allowed|validation",
                                re.IGNORECASE)
_PERMISSION_TEST = re.compile(r"role|admin|is_staff|is_superuser|permission|has_perm|can_|owner|"
                              r"author|allowed|scope|is_member|belongs", re.IGNORECASE)
_AUTH_NAMES = re.compile(r"login_required|jwt_required|auth|token_required|permission|"
                         r"current_user|get_current|IsAuthenticated|roles_required|staff_member",
                         re.IGNORECASE)


class ErrorWithSuccessStatus(HandlerRule):
    """
    ## What it does
    Flags status codes that contradict the response, in route handlers:

    - an error body returned with a success status, explicit (`return {"error": ...}, 200`)
      or the framework's default (`return jsonify(error="...")`, FastAPI
      `return {"error": ...}`, DRF `Response({"errors": ...})`, `JsonResponse(...)`):
      a dict with an `error`/`errors` key, `"success": False`, `"ok": False`,
      `"status": "error"`, a `message`/`detail`/`msg` saying "not found", "invalid",
      "failed"..., or a serializer's or form's `.errors`;
    - a 500 raised or returned for a client error (`abort(500, "User not found")`,
      `HTTPException(status_code=500, detail="invalid email")`);
    - a 401 answered inside a role/ownership/permission check of a handler whose user is
      authenticated (an auth decorator or dependency), where 403 is meant.

    A status given by a variable is unknown and never reported.

    Code in tests is not checked (its routes are fixtures); in docs and examples findings
    have medium confidence at most.

    ## Why is this bad?
    Clients, retries, monitoring and caches read the status, not the body: an error sent
    as 200 is treated as success (and may be cached), a client error sent as 500 pages
    the on-call engineer and invites retries, and 401 tells a logged-in client to log in
    again when it lacks permission (it loops).

    ## Example
    ```python
    @app.get("/users/<int:id>")
    def get_user(id):
        user = db.session.get(User, id)
        if user is None:
            return jsonify({"error": "not found"})
        return jsonify(user.to_dict())
    ```

    ## Use instead
    ```python
        if user is None:
            return jsonify({"error": "not found"}), 404
    ```

    ## Options
    None.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#name-status-codes
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/403
    """

    meta = RuleMeta(
        id="BL403", name="error-with-success-status", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="An error response is sent with a success status (or a client error with 500, or 401 for 403).",
        tags=("api-design", "rest", "status-code"),
        triggers=("error", "success", "message", "detail", "500", "401", "msg"),
    )

    def finish(self) -> None:
        if self.in_tests():
            return
        for handler in w.handlers(self.file):
            self._error_bodies(handler)
            self._server_errors(handler)
            self._unauthorized(handler)

    def _error_bodies(self, handler: w.Handler) -> None:
        default = handler.status_code if handler.framework == "fastapi" else None
        for ret in w.own_returns(handler.func):
            if ret.value is None:
                continue
            response = w.returned_response(ret.value)
            if response.kind != "json" or response.body is None:
                continue
            status = response.status if response.status is not None else default
            if status == w.UNKNOWN or (status is not None and not 200 <= status < 300):
                continue
            why = _error_body(response.body)
            if not why:
                continue
            said = f"status {status}" if status is not None else "the default 200"
            self.report(ret, f"error response ({why}) sent with {said}: send a 4xx/5xx status "
                        f"that says what went wrong")

    def _server_errors(self, handler: w.Handler) -> None:
        for node in w.own_nodes(handler.func):
            status, text = _raised_status(node)
            if status == 500 and text and _CLIENT_ERROR_TEXT.search(text):
                self.report(node, f"500 Internal Server Error for a client error (\"{text[:40]}\"): "
                            f"use 400, 404, 409 or 422")

    def _unauthorized(self, handler: w.Handler) -> None:
        func = handler.func
        names = [w.dotted(d.func if isinstance(d, ast.Call) else d) for d in func.decorator_list]
        if handler.cls is not None:
            names += [w.dotted(b) for b in handler.cls.bases]
            names += [self.file.source_segment(item) for item in handler.cls.body
                      if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id ==
                                                              "permission_classes" for t in item.targets)]
        names += [w.dotted(t.func if isinstance(t, ast.Call) else t) for t in w.param_dependency_nodes(func)]
        if not any(_AUTH_NAMES.search(n or "") for n in names):
            return
        for node in w.own_nodes(func):
            if not isinstance(node, ast.If) or not _PERMISSION_TEST.search(self.file.source_segment(node.test)):
                continue
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    status, _ = _raised_status(inner)
                    if status == 401:
                        self.report(inner, "401 Unauthorized inside a permission check of an "
                                    "authenticated route: the user is known, so answer 403 Forbidden",
                                    confidence=Confidence.MEDIUM)
                        return


def _error_body(body) -> str:
    if isinstance(body, ast.Attribute) and body.attr == "errors" and isinstance(body.value, ast.Name):
        return f"`{body.value.id}.errors`"  # Response(serializer.errors), JsonResponse(form.errors)
    if not isinstance(body, ast.Dict):
        return ""
    for key, value in zip(body.keys, body.values):
        name = w.const_str(key)
        if name is None:
            continue
        lowered = name.lower()
        if lowered in ("error", "errors", "error_message", "error_code"):
            if isinstance(value, ast.Constant) and value.value in (None, False, "", 0):
                continue
            if isinstance(value, (ast.List, ast.Dict)) and not (value.elts if isinstance(value, ast.List)
                                                                 else value.keys):
                continue
            return f'"{name}" key'
        if lowered in ("success", "ok") and isinstance(value, ast.Constant) and value.value is False:
            return f'"{name}": False'
        if lowered == "status" and isinstance(value, ast.Constant) and isinstance(value.value, str) \
                and value.value.lower() in ("error", "fail", "failed", "failure"):
            return f'"status": "{value.value}"'
        if lowered in ("message", "detail", "msg"):
            text = w.const_str(value)
            if text is None and isinstance(value, ast.JoinedStr):
                text = "".join(str(v.value) for v in value.values if isinstance(v, ast.Constant))
            if text and _ERROR_TEXT.search(text):
                return f'{name} "{text[:40]}"'
    return ""


def _raised_status(node) -> tuple[int | None, str]:
    """(status, message) of `abort(code, msg)`, `raise HTTPException(status_code=..., detail=...)`,
    `return body, code`."""
    call = None
    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
        call = node.exc
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
    elif isinstance(node, ast.Return) and node.value is not None:
        response = w.returned_response(node.value)
        if response.status not in (None, w.UNKNOWN):
            text = ""
            if isinstance(response.body, ast.Dict):
                text = " ".join(w.const_str(v) or "" for v in response.body.values)
            elif response.body is not None:
                text = w.const_str(response.body) or ""
            return response.status, text
        return None, ""
    if call is None:
        return None, ""
    name = w.last(w.dotted(call.func))
    if name == "abort":
        status = w.status_value(w.argument(call, 0, "code"))
        text = w.const_str(w.argument(call, 1, "description")) or ""
        return status, text
    if name in ("HTTPException", "StarletteHTTPException"):
        status = w.status_value(w.argument(call, 0, "status_code"))
        text = w.const_str(w.argument(call, 1, "detail")) or ""
        return status, text
    return None, ""
