"""Response shapes of request handlers (for BL406): for each handler, the top-level shape
of every JSON body it returns (dict literal keys, a bare list, or opaque) with its status,
and the errors it raises whose shape the framework defines (FastAPI/Starlette
`HTTPException`). Read once per module in `finish()`, one pass over each function's own
nodes."""
from __future__ import annotations

import ast
from dataclasses import replace

from ..facts.response_shapes import ResponseShapesFact, ShapeReturn
from ..python import web_ast as w
from . import FactExtractor

_RESPONSE_NAMES = {"jsonify", "JSONResponse", "JsonResponse", "Response", "ORJSONResponse",
                   "UJSONResponse", "make_response"}
_FRAMEWORK_ERRORS = {"HTTPException", "StarletteHTTPException"}


class ResponseShapeExtractor(FactExtractor):
    kinds = ("route.shapes",)
    triggers = ("jsonify", "response", "return {", "return [", "httpexception")

    def finish(self) -> None:
        tree = self.file.tree
        if tree is None or w.code_context(self.file.relpath) == "test":
            return
        module = w.module_name(self.file.relpath)
        self._names = None
        handlers = {id(h.func): h for h in w.handlers(self.file)}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node, f"{module}.{node.name}", handlers.get(id(node)))
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self._function(item, f"{module}.{node.name}.{item.name}", handlers.get(id(item)))

    def _function(self, func, ref: str, handler) -> None:
        returns = w.own_returns(func)
        if handler is None and not any(isinstance(r.value, (ast.Call, ast.Dict, ast.Tuple, ast.Name))
                                       for r in returns):
            return  # neither a handler nor a response helper
        assigned: dict[str, list[ast.AST]] = {}
        added_keys: dict[str, list[str]] = {}
        status_attr: dict[str, ast.AST] = {}  # response.status_code = ...
        raises: list[ast.Raise] = []
        html = False
        for node in w.own_nodes(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
                    elif isinstance(target, ast.Attribute) and target.attr in ("status_code", "status") \
                            and isinstance(target.value, ast.Name):
                        status_attr[target.value.id] = node.value
                    elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        key = w.const_str(target.slice)
                        added_keys.setdefault(target.value.id, []).append(key if key is not None else "*")
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
                assigned.setdefault(node.target.id, []).append(node.value or node)
            elif isinstance(node, (ast.For, ast.With, ast.AsyncFor, ast.AsyncWith, ast.comprehension)):
                for target in _targets(node):
                    assigned.setdefault(target, []).extend([node, node])  # not a single value
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.attr in ("update", "setdefault"):
                added_keys.setdefault(node.func.value.id, []).append("*")  # keys unknown: partial
            elif isinstance(node, ast.Raise):
                raises.append(node)
            elif isinstance(node, ast.Call) and w.last(w.dotted(node.func)) in (
                    "render_template", "render", "TemplateResponse", "render_to_response"):
                html = True
        out: list[ShapeReturn] = []
        defaults = _param_defaults(func)
        for ret in returns:
            if ret.value is None:
                continue
            value = ret.value
            if isinstance(value, ast.Name) and len(assigned.get(value.id, ())) == 1 \
                    and _is_response_call(assigned[value.id][0]):
                # response = jsonify(...); response.status_code = 404; return response
                value = assigned[value.id][0]
                response = w.returned_response(value)
                if ret.value.id in status_attr:
                    response.status = w.status_value(status_attr[ret.value.id]) or w.UNKNOWN
            else:
                response = w.returned_response(value)
            if response.kind != "json" and not (response.kind == "other" and isinstance(
                    response.body, (ast.Name, ast.Call))):
                if response.kind == "html":
                    html = True
                continue
            body = response.body
            if isinstance(body, ast.Call) and w.last(w.dotted(body.func)) == "jsonify":
                body = w.returned_response(body).body
            shape = self._shape(ret, body, response.status, assigned, added_keys)
            if response.status == w.UNKNOWN:
                node = status_attr.get(ret.value.id) if isinstance(ret.value, ast.Name) else None
                if isinstance(node, ast.Call) and w.dotted(node.func) == "int" and len(node.args) == 1:
                    node = node.args[0]  # response.status_code = int(status_code)
                shape = replace(shape, status_default=defaults.get(node.id) if isinstance(node, ast.Name)
                                else _default_status(value, defaults))
            out.append(shape)
        framework = handler.framework if handler is not None else w.file_framework(self.file)
        for node in raises:
            call = node.exc
            if isinstance(call, ast.Call) and w.last(w.dotted(call.func)) in _FRAMEWORK_ERRORS \
                    and framework in ("fastapi", ""):
                status = w.status_value(w.argument(call, 0, "status_code"))
                out.append(ShapeReturn(self.file.location(node), "framework", ("detail",),
                                       status=status if status is not None else -1))
        declared = False
        if handler is not None and handler.decorator is not None and handler.decorator.call is not None:
            declared = w.keyword(handler.decorator.call, "response_model") is not None
        if handler is not None and handler.framework == "fastapi" and func.returns is not None:
            declared = True
        if not out or (handler is None and not all(r.shape in ("dict", "list") for r in out)):
            return  # a helper is only worth recording when all its bodies have a known shape
        self.emit(ResponseShapesFact(self.file.location(func), ref=ref, framework=framework,
                                     declared_model=declared, renders_html=html, returns=tuple(out)))

    def _shape(self, ret, body, status, assigned, added_keys) -> ShapeReturn:
        where = (self.file.location(ret),)
        extra: list[str] = []
        if isinstance(body, ast.Name):
            values = assigned.get(body.id, [])
            if len(values) != 1:
                return ShapeReturn(*where, "opaque", status=status)
            extra = added_keys.get(body.id, [])
            body = values[0]
        if isinstance(body, (ast.List, ast.ListComp)):
            return ShapeReturn(*where, "list", status=status)
        if isinstance(body, ast.Dict):
            keys, nested, scalars, partial = [], [], [], "*" in extra
            for key, value in zip(body.keys, body.values):
                if key is None:
                    partial = True
                    continue
                name = w.const_str(key)
                if name is None:
                    partial = True
                    continue
                keys.append(name)
                if isinstance(value, ast.Dict):
                    nested.append(name)
                elif isinstance(value, (ast.Constant, ast.JoinedStr)) and not (
                        isinstance(value, ast.Constant) and value.value is None):
                    scalars.append(name)
            keys += [k for k in extra if k != "*"]
            return ShapeReturn(*where, "dict", tuple(dict.fromkeys(keys)), tuple(nested), tuple(scalars),
                               partial, status)
        callee, call_status = self._callee(body)
        return ShapeReturn(*where, "opaque", status=status, callee=callee, call_status=call_status)

    def _callee(self, body) -> tuple[str, int | None]:
        """`helper(...)` / `module.helper(...)`: the helper's dotted name and a literal
        error status passed to it."""
        if not isinstance(body, ast.Call):
            return "", None
        func = body.func
        if isinstance(func, ast.Attribute):
            head = func.value
            if not (isinstance(head, ast.Name) and self.file.names.is_imported(head.id)):
                return "", None
        elif not isinstance(func, ast.Name):
            return "", None
        if w.last(w.dotted(func)) in _NOT_HELPERS:
            return "", None
        if self._names is None:
            self._names = w.Names(self.file)
        status = None
        named = [k.value for k in body.keywords if k.arg in ("status", "status_code", "code")]
        for arg in list(body.args) + named:
            value = w.status_value(arg) if isinstance(arg, (ast.Constant, ast.Attribute)) else None
            if value is not None and 400 <= value <= 599:
                status = value
                break
        return self._names.ref(func), status


_NOT_HELPERS = {"dict", "list", "len", "str", "int", "sorted", "tuple", "set", "float", "bool",
                "jsonify", "Response", "JSONResponse", "JsonResponse", "make_response"}


def _is_response_call(value) -> bool:
    if isinstance(value, ast.Tuple) and value.elts:
        value = value.elts[0]
    return isinstance(value, ast.Call) and w.last(w.dotted(value.func)) in _RESPONSE_NAMES


def _targets(node) -> list[str]:
    if isinstance(node, (ast.With, ast.AsyncWith)):
        items = [i.optional_vars for i in node.items if i.optional_vars is not None]
    else:
        items = [node.target]
    names = []
    for item in items:
        for sub in [item] + (list(item.elts) if isinstance(item, ast.Tuple) else []):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _param_defaults(func) -> dict[str, int]:
    """Parameters with a literal status default: `def ok(data, status=200)`."""
    args = func.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    out = {}
    for arg, default in pairs:
        value = w.status_value(default)
        if value is not None:
            out[arg.arg] = value
    return out


def _default_status(value, defaults) -> int | None:
    """A status given by a parameter keeps UNKNOWN unless the parameter has a literal
    default; helpers are usually called without it for their success case."""
    node = None
    if isinstance(value, ast.Tuple) and len(value.elts) > 1:
        node = value.elts[1]
    elif isinstance(value, ast.Call):
        node = w.keyword(value, "status") or w.keyword(value, "status_code")
    if isinstance(node, ast.Name) and node.id in defaults:
        return defaults[node.id]
    return None
