import ast
import re

from ...findings import Severity, Confidence
from ...python import web_ast as w
from ...rule import RuleMeta
from . import HandlerRule

_VALIDATING_DECORATORS = {"validate", "use_args", "use_kwargs", "expects_json", "arguments", "input",
                          "accepts", "validate_json", "body", "expect", "validate_request", "schema",
                          "parse_with", "validate_body", "validated", "request_schema", "doc_input"}
_VALIDATING_CALLS = {"load", "loads_schema", "validate", "model_validate", "model_validate_json",
                     "parse_obj", "parse_raw", "is_valid", "validate_on_submit", "from_dict",
                     "structure", "validate_python", "validate_json", "full_clean", "clean",
                     "parse_args", "deserialize", "from_json", "load_json"}
_SCHEMA_NAME = re.compile(r"(Schema|Serializer|Form|In|Create|Update|Request|Payload|Input|DTO|Params|"
                          r"Model|Data|Body|Args|Command|Validator)$")
_CONVERTERS = {"int", "float", "bool", "str", "Decimal", "UUID", "uuid.UUID", "date", "datetime",
               "fromisoformat", "strptime", "parse_date", "parse_datetime", "len", "escape", "bleach",
               "secure_filename", "strip", "lower", "check_password_hash", "generate_password_hash",
               "make_password", "check_password", "authenticate", "hash", "hashpw", "checkpw"}
_SINK_METHODS = {"create", "filter", "filter_by", "get_or_create", "update_or_create", "update",
                 "execute", "insert", "insert_one", "insert_many", "update_one", "update_many",
                 "where", "bulk_create", "find", "find_one", "exclude", "query", "raw"}
_HTTP_CLIENTS = ("requests.", "httpx.", "urllib.request.", "aiohttp.")
_NOT_MODELS = re.compile(r"(Response|Error|Exception|Warning|Redirect|Markup|Path|Template)$")


class UnvalidatedRequestBody(HandlerRule):
    """
    ## What it does
    Flags a Flask or Django handler that reads fields of the request body —
    `request.json`, `request.get_json()`, `request.form`, `request.values`,
    `request.POST`, `json.loads(request.body)` — and passes them (directly or through
    local variables) to a query, a model or an outside call with no schema in between:
    a model constructor (`User(**data)`, `Post(title=form["title"])`), a query
    (`.objects.create/filter/update`, `.filter_by`, `execute`, `insert_one`...), or an
    HTTP client (`requests.post(..., json=data)`).

    A handler is taken as validated, and not reported, when it uses any schema: a
    validating decorator (flask-pydantic `@validate`, webargs `@use_args`/`@use_kwargs`,
    flask-smorest `@arguments`, `@expects_json`...), a marshmallow `load`, pydantic
    `model_validate`/`parse_obj` or a model named like a schema (`UserCreate(**data)`),
    a DRF serializer or a WTForms/Django form (`is_valid()`, `validate_on_submit()`),
    `from_dict`/cattrs `structure`. Values converted on the way (`int(...)`,
    `Decimal(...)`, password hashing) count as checked. FastAPI handlers are never
    reported: parameters typed with pydantic models are validated by the framework.

    Code in tests is not checked (its routes are fixtures); in docs and examples findings
    have medium confidence at most.

    ## Why is this bad?
    Unvalidated fields reach the database and other services with any type, size or
    shape the client chose: mass assignment (`User(**request.json)` sets `is_admin`),
    type confusion in queries (a dict where a string was expected), oversized values,
    and unclear 500 errors instead of a 400 that says which field is wrong (CWE-20,
    CWE-915).

    ## Example
    ```python
    @bp.post("/users")
    def create_user():
        user = User(**request.get_json())
        db.session.add(user)
    ```

    ## Use instead
    ```python
    @bp.post("/users")
    def create_user():
        data = UserSchema().load(request.get_json())
        user = User(**data)
    ```

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/20.html
    - https://cwe.mitre.org/data/definitions/915.html
    - https://cheatsheetseries.owasp.org/cheatsheets/Input_Validation_Cheat_Sheet.html
    """

    meta = RuleMeta(
        id="BL405", name="unvalidated-request-body", severity=Severity.LOW,
        confidence=Confidence.MEDIUM,
        summary="Request body fields reach a query, model or outside call without a schema.",
        cwe=(20, 915), tags=("api-design", "validation"),
        triggers=("request.json", "get_json", "request.form", "request.post", "request.body",
                  "request.values"),
    )

    def finish(self) -> None:
        if self.in_tests():
            return
        for handler in w.handlers(self.file):
            if handler.framework not in ("flask", "django"):
                continue
            self._check(handler)

    def _check(self, handler: w.Handler) -> None:
        try:
            self._check_handler(handler)
        except RecursionError:  # generated, very deep expressions: give up on this handler
            return

    def _check_handler(self, handler: w.Handler) -> None:
        func = handler.func
        for dec in func.decorator_list:
            if w.last(w.dotted(dec.func if isinstance(dec, ast.Call) else dec)) in _VALIDATING_DECORATORS:
                return
        nodes = list(w.own_nodes(func))
        for node in nodes:
            if isinstance(node, ast.Call):
                name = w.last(w.dotted(node.func))
                if name in _VALIDATING_CALLS or (name[:1].isupper() and _SCHEMA_NAME.search(name)
                                                 and _SCHEMA_NAME.search(name).group(1) in
                                                 ("Schema", "Serializer", "Form", "Validator")):
                    return
        tainted: set[str] = set()
        source = ""
        for _ in range(2):  # two passes settle simple chains of assignments
            for node in nodes:
                targets = []
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    targets, value = [node.target], node.value
                else:
                    continue
                found = _taint(value, tainted)
                if found:
                    source = source or found
                    for target in targets:
                        for name in ast.walk(target):
                            if isinstance(name, ast.Name):
                                tainted.add(name.id)
        for node in sorted((n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
            sink = self._sink_kind(node)
            if not sink:
                continue
            args = list(node.args) + [k.value for k in node.keywords]
            found = next((f for f in (_taint(a, tainted) for a in args) if f), "")
            if found:
                self.report(node, f"request body fields ({source or found}) reach {sink} with no "
                            f"schema validation: parse them with a schema (pydantic, marshmallow, "
                            f"a form or serializer) first")
                return

    def _sink_kind(self, call: ast.Call) -> str:
        dotted = w.dotted(call.func)
        name = w.last(dotted)
        resolved = self.file.qualname(call.func) or dotted
        if any(resolved.startswith(p) for p in _HTTP_CLIENTS):
            return f"`{dotted}(...)`"
        if isinstance(call.func, ast.Attribute) and name in _SINK_METHODS:
            return f"`{dotted}(...)`"
        if name[:1].isupper() and not _NOT_MODELS.search(name) and name not in _CONVERTERS \
                and not _SCHEMA_NAME.search(name):
            return f"the model `{name}(...)`"
        if name[:1].isupper() and _SCHEMA_NAME.search(name) and _SCHEMA_NAME.search(name).group(1) in (
                "Model", "Data"):
            return f"the model `{name}(...)`"
        return ""


def _taint(expr, tainted: set[str]) -> str:
    """The request-body source an expression carries, '' if none. Conversions stop it."""
    if isinstance(expr, ast.Call):
        name = w.last(w.dotted(expr.func))
        if name in _CONVERTERS:
            return ""
        if name == "get_json" or (name == "loads" and "request.body" in w.dotted(expr.args[0] if expr.args else None)):
            return "`request.get_json()`" if name == "get_json" else "`json.loads(request.body)`"
    if isinstance(expr, ast.Attribute):
        text = w.dotted(expr)
        for source in ("request.json", "request.form", "request.values", "request.POST"):
            if text == source or text.endswith("." + source):
                return f"`{source}`"
    if isinstance(expr, ast.Name) and expr.id in tainted:
        return f"`{expr.id}`"
    for child in ast.iter_child_nodes(expr):
        found = _taint(child, tainted)
        if found:
            return found
    return ""
