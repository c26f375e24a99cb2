"""What the JWT rules (BL205-BL207) share: recognising JWT calls of PyJWT, python-jose and
authlib from the `jwt` knowledge base, rebuilding the claims dict a call signs (a literal,
a dict grown in the same function, a helper of the same module), and evaluating token
lifetimes (`timedelta(...)`, `time.time() + N`, `datetime.utcnow() + ...`, constants)
statically. Nothing is ever run: this is arithmetic on the syntax tree."""
from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field

from functools import lru_cache

from .. import knowledge

MAX_DEPTH = 6
BUDGET = 2000  # evaluation steps per question: generated code must not make it explode
UNRESOLVED = "unresolved"  # library of a `jwt.encode` whose `jwt` is not imported here

# -- the knowledge base ----------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    table: str  # encode | decode | unverified | token_factory | jwt_class | lifetime_argument
    entry: dict

    @property
    def library(self) -> str:
        return self.entry.get("library") or self.entry.get("framework", "")


class JwtKnowledge:
    def __init__(self, base: dict[str, list[dict]]):
        self.base = base
        self.by_qualname: dict[str, Api] = {}
        for table in ("encode", "decode", "unverified", "token_factory", "jwt_class",
                      "lifetime_argument"):
            for entry in base.get(table, []):
                for name in entry.get("qualnames", []):
                    self.by_qualname[name] = Api(table, entry)
        self.settings: dict[str, dict] = {}
        for entry in base.get("lifetime_setting", []):
            for name in entry.get("names", []):
                self.settings[name] = entry

    def first(self, table: str, library: str) -> dict | None:
        for entry in self.base.get(table, []):
            if entry.get("library") == library:
                return entry
        return None


@knowledge.cached
def jwt_knowledge() -> JwtKnowledge:
    """The shipped `jwt` knowledge base, loaded once per process."""
    return JwtKnowledge(knowledge.load("jwt"))


# -- recognising calls -----------------------------------------------------------------


@dataclass
class JwtCall:
    api: Api
    call: ast.Call
    resolved: bool  # False: the library is a guess (no import says which `jwt` this is)

    @property
    def table(self) -> str:
        return self.api.table

    @property
    def library(self) -> str:
        return self.api.library if self.resolved else UNRESOLVED

    def argument(self, position: int | None, keywords) -> ast.expr | None:
        return argument(self.call, position, keywords)


def argument(call: ast.Call, position: int | None, keywords) -> ast.expr | None:
    if isinstance(keywords, str):
        keywords = (keywords,)
    for keyword in call.keywords:
        if keyword.arg in (keywords or ()):
            return keyword.value
    if position is not None and len(call.args) > position:
        if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
            return None
        return call.args[position]
    return None


def classify_call(file, call: ast.Call) -> JwtCall | None:
    """The JWT API `call` uses, or None."""
    kb = jwt_knowledge()
    name = file.qualname(call.func)
    if name is not None and name in kb.by_qualname and file.names.is_imported(_head(call.func)):
        return JwtCall(kb.by_qualname[name], call, True)
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in ("encode", "decode"):
        return None
    receiver = func.value
    # An authlib JsonWebToken instance bound to a name of this module or function.
    if isinstance(receiver, ast.Name):
        bound = _instance_class(file, receiver.id)
        if bound is not None:
            entry = kb.first(func.attr, bound.library)
            if entry is not None:
                return JwtCall(Api(func.attr, entry), call, True)
        if receiver.id == "jwt" and not file.names.is_imported("jwt"):
            return _unresolved(func.attr, call)
    elif isinstance(receiver, ast.Attribute) and receiver.attr in ("jwt", "_jwt"):
        return _unresolved(func.attr, call)
    return None


def _head(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _unresolved(kind: str, call: ast.Call) -> JwtCall | None:
    # PyJWT and python-jose share the shape of encode/decode; judge it as PyJWT, unsure.
    entry = jwt_knowledge().first(kind, "PyJWT")
    return JwtCall(Api(kind, entry), call, False) if entry else None


def _instance_class(file, name: str) -> Api | None:
    cache = getattr(file, "_jwt_instances", None)
    if cache is None:
        cache = {}
        kb = jwt_knowledge()
        for node in file.of_type(ast.Assign) if file.tree is not None else ():
            if isinstance(node.value, ast.Call):
                api = kb.by_qualname.get(file.qualname(node.value.func) or "")
                if api is not None and api.table == "jwt_class":
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            cache[target.id] = api
        file._jwt_instances = cache
    return cache.get(name)


def payload_argument(jc: JwtCall) -> ast.expr | None:
    entry = jc.api.entry
    return jc.argument(entry.get("payload_argument", 0), entry.get("payload_keywords", ()))


# -- scopes and bindings ---------------------------------------------------------------


def function_statements(scope: ast.AST | None, file) -> list[ast.AST]:
    """Every node of a function (or the module) outside nested functions and classes."""
    cache = file.__dict__.setdefault("_jwt_scope_nodes", {})
    key = id(scope) if scope is not None else 0
    if key in cache:
        return cache[key]
    body = scope.body if scope is not None else (file.tree.body if file.tree else [])
    out: list[ast.AST] = []
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    cache[key] = out
    return out


def assignments(file, scope, name: str, before: int | None = None) -> list[ast.expr] | None:
    """The values assigned to `name` in `scope` (before line `before`). None when the name is
    bound some other way there (parameter, loop target, unpacking, `with ... as`)."""
    values: list[ast.expr] = []
    other = False
    if scope is not None:
        args = scope.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None and arg.arg == name:
                other = True
    for node in function_statements(scope, file):
        line = getattr(node, "lineno", 0)
        if before is not None and line >= before:
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    values.append(node.value)
                elif not isinstance(target, (ast.Name, ast.Subscript, ast.Attribute)) and any(
                        isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                    other = True
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name and node.value is not None:
            values.append(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr)):
            targets = ([node.target] if isinstance(node, (ast.For, ast.AsyncFor, ast.NamedExpr))
                       else [i.optional_vars for i in node.items if i.optional_vars is not None])
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                other = True
    if other:
        return None
    return values


def parameter_names(scope) -> set[str]:
    if scope is None:
        return set()
    args = scope.args
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
            if a is not None}


def module_function(file, name: str) -> ast.FunctionDef | None:
    if file.tree is None:
        return None
    for node in file.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def class_method(cls: ast.ClassDef | None, name: str):
    if cls is None:
        return None
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def enclosing(file, node_types) -> ast.AST | None:
    for node in reversed(file.ancestors):
        if isinstance(node, node_types):
            return node
    return None


def parent_map(file) -> dict[int, ast.AST]:
    cache = getattr(file, "_jwt_parents", None)
    if cache is None:
        file.nodes()  # builds the file's shared parent index once
        cache = file._parents
        file._jwt_parents = cache
    return cache


def scope_of(file, node: ast.AST):
    """The function holding `node` (None at module level), for nodes met outside the walk."""
    parents = parent_map(file)
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return current
        current = parents.get(id(current))
    return None


# -- claims ----------------------------------------------------------------------------


@dataclass
class Claims:
    """What is known of a claims dict: the claims seen (name -> value expressions with the
    scope they belong to) and whether every claim it may hold is known."""

    keys: dict[str, list[tuple[ast.expr | None, object]]] = field(default_factory=dict)
    complete: bool = True
    # When the dict comes from a parameter: (function, parameter name).
    parameter: tuple[ast.AST, str] | None = None
    names: set[str] = field(default_factory=set)  # variable / helper names it went through

    def add(self, key: str, value: ast.expr | None, scope) -> None:
        self.keys.setdefault(key, []).append((value, scope))

    def merge(self, other: "Claims") -> None:
        for key, values in other.keys.items():
            self.keys.setdefault(key, []).extend(values)
        self.complete = self.complete and other.complete
        self.parameter = self.parameter or other.parameter
        self.names |= other.names

    def has(self, key: str) -> bool:
        return key in self.keys


def incomplete(parameter=None) -> Claims:
    return Claims(complete=False, parameter=parameter)


_NON_MUTATING = {"len", "print", "str", "repr", "bool", "isinstance", "type", "dict", "list",
                 "json.dumps", "copy.copy", "copy.deepcopy", "sorted"}


class ClaimsEvaluator:
    def __init__(self, file, encode_lines: set[int] | None = None):
        self.file = file
        self.encode_lines = encode_lines or set()
        self.budget = BUDGET

    def evaluate(self, node: ast.expr | None, scope, before: int, depth: int = 0,
                 cls: ast.ClassDef | None = None) -> Claims:
        self.budget -= 1
        if node is None or depth > MAX_DEPTH or self.budget <= 0:
            return incomplete()
        if isinstance(node, ast.Dict):
            return self._dict(node, scope, before, depth, cls)
        if isinstance(node, ast.Call):
            return self._call(node, scope, before, depth, cls)
        if isinstance(node, ast.Name):
            return self._name(node, scope, before, depth, cls)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left = self.evaluate(node.left, scope, before, depth + 1, cls)
            left.merge(self.evaluate(node.right, scope, before, depth + 1, cls))
            return left
        return incomplete()

    def _dict(self, node: ast.Dict, scope, before, depth, cls) -> Claims:
        out = Claims()
        for key, value in zip(node.keys, node.values):
            if key is None:  # **spread
                out.merge(self.evaluate(value, scope, before, depth + 1, cls))
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                out.add(key.value, value, scope)
            else:
                out.complete = False
        return out

    def _call(self, node: ast.Call, scope, before, depth, cls) -> Claims:
        func = node.func
        name = self.file.qualname(func)
        if name == "dict":
            out = Claims()
            for arg in node.args:
                out.merge(self.evaluate(arg, scope, before, depth + 1, cls))
            for keyword in node.keywords:
                if keyword.arg is None:
                    out.merge(self.evaluate(keyword.value, scope, before, depth + 1, cls))
                else:
                    out.add(keyword.arg, keyword.value, scope)
            return out
        if isinstance(func, ast.Attribute) and func.attr in ("copy", "deepcopy") and not node.args:
            return self.evaluate(func.value, scope, before, depth + 1, cls)
        if name in ("copy.copy", "copy.deepcopy") and node.args:
            return self.evaluate(node.args[0], scope, before, depth + 1, cls)
        helper = None
        if isinstance(func, ast.Name):
            helper = module_function(self.file, func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id in ("self", "cls"):
            helper = class_method(cls, func.attr)
        if helper is not None:
            return self._helper(helper, depth, cls)
        return incomplete()

    def _helper(self, function, depth, cls) -> Claims:
        returns = [n for n in function_statements(function, self.file) if isinstance(n, ast.Return)]
        if not returns:
            return incomplete()
        out = Claims()
        out.names.add(function.name)
        for ret in returns:
            claims = self.evaluate(ret.value, function, ret.lineno + 1, depth + 1, cls)
            claims.parameter = None  # a helper's parameter is not the encoder's
            out.merge(claims)
        return out

    def _name(self, node: ast.Name, scope, before, depth, cls) -> Claims:
        values = assignments(self.file, scope, node.id, before)
        if values is None:
            if node.id in parameter_names(scope):
                base = incomplete((scope, node.id))
                base.names.add(node.id)
                self._mutations(base, node.id, scope, before, depth, cls)
                return base
            return incomplete()
        if not values:
            if scope is not None:  # a module-level name
                return self._name(node, None, 10 ** 9, depth + 1, None)
            return incomplete()
        out: Claims | None = None
        for value in values:
            claims = self.evaluate(value, scope, before, depth + 1, cls)
            if out is None:
                out = claims
            else:
                out.merge(claims)
        assert out is not None
        out.names.add(node.id)
        self._mutations(out, node.id, scope, before, depth, cls)
        return out

    def _mutations(self, out: Claims, name: str, scope, before: int, depth, cls) -> None:
        """Claims added to the dict `name` after it was made, and uses that may add some."""
        for node in function_statements(scope, self.file):
            line = getattr(node, "lineno", 0)
            if line >= before:
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and _is_name(target.value, name):
                        key = target.slice
                        if isinstance(key, ast.Constant) and isinstance(key.value, str):
                            out.add(key.value, node.value, scope)
                        else:
                            out.complete = False
            elif isinstance(node, ast.AugAssign) and _is_name(node.target, name) \
                    and isinstance(node.op, ast.BitOr):
                out.merge(self.evaluate(node.value, scope, before, depth + 1, cls))
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and _is_name(func.value, name):
                    if func.attr == "update":
                        for arg in node.args:
                            out.merge(self.evaluate(arg, scope, before, depth + 1, cls))
                        for keyword in node.keywords:
                            if keyword.arg is None:
                                out.complete = False
                            else:
                                out.add(keyword.arg, keyword.value, scope)
                    elif func.attr == "setdefault" and node.args:
                        key = node.args[0]
                        if isinstance(key, ast.Constant) and isinstance(key.value, str):
                            out.add(key.value, node.args[1] if len(node.args) > 1 else None, scope)
                        else:
                            out.complete = False
                    continue
                if node.lineno in self.encode_lines:
                    continue
                qual = self.file.qualname(func) or ""
                if qual in _NON_MUTATING or qual.startswith("logging.") or (
                        isinstance(func, ast.Attribute) and func.attr in (
                            "debug", "info", "warning", "error", "get", "copy", "items", "keys")):
                    continue
                passed = list(node.args) + [k.value for k in node.keywords]
                if any(_is_name(a, name) or (isinstance(a, ast.Starred) and _is_name(a.value, name))
                       for a in passed):
                    out.complete = False  # handed to code that may add claims


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


# -- durations and expiry times ---------------------------------------------------------

_TIMEDELTA = {"datetime.timedelta", "timedelta", "dateutil.relativedelta.relativedelta",
              "relativedelta", "pendulum.duration"}
_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                 "milliseconds": 0.001, "microseconds": 0.000001, "months": 30 * 86400,
                 "years": 365 * 86400}
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours",
                         "weeks")
_NOW_DATETIME = {"datetime.datetime.utcnow", "datetime.datetime.now", "datetime.datetime.today",
                 "datetime.utcnow", "datetime.now", "datetime.today",
                 "django.utils.timezone.now", "timezone.now", "arrow.utcnow", "arrow.now",
                 "pendulum.now", "pendulum.today"}
_NOW_TIMESTAMP = {"time.time", "time.monotonic"}
_WRAPPERS = {"int", "round", "float", "math.floor", "math.ceil"}
NO_EXPIRY = float("inf")


@dataclass
class Lifetime:
    seconds: float | None  # None: unknown; NO_EXPIRY: never expires
    names: set[str] = field(default_factory=set)  # constants and variables it went through

    @property
    def known(self) -> bool:
        return self.seconds is not None


def unknown(names=None) -> Lifetime:
    return Lifetime(None, set(names or ()))


class TimeEvaluator:
    """Evaluates durations (seconds) and expiry times (seconds from now) of expressions."""

    def __init__(self, file, now: float | None = None):
        self.file = file
        self.now = time.time() if now is None else now
        self.steps = 0

    def _spent(self) -> bool:
        self.steps += 1
        return self.steps > BUDGET * 10  # shared by every question of one file

    # numbers -----------------------------------------------------------------
    def number(self, node, scope, depth=0) -> Lifetime:
        if depth > MAX_DEPTH or node is None or self._spent():
            return unknown()
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return Lifetime(float(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.number(node.operand, scope, depth + 1)
            return Lifetime(-inner.seconds if inner.known else None, inner.names)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                 ast.Div, ast.FloorDiv)):
            left = self.number(node.left, scope, depth + 1)
            right = self.number(node.right, scope, depth + 1)
            names = left.names | right.names
            if not (left.known and right.known):
                return unknown(names)
            a, b = left.seconds, right.seconds
            try:
                value = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op))
                if value is None:
                    value = a / b if isinstance(node.op, ast.Div) else a // b
            except ZeroDivisionError:
                return unknown(names)
            return Lifetime(value, names)
        if isinstance(node, ast.Call) and self.file.qualname(node.func) in _WRAPPERS and node.args:
            return self.number(node.args[0], scope, depth + 1)
        if isinstance(node, ast.Name):
            return self._follow(node, scope, depth, self.number)
        if isinstance(node, ast.Attribute):
            return unknown({node.attr})
        return unknown()

    def _follow(self, node: ast.Name, scope, depth, how) -> Lifetime:
        values = assignments(self.file, scope, node.id, node.lineno if scope is not None else None)
        if values is None:
            return unknown({node.id})
        if not values and scope is not None:
            values = assignments(self.file, None, node.id)
            scope = None
            if values is None:
                return unknown({node.id})
        if len(values) != 1:
            results = [how(v, scope, depth + 1) for v in values]
            names = {node.id}.union(*(r.names for r in results)) if results else {node.id}
            known = [r.seconds for r in results if r.known]
            if not known or len(known) != len(results):
                return Lifetime(max(known) if known else None, names) if known else unknown(names)
            return Lifetime(max(known), names)
        result = how(values[0], scope, depth + 1)
        result.names.add(node.id)
        return result

    # durations ---------------------------------------------------------------
    def duration(self, node, scope, depth=0, bare_unit: float | None = 1.0) -> Lifetime:
        """Seconds a duration expression stands for (timedelta, or a number of `bare_unit`)."""
        if depth > MAX_DEPTH or node is None or self._spent():
            return unknown()
        if isinstance(node, ast.Call) and self._is_timedelta(node.func):
            return self._timedelta(node, scope, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left = self.duration(node.left, scope, depth + 1, bare_unit)
            right = self.duration(node.right, scope, depth + 1, bare_unit)
            names = left.names | right.names
            if left.known and right.known:
                sign = 1 if isinstance(node.op, ast.Add) else -1
                return Lifetime(left.seconds + sign * right.seconds, names)
            return unknown(names)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(a, ast.Call) and self._is_timedelta(a.func):
                    td, n = self._timedelta(a, scope, depth), self.number(b, scope, depth + 1)
                    if td.known and n.known:
                        return Lifetime(td.seconds * n.seconds, td.names | n.names)
                    return unknown(td.names | n.names)
        if isinstance(node, ast.Name):
            return self._follow(node, scope, depth,
                                lambda v, s, d: self.duration(v, s, d, bare_unit))
        if bare_unit is not None:
            value = self.number(node, scope, depth + 1)
            if value.known:
                return Lifetime(value.seconds * bare_unit, value.names)
            return value
        return unknown()

    def _is_timedelta(self, func) -> bool:
        name = self.file.qualname(func) or ""
        return name in _TIMEDELTA or name.endswith(".timedelta") or name.endswith(".relativedelta")

    def _timedelta(self, node: ast.Call, scope, depth) -> Lifetime:
        total, names = 0.0, set()
        pairs = list(zip(_TIMEDELTA_POSITIONAL, node.args)) + [
            (k.arg, k.value) for k in node.keywords]
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            return unknown()
        for unit, value in pairs:
            n = self.number(value, scope, depth + 1)
            names |= n.names
            names.add(unit)
            if not n.known or unit not in _UNIT_SECONDS:
                return unknown(names)
            total += n.seconds * _UNIT_SECONDS[unit]
        return Lifetime(total, names)

    # expiry times -------------------------------------------------------------
    def expiry(self, node, scope, depth=0) -> Lifetime:
        """Seconds from now until the time `node` stands for (an `exp` claim value)."""
        if depth > MAX_DEPTH or node is None or self._spent():
            return unknown()
        kind, value = self._time(node, scope, depth)
        if kind == "offset":
            return value
        if kind == "absolute" and value.known:
            return Lifetime(value.seconds - self.now, value.names)
        return unknown(value.names if value else ())

    def _time(self, node, scope, depth) -> tuple[str, Lifetime | None]:
        """('offset', seconds from now) | ('absolute', epoch seconds) | ('now', 0) |
        ('unknown', names)."""
        if depth > MAX_DEPTH or self._spent():
            return "unknown", unknown()
        if isinstance(node, ast.Call):
            name = self.file.qualname(node.func) or ""
            if name in _NOW_DATETIME or name in _NOW_TIMESTAMP or name.endswith(".utcnow") or (
                    name.endswith("datetime.now")):
                return "now", Lifetime(0.0)
            if name in _WRAPPERS and node.args:
                return self._time(node.args[0], scope, depth + 1)
            if name in ("calendar.timegm", "time.mktime", "timegm", "mktime") and node.args:
                inner = node.args[0]
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                        and inner.func.attr in ("utctimetuple", "timetuple"):
                    return self._time(inner.func.value, scope, depth + 1)
            if isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "timestamp", "replace", "astimezone", "isoformat") and not node.args:
                return self._time(node.func.value, scope, depth + 1)
            if name in ("datetime.datetime", "datetime") and len(node.args) >= 3:
                parts = [self.number(a, scope, depth + 1) for a in node.args[:6]]
                if all(p.known for p in parts):
                    import calendar
                    import datetime as _dt
                    try:
                        moment = _dt.datetime(*[int(p.seconds) for p in parts])
                    except (ValueError, OverflowError):
                        return "unknown", unknown()
                    return "absolute", Lifetime(float(calendar.timegm(moment.utctimetuple())))
            return "unknown", unknown()
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            sign = 1 if isinstance(node.op, ast.Add) else -1
            for base, delta, s in ((node.left, node.right, sign), (node.right, node.left, 1)):
                if s == -1 and base is node.right:
                    continue
                kind, value = self._time(base, scope, depth + 1)
                if kind in ("now", "offset"):
                    d = self.duration(delta, scope, depth + 1)
                    if d.known:
                        return "offset", Lifetime((value.seconds if kind == "offset" else 0.0)
                                                  + s * d.seconds, value.names | d.names)
                    return "offset", unknown(value.names | d.names)
            return "unknown", unknown()
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool) and node.value > 10 ** 9:
            return "absolute", Lifetime(float(node.value))
        if isinstance(node, ast.Name):
            values = assignments(self.file, scope, node.id,
                                 node.lineno if scope is not None else None)
            if values is None or not values:
                if values is not None and scope is not None:
                    return self._time_module(node, depth)
                return "unknown", unknown({node.id})
            results = [self._time(v, scope, depth + 1) for v in values]
            kinds = {k for k, _ in results}
            names = {node.id}.union(*((v.names if v else set()) for _, v in results))
            if kinds == {"now"}:
                return "now", Lifetime(0.0, names)
            if kinds <= {"offset", "unknown"} and "offset" in kinds:
                known = [v.seconds for k, v in results if k == "offset" and v.known]
                if known:
                    return "offset", Lifetime(max(known), names)
                return "offset", unknown(names)
            if kinds == {"absolute"}:
                return "absolute", Lifetime(max(v.seconds for _, v in results), names)
            return "unknown", unknown(names)
        return "unknown", unknown()

    def _time_module(self, node: ast.Name, depth):
        values = assignments(self.file, None, node.id)
        if not values or len(values) != 1:
            return "unknown", unknown({node.id})
        kind, value = self._time(values[0], None, depth + 1)
        if value is not None:
            value.names.add(node.id)
        return kind, value


def human(seconds: float) -> str:
    if seconds == NO_EXPIRY:
        return "never"
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or seconds >= 2 * size):
            count = seconds / size
            text = f"{count:.0f}" if abs(count - round(count)) < 0.05 or count >= 10 \
                else f"{count:.1f}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:.0f} seconds"


# -- words -----------------------------------------------------------------------------


def words(name: str) -> list[str]:
    """`REFRESH_TOKEN_EXPIRE_DAYS` -> ['refresh', 'token', 'expire', 'days'];
    `refreshTokenTTL` -> ['refresh', 'token', 'ttl']."""
    return list(_words(name))  # a fresh list: callers may change it


@lru_cache(maxsize=8192)  # the same few names are split again and again
def _words(name: str) -> tuple[str, ...]:
    out, current = [], ""
    for i, ch in enumerate(name):
        if ch in "_-. ":
            if current:
                out.append(current)
            current = ""
            continue
        if ch.isupper() and current and (current[-1].islower() or (
                i + 1 < len(name) and name[i + 1].islower() and current[-1].isupper())):
            out.append(current)
            current = ""
        current += ch
    if current:
        out.append(current)
    return tuple(w.lower() for w in out)


def is_test_file(file) -> bool:
    """Test code: tokens without expiry, cookies without flags and logged secrets there are
    fixtures, not exposures, so the auth rules stay silent in it."""
    return _is_test_path(file.relpath)


@lru_cache(maxsize=4096)
def _is_test_path(relpath: str) -> bool:
    parts = relpath.replace("\\", "/").lower().split("/")
    stem = parts[-1]
    if stem.startswith("test_") or stem.endswith("_test.py") or stem.endswith("_tests.py") \
            or stem in ("tests.py", "conftest.py", "test.py"):
        return True
    return any(p in ("tests", "test", "testing") for p in parts[:-1])


def claims_at_call_sites(file, function, parameter: str, calls) -> list:
    """The claims passed as `parameter` at each call of `function` in the module.
    `calls` yields (call node, enclosing scope or None); a call that may pass the
    parameter through `*args`/`**kwargs` gives incomplete claims."""
    args = function.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    method = bool(positional) and positional[0] in ("self", "cls")
    if method:
        positional = positional[1:]
    position = positional.index(parameter) if parameter in positional else None
    evaluator = ClaimsEvaluator(file)
    out = []
    for node, scope in calls:
        func = node.func
        if not ((isinstance(func, ast.Name) and func.id == function.name and not method) or (
                isinstance(func, ast.Attribute) and func.attr == function.name and method)):
            continue
        value = argument(node, position, parameter)
        if value is None:
            if any(k.arg is None for k in node.keywords) or any(
                    isinstance(a, ast.Starred) for a in node.args):
                out.append(incomplete())
            continue  # the parameter's default
        out.append(evaluator.evaluate(value, scope if scope is not None else scope_of(file, node),
                                      node.lineno))
    return out
