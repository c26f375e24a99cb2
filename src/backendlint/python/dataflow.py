"""A small flow-sensitive interpreter of one Python scope, for rebuilding strings.

It runs a function body (or the module body) over abstract values, never the code:
- a `Built` (constant pieces and holes) for strings and numbers,
- an `Obj` for the few other things worth knowing: containers with constant keys
  (dict, list, configparser), database handles (for receiver confidence), functions and
  classes of this module, `None`.

Statements are followed in order: assignment and reassignment, `+=` inside loops (a loop
body runs twice, joined with skipping it), branches (both ways joined, except a branch
whose condition is a constant, which is dead), `try`, `with`, `match`, returns and raises
(a path that raises ends). Allow-list checks (`if col not in ALLOWED: raise`, `if col in
ALLOWED:`, `assert`, `.isdigit()`, `re.fullmatch`) mark the checked value. Calls to
functions of the same module (and methods of the enclosing class) are followed a few
levels deep with the arguments' values. Where two paths join, the value that carries a
non-constant part wins: a string that *may* contain a value is a built string.

Everything is bounded (expression depth, call depth, a step budget per file), so generated
code and pathological input degrade to "unknown", never to an error."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace

from .strings import (HOW_CONCAT, HOW_FORMAT, HOW_FSTRING, HOW_JOIN, HOW_PERCENT, MAX_DEPTH,
                      SAFE_CASTS, SAFE_MARK, Built, Hole, Piece, constant_spec, format_fields,
                      has_text, is_number, is_numeric_spec, number, opaque, percent_format,
                      repeated_element)
from .walk import children_reversed

MAX_CALL_DEPTH = 3
MAX_LOOP_NESTING = 4
STEP_BUDGET = 200_000
MAX_PARTS = 2_000  # a string grown with `+=` stops growing here (generated code)
_UNKNOWN = object()
_STR_TRANSFORMS = {"strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize",
                   "casefold", "replace", "encode", "decode", "removeprefix", "removesuffix",
                   "zfill", "ljust", "rjust", "center", "expandtabs", "swapcase"}
_CHECK_METHODS = {"isdigit", "isnumeric", "isdecimal", "isalnum", "isidentifier", "isalpha"}
_QUOTING = re.compile(r"^_*quote(?:_|d_|$)")
_REQUEST_HEADS = ("request.", "flask.request.", "self.request.", "req.")


@dataclass
class Obj:
    kind: str  # "db", "function", "class", "instance", "dict", "list", "none"
    node: ast.AST | None = None
    items: object = None  # dict: {key: value}; list: [value]; None: contents unknown
    element: object = None  # a list whose elements all look like this (comprehensions)
    attrs: dict | None = None  # class attributes


@dataclass
class _Scope:
    node: ast.AST | None
    before: dict = field(default_factory=dict)  # id(stmt) -> env before it
    final: dict | None = None
    current: dict = field(default_factory=dict)
    stmt_of: dict | None = None
    with_calls: set = field(default_factory=set)  # ids of statements holding a call


@dataclass
class _Ctx:
    scope: ast.AST | None
    record: dict | None  # where to record envs before statements (None: not recording)
    returns: list
    calls: tuple = ()  # function nodes being interpreted (recursion guard)
    loops: int = 0
    cls: ast.ClassDef | None = None
    wanted: set | None = None  # the statements worth recording (they hold a call)


class Interpreter:
    def __init__(self, file, resolver, safe_calls: set[str], receivers: dict) -> None:
        self.file = file
        self.safe_calls = set(safe_calls)
        self.receiver_qualnames = set(receivers.get("qualnames", ()))
        self.receiver_methods = set(receivers.get("methods", ()))
        self.safe_attributes = set(receivers.get("safe_attributes", ()))
        self._scopes: dict[int, _Scope] = {}
        self._parents: dict[int, tuple] | None = None  # id(fn) -> (enclosing fn, class)
        self.steps = 0
        self._imports_read = False

    # -- public -------------------------------------------------------------------
    def value_at(self, node: ast.AST, scope: ast.AST | None):
        if not self._imports_read and self.file.tree is not None:
            # Imports anywhere in the module (also after this point, or inside functions)
            # name things for the whole module.
            self._imports_read = True
            for sub, _fn, _cls in statements(self.file.tree):
                if isinstance(sub, ast.Import):
                    self.file.names.visit_Import(sub)
                elif isinstance(sub, ast.ImportFrom):
                    self.file.names.visit_ImportFrom(sub)
        try:
            info = self._scope(scope)
            stmt = self._stmt_of(info).get(id(node))
            env = info.before.get(id(stmt)) if stmt is not None else None
            if env is None:
                env = info.final if info.final is not None else info.current
            ctx = _Ctx(scope, None, [], cls=self._class_of(scope))
            return self.eval(node, env, ctx, 0)
        except RecursionError:
            return opaque(node)

    def function_called(self, call: ast.Call, scope):
        """The function of this module that `call` calls (`f(...)`, `self.m(...)`), or None."""
        func = call.func
        try:
            if isinstance(func, ast.Name):
                value = self.value_at(func, scope)
                if isinstance(value, Obj) and value.kind == "function":
                    return value.node
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                cls = self._class_of(scope)
                if cls is not None:
                    base = self.value_at(func.value, scope)
                    if isinstance(base, Obj) and base.kind == "instance" or func.value.id == cls.name:
                        return _method(cls, func.attr)
        except RecursionError:
            return None
        return None

    def as_built(self, value, node: ast.AST) -> Built:
        if isinstance(value, Built):
            return value
        if isinstance(value, Obj):
            if value.kind == "none":
                return Built([Piece("NULL", node)])
            if value.kind == "list" and isinstance(value.items, list) and all(
                    isinstance(v, Built) and v.is_constant for v in value.items):
                return Built([Piece("(" + ", ".join(v.text() for v in value.items) + ")", None)])
        return opaque(node)

    # -- scopes -------------------------------------------------------------------
    def _scope(self, scope: ast.AST | None) -> _Scope:
        key = id(scope)
        info = self._scopes.get(key)
        if info is not None:
            return info
        info = _Scope(scope)
        self._scopes[key] = info
        self._stmt_of(info)
        if scope is None:
            body = self.file.tree.body if self.file.tree is not None else []
            env: dict = Env()
            info.current = env
            ctx = _Ctx(None, info.before, [], wanted=info.with_calls)
            final = self._exec_block(body, env, ctx, info)
            info.final = final if final is not None else info.current
        else:
            env = self._params(scope, None, None, self._class_of(scope))
            ctx = _Ctx(scope, info.before, [], calls=(scope,), cls=self._class_of(scope),
                       wanted=info.with_calls)
            final = self._exec_block(scope.body, env, ctx, info)
            info.final = final if final is not None else info.current
        return info

    def _stmt_of(self, info: _Scope) -> dict:
        if info.stmt_of is not None:
            return info.stmt_of
        mapping: dict[int, ast.AST] = {}
        body = info.node.body if info.node is not None else (
            self.file.tree.body if self.file.tree is not None else [])
        stack = [(stmt, stmt) for stmt in body]
        while stack:
            node, stmt = stack.pop()
            if isinstance(node, ast.stmt):
                stmt = node
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                        and node is not info.node:
                    mapping[id(node)] = stmt
                    for deco in node.decorator_list:
                        stack.append((deco, stmt))
                    continue
            mapping[id(node)] = stmt
            if isinstance(node, ast.Call):
                info.with_calls.add(id(stmt))
            for child in children_reversed(node):  # order is irrelevant to the mapping
                stack.append((child, stmt))
        info.stmt_of = mapping
        return mapping

    def _parent_map(self) -> dict:
        if self._parents is None:
            parents: dict[int, tuple] = {}
            for stmt, fn, cls in statements(self.file.tree):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    parents[id(stmt)] = (fn, cls, stmt)
            self._parents = parents
        return self._parents

    def _class_of(self, scope) -> ast.ClassDef | None:
        if scope is None:
            return None
        entry = self._parent_map().get(id(scope))
        return entry[1] if entry else None

    def _enclosing_function(self, scope):
        entry = self._parent_map().get(id(scope))
        return entry[0] if entry else None

    def _params(self, fn, call: ast.Call | None, caller: tuple | None, cls) -> dict:
        """Parameter values: the call's arguments when `call` is given, else unknown."""
        args = fn.args
        env: dict = {}
        positional = args.posonlyargs + args.args
        bound: dict[str, object] = {}
        is_method = cls is not None and not any(
            getattr(d, "id", None) == "staticmethod" for d in fn.decorator_list)
        if call is not None and caller is not None:
            env_c, ctx_c, depth = caller
            given = list(call.args)
            offset = 1 if is_method and isinstance(call.func, ast.Attribute) else 0
            for param, arg in zip(positional[offset:], given):
                if isinstance(arg, ast.Starred):
                    break
                bound[param.arg] = self.eval(arg, env_c, ctx_c, depth + 1)
            for keyword in call.keywords:
                if keyword.arg:
                    bound[keyword.arg] = self.eval(keyword.value, env_c, ctx_c, depth + 1)
        defaults = dict(zip([a.arg for a in positional][-len(args.defaults):], args.defaults)) \
            if args.defaults else {}
        for a, d in zip(args.kwonlyargs, args.kw_defaults):
            if d is not None:
                defaults[a.arg] = d
        everything = positional + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        for index, param in enumerate(everything):
            name = param.arg
            if index == 0 and is_method and param in positional:
                env[name] = Obj("instance", cls)
                continue
            if name in bound:
                env[name] = bound[name]
                continue
            if call is not None and name in defaults:
                env[name] = self.eval(defaults[name], {}, _Ctx(None, None, []), 0)
                continue
            annotation = self.file.qualname(param.annotation) if param.annotation is not None else None
            if annotation and annotation in self.receiver_qualnames:
                env[name] = Obj("db", param)
                continue
            use = ast.Name(id=name, ctx=ast.Load())
            ast.copy_location(use, param)
            use.end_lineno, use.end_col_offset = param.lineno, param.col_offset + len(name)
            env[name] = Built([Hole(use, None, f"parameter `{name}` of `{fn.name}` (line {param.lineno})")])
        return env

    # -- statements -----------------------------------------------------------------
    def _exec_block(self, body, env: dict, ctx: _Ctx, info: _Scope | None):
        for stmt in body:
            if env is None:
                return None
            self.steps += 1
            if ctx.record is not None and (ctx.wanted is None or id(stmt) in ctx.wanted):
                ctx.record[id(stmt)] = _share(env)
            if info is not None:
                info.current = env
            env = self._exec(stmt, env, ctx, info)
        return env

    def _exec(self, stmt: ast.stmt, env: dict, ctx: _Ctx, info):  # noqa: C901 - a dispatcher
        if isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value, env, ctx, 0)
            env = self._mutate(stmt.value, env, ctx)
            for target in stmt.targets:
                env = self._bind(target, value, stmt.value, env, ctx, stmt.lineno)
            return env
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                return env
            value = self.eval(stmt.value, env, ctx, 0)
            return self._bind(stmt.target, value, stmt.value, env, ctx, stmt.lineno)
        if isinstance(stmt, ast.AugAssign):
            return self._augassign(stmt, env, ctx)
        if isinstance(stmt, ast.Expr):
            return self._mutate(stmt.value, env, ctx)
        if isinstance(stmt, ast.If):
            return self._if(stmt, env, ctx, info)
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            return self._loop(stmt, env, ctx, info)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    value = self.eval(item.context_expr, env, ctx, 0)
                    if not (isinstance(value, Obj) and value.kind == "db"):
                        value = _opaque_value(item.optional_vars)
                    env = self._bind(item.optional_vars, value, item.context_expr, env, ctx,
                                     stmt.lineno)
            return self._exec_block(stmt.body, env, ctx, info)
        if isinstance(stmt, (ast.Return,)):
            value = self.eval(stmt.value, env, ctx, 0) if stmt.value is not None else Obj("none")
            ctx.returns.append(value)
            return None
        if isinstance(stmt, (ast.Raise, ast.Continue, ast.Break)):
            return None
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            _share(env)
            after_body = self._exec_block(stmt.body, env, ctx, info)
            start = _share(_join_env(env, after_body))
            outs = [self._exec_block(stmt.orelse, after_body, ctx, info) if after_body is not None else None]
            for handler in stmt.handlers:
                h_env = start
                if handler.name:
                    h_env = _set(h_env, handler.name, _opaque_value(ast.Name(id=handler.name)))
                outs.append(self._exec_block(handler.body, h_env, ctx, info))
            out = None
            for o in outs:
                out = _join_env(out, o) if out is not None else o
            if stmt.finalbody:
                final_start = out if out is not None else start
                final = self._exec_block(stmt.finalbody, final_start, ctx, info)
                return final if out is not None else None
            return out
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _set(env, stmt.name, Obj("function", stmt))
        if isinstance(stmt, ast.ClassDef):
            attrs: dict = {}
            class_ctx = _Ctx(ctx.scope, None, [], ctx.calls, ctx.loops, stmt)
            result = self._exec_block(stmt.body, dict(env), class_ctx, None)
            if result is not None:
                attrs = {k: v for k, v in result.items() if env.get(k) is not v}
            return _set(env, stmt.name, Obj("class", stmt, attrs=attrs))
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            new = Env(env)
            for alias in stmt.names:
                name = (alias.asname or alias.name).split(".")[0]
                qual = self.file.qualname(ast.Name(id=name))
                if qual in self.receiver_qualnames:
                    new[name] = Obj("db")
                elif _is_constant_name(name):
                    new[name] = _constant(alias)  # `from .settings import TABLE`
                else:
                    new[name] = Obj("module", stmt)
            return new
        if isinstance(stmt, ast.Assert):
            return self._narrow(stmt.test, env, True)
        if isinstance(stmt, ast.Delete):
            return {k: v for k, v in env.items()
                    if not any(isinstance(t, ast.Name) and t.id == k for t in stmt.targets)}
        if type(stmt).__name__ == "Match":
            _share(env)
            subject = self._const(stmt.subject, env, ctx, 0)
            outs, exhaustive = [], False
            for case in stmt.cases:
                pattern = case.pattern
                kind = type(pattern).__name__
                wildcard = kind == "MatchAs" and pattern.pattern is None and case.guard is None
                certain = False
                if subject is not _UNKNOWN and kind == "MatchValue" and case.guard is None:
                    value = self._const(pattern.value, env, ctx, 0)
                    if value is not _UNKNOWN:
                        if value != subject:
                            continue  # this case cannot match
                        certain = True
                case_env = env
                for sub in ast.walk(pattern):
                    name = getattr(sub, "name", None)
                    if isinstance(name, str):
                        case_env = _set(case_env, name, _opaque_value(ast.Name(id=name)))
                outs.append(self._exec_block(case.body, case_env, ctx, info))
                if certain or wildcard:
                    exhaustive = True
                    break
            if not exhaustive:
                outs.append(env)
            out = None
            for o in outs:
                out = _join_env(out, o) if out is not None else o
            return out
        return env

    def _augassign(self, stmt: ast.AugAssign, env, ctx):
        target = stmt.target
        if not isinstance(target, ast.Name):
            return env
        current = env.get(target.id)
        if current is None:
            current = self._lookup(target.id, target, env, ctx, 0)
        if isinstance(stmt.op, ast.Add) and isinstance(current, Built) and len(current.parts) > MAX_PARTS:
            value = current  # enough is known: growing it further only costs time
        elif isinstance(stmt.op, ast.Add) and isinstance(current, Built):
            added = self._interp(stmt.value, HOW_CONCAT, env, ctx, 0)
            if has_text(current) or has_text(added):
                value = current.add(added)
            else:
                value = number() if _numeric(current) and _numeric(added) else opaque(target)
        elif isinstance(stmt.op, ast.Add) and isinstance(current, Obj) and current.kind == "list":
            other = self.eval(stmt.value, env, ctx, 0)
            if isinstance(other, Obj) and other.kind == "list" and isinstance(current.items, list) \
                    and isinstance(other.items, list):
                value = Obj("list", items=current.items + other.items)
            else:
                value = Obj("list", element=_join(self._element(current, target), self._element(other, stmt.value)))
        elif isinstance(current, Built) and _numeric(current):
            value = number()
        else:
            value = _opaque_value(target)
        return _set(env, target.id, _with_origin(value, target.id, stmt.lineno))

    def _if(self, stmt: ast.If, env, ctx, info):
        test = self._const(stmt.test, env, ctx, 0)
        if test is not _UNKNOWN:
            return self._exec_block(stmt.body if test else stmt.orelse, env, ctx, info)
        _share(env)  # both arms start from it
        body = self._exec_block(stmt.body, self._narrow(stmt.test, env, True), ctx, info)
        orelse = self._exec_block(stmt.orelse, self._narrow(stmt.test, env, False), ctx, info)
        if body is None:
            return orelse
        if orelse is None:
            return body
        return _join_env(body, orelse)

    def _loop(self, stmt, env, ctx, info):
        if isinstance(stmt, ast.While):
            test = self._const(stmt.test, env, ctx, 0)
            if test is not _UNKNOWN and not test:
                return self._exec_block(stmt.orelse, env, ctx, info)
        inner = replace(ctx, loops=ctx.loops + 1)
        rounds = 1 if ctx.loops >= MAX_LOOP_NESTING or self.steps > STEP_BUDGET else 2
        current = env
        for _ in range(rounds):
            start = _share(current)
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                element = self._element(self.eval(stmt.iter, start, ctx, 0), stmt.iter)
                start = self._bind(stmt.target, element, stmt.iter, start, ctx, stmt.lineno)
            out = self._exec_block(stmt.body, start, inner, info)
            current = _join_env(current, out) if out is not None else current
        if stmt.orelse:
            after = self._exec_block(stmt.orelse, current, ctx, info)
            return after if after is not None else current
        return current

    def _bind(self, target, value, value_node, env, ctx, line):
        if isinstance(target, ast.Name):
            return _set(env, target.id, _with_origin(value, target.id, line))
        if isinstance(target, (ast.Tuple, ast.List)):
            names = target.elts
            if isinstance(value, Obj) and value.kind == "list" and isinstance(value.items, list) \
                    and len(value.items) == len(names) \
                    and not any(isinstance(n, ast.Starred) for n in names):
                for sub, item in zip(names, value.items):
                    env = self._bind(sub, item, value_node, env, ctx, line)
                return env
            for sub in names:
                sub = sub.value if isinstance(sub, ast.Starred) else sub
                env = self._bind(sub, _opaque_value(sub), value_node, env, ctx, line)
            return env
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            container = env.get(target.value.id)
            if isinstance(container, Obj) and container.kind in ("dict", "list"):
                key = self._const(target.slice, env, ctx, 0)
                return _set(env, target.value.id, _store(container, key, value))
        return env

    def _mutate(self, node, env, ctx):
        """Effects of a method call on a container held in a local name."""
        if isinstance(node, ast.Await):
            node = node.value
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)):
            return env
        name, method = node.func.value.id, node.func.attr
        container = env.get(name)
        if not isinstance(container, Obj) or container.kind not in ("dict", "list"):
            return env
        args = node.args
        if container.kind == "list" and isinstance(container.items, list):
            items = list(container.items)
            if method == "append" and len(args) == 1:
                items.append(self.eval(args[0], env, ctx, 0))
            elif method == "extend" and len(args) == 1:
                other = self.eval(args[0], env, ctx, 0)
                if isinstance(other, Obj) and other.kind == "list" and isinstance(other.items, list):
                    items.extend(other.items)
                else:
                    return _set(env, name, Obj("list", element=_join_all(items + [self._element(other, args[0])])))
            elif method == "insert" and len(args) == 2:
                index = self._const(args[0], env, ctx, 0)
                if not isinstance(index, int):
                    return _set(env, name, _unknown_list(items))
                items.insert(index, self.eval(args[1], env, ctx, 0))
            elif method == "pop":
                index = self._const(args[0], env, ctx, 0) if args else -1
                if not isinstance(index, int) or not items or not -len(items) <= index < len(items):
                    return _set(env, name, _unknown_list(items))
                items.pop(index)
            elif method == "remove" and len(args) == 1:
                wanted = self._const(args[0], env, ctx, 0)
                for i, item in enumerate(items):
                    if isinstance(item, Built) and item.is_constant:
                        if wanted is not _UNKNOWN and item.text() == wanted:
                            items.pop(i)
                            break
                    else:
                        return _set(env, name, _unknown_list(items))
            elif method == "reverse":
                items.reverse()
            elif method == "clear":
                items = []
            elif method in ("sort",):
                return _set(env, name, _unknown_list(items))
            else:
                return env
            return _set(env, name, Obj("list", items=items))
        if container.kind == "dict" and isinstance(container.items, dict):
            items = dict(container.items)
            if method == "set" and len(args) == 3:  # configparser.set(section, key, value)
                key = (self._const(args[0], env, ctx, 0), self._const(args[1], env, ctx, 0))
                return _set(env, name, _store(container, key if _UNKNOWN not in key else _UNKNOWN,
                                            self.eval(args[2], env, ctx, 0)))
            if method == "update" and len(args) == 1:
                other = self.eval(args[0], env, ctx, 0)
                if isinstance(other, Obj) and other.kind == "dict" and isinstance(other.items, dict):
                    items.update(other.items)
                    return _set(env, name, replace(container, items=items))
                return _set(env, name, replace(container, element=_join(container.element, _opaque_value(args[0]))))
            if method in ("pop", "setdefault") and args:
                key = self._const(args[0], env, ctx, 0)
                if method == "pop" and key in items:
                    items.pop(key)
                elif method == "setdefault" and len(args) == 2 and key is not _UNKNOWN:
                    items.setdefault(key, self.eval(args[1], env, ctx, 0))
                return _set(env, name, replace(container, items=items))
        return env

    def _narrow(self, test, env, positive: bool):
        """The env on the path where `test` is `positive`, with checked values marked."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._narrow(test.operand, env, not positive)
        if isinstance(test, ast.BoolOp):
            if isinstance(test.op, ast.And) == positive:
                for value in test.values:
                    env = self._narrow(value, env, positive)
            return env
        checked = None
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            op = test.ops[0]
            if isinstance(op, ast.In) and positive or isinstance(op, ast.NotIn) and not positive:
                checked = test.left
            if isinstance(op, (ast.Eq,)) and positive or isinstance(op, ast.NotEq) and not positive:
                other = test.comparators[0]
                checked = test.left if isinstance(other, ast.Constant) else (
                    other if isinstance(test.left, ast.Constant) else None)
        elif isinstance(test, ast.Call) and positive:
            func = test.func
            if isinstance(func, ast.Attribute) and func.attr in _CHECK_METHODS and not test.args:
                checked = func.value
            elif self.file.qualname(func) in ("re.match", "re.fullmatch") and len(test.args) >= 2:
                checked = test.args[1]
            elif isinstance(func, ast.Attribute) and func.attr in ("match", "fullmatch") and test.args:
                checked = test.args[0]
        if isinstance(checked, ast.Name) and isinstance(env.get(checked.id), Built):
            return _set(_share(env), checked.id, env[checked.id].checked())
        return env

    # -- expressions ------------------------------------------------------------------
    def eval(self, node, env: dict, ctx: _Ctx, depth: int):  # noqa: C901 - a dispatcher
        if depth > MAX_DEPTH:
            return opaque(node)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                return Built([Piece(value, node)])
            if is_number(value):
                return Built([Piece(str(value), node, is_text=False)])
            if value is None:
                return Obj("none", node)
            if isinstance(value, bool):
                return number(int(value))
            return opaque(node)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, env, ctx, depth)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                return self._concat(node, env, ctx, depth)
            if isinstance(node.op, ast.Mod):
                return self._percent(node, env, ctx, depth)
            if isinstance(node.op, ast.Mult):
                return self._repeat(node, env, ctx, depth)
            left = self.eval(node.left, env, ctx, depth + 1)
            right = self.eval(node.right, env, ctx, depth + 1)
            if isinstance(left, Built) and isinstance(right, Built) and _numeric(left) and _numeric(right):
                return number()
            return opaque(node)
        if isinstance(node, ast.UnaryOp):
            inner = self.eval(node.operand, env, ctx, depth + 1)
            if isinstance(node.op, ast.Not):
                return number()
            return number() if isinstance(inner, Built) and _numeric(inner) else opaque(node)
        if isinstance(node, (ast.Compare,)):
            return number()
        if isinstance(node, ast.Name):
            return self._lookup(node.id, node, env, ctx, depth)
        if isinstance(node, ast.Call):
            return self._call(node, env, ctx, depth)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, env, ctx, depth)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, env, ctx, depth)
        if isinstance(node, ast.IfExp):
            test = self._const(node.test, env, ctx, depth)
            if test is not _UNKNOWN:
                return self.eval(node.body if test else node.orelse, env, ctx, depth + 1)
            body = self.eval(node.body, self._narrow(node.test, env, True), ctx, depth + 1)
            orelse = self.eval(node.orelse, self._narrow(node.test, env, False), ctx, depth + 1)
            return _join(body, orelse)
        if isinstance(node, ast.BoolOp):
            values = [self.eval(v, env, ctx, depth + 1) for v in node.values]
            return _join_all(values)
        if isinstance(node, ast.Dict):
            items: dict = {}
            element = None
            for key, value in zip(node.keys, node.values):
                v = self.eval(value, env, ctx, depth + 1)
                k = self._const(key, env, ctx, depth) if key is not None else _UNKNOWN
                if k is _UNKNOWN or not _hashable(k):
                    element = _join(element, v)
                else:
                    items[k] = v
            return Obj("dict", node, items=items, element=element)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return Obj("list", node, element=_join_all([
                    self._element(self.eval(e.value, env, ctx, depth + 1), e) if isinstance(e, ast.Starred)
                    else self.eval(e, env, ctx, depth + 1) for e in node.elts]))
            return Obj("list", node, items=[self.eval(e, env, ctx, depth + 1) for e in node.elts])
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            inner = _share(env)
            for generator in node.generators:
                element = self._element(self.eval(generator.iter, inner, ctx, depth + 1), generator.iter)
                inner = self._bind(generator.target, element, generator.iter, inner, ctx, node.lineno)
                for test in generator.ifs:  # `[c for c in cols if c in ALLOWED]`
                    inner = self._narrow(test, inner, True)
            return Obj("list", node, element=self.eval(node.elt, inner, ctx, depth + 1))
        if isinstance(node, ast.Await):
            return self.eval(node.value, env, ctx, depth + 1)
        if isinstance(node, ast.NamedExpr):
            return self.eval(node.value, env, ctx, depth + 1)
        return opaque(node)

    def _lookup(self, name: str, node, env, ctx, depth):
        if name in env:
            value = env[name]
        else:
            value = None
            scope = ctx.scope
            # Free names: the enclosing functions' final values, then the module's.
            while scope is not None and value is None:
                scope = self._enclosing_function(scope)
                info = self._scope(scope)
                found = info.final if info.final is not None else info.current
                value = found.get(name)
            if value is None:
                return _opaque_value(node) if name not in ("True", "False") else number()
        if isinstance(value, Built) and value.is_opaque and isinstance(node, ast.Name):
            return value
        return value

    def _interp(self, value, how: str, env, ctx, depth, numeric: bool = False) -> Built:
        if numeric:
            return number()
        return self.as_built(self.eval(value, env, ctx, depth + 1), value).with_how(how)

    def _fstring(self, node: ast.JoinedStr, env, ctx, depth) -> Built:
        out = Built()
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.parts.append(Piece(str(value.value), value))
            elif isinstance(value, ast.FormattedValue):
                spec = constant_spec(value.format_spec)
                out = out.add(self._interp(value.value, HOW_FSTRING, env, ctx, depth,
                                           is_numeric_spec(spec)))
            else:
                out.parts.append(Hole(value, HOW_FSTRING))
        return out

    def _concat(self, node: ast.BinOp, env, ctx, depth) -> Built:
        # Flatten left-nested chains iteratively: thousands of `+` must not recurse.
        operands: list[ast.AST] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            operands.append(current.right)
            current = current.left
        operands.append(current)
        operands.reverse()
        values = [self.eval(op, env, ctx, depth + 1) for op in operands]
        if all(isinstance(v, Obj) and v.kind == "list" for v in values):
            if all(isinstance(v.items, list) for v in values):
                return Obj("list", node, items=[i for v in values for i in v.items])
            return Obj("list", node, element=_join_all([self._element(v, o) for v, o in zip(values, operands)]))
        built = [self.as_built(v, op) for v, op in zip(values, operands)]
        if not any(has_text(b) for b in built):
            if all(_numeric(b) for b in built):
                return number()
            return opaque(node)
        out = Built()
        for b in built:
            out.parts.extend(b.with_how(HOW_CONCAT).parts)
        return out

    def _percent(self, node: ast.BinOp, env, ctx, depth):
        template = self.eval(node.left, env, ctx, depth + 1)
        if not isinstance(template, Built) or not template.is_constant:
            return opaque(node)
        if not has_text(template):
            return number()
        return percent_format(template.text(), node.right, lambda target, numeric: self._interp(
            target, HOW_PERCENT, env, ctx, depth, numeric))

    def _repeat(self, node: ast.BinOp, env, ctx, depth):
        for text_side, count_side in ((node.left, node.right), (node.right, node.left)):
            value = self.eval(text_side, env, ctx, depth + 1)
            if isinstance(value, Built) and has_text(value) and value.is_constant:
                # `"?, " * n`: two copies show the shape without knowing n.
                return Built([Piece(value.text() * 2, None)])
            if isinstance(value, Obj) and value.kind == "list":
                return Obj("list", node, element=self._element(value, text_side))
        left = self.eval(node.left, env, ctx, depth + 1)
        right = self.eval(node.right, env, ctx, depth + 1)
        if isinstance(left, Built) and isinstance(right, Built) and _numeric(left) and _numeric(right):
            return number()
        return opaque(node)

    def _call(self, node: ast.Call, env, ctx, depth):  # noqa: C901 - a dispatcher
        func = node.func
        qual = self.file.qualname(func)
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if qual in SAFE_CASTS or any(k.arg == "type" and getattr(k.value, "id", None) in ("int", "float")
                                     for k in node.keywords):  # request.args.get("n", type=int)
            return number()
        if self._is_safe_name(qual, last):
            return Built([Piece(SAFE_MARK, node)])
        if qual in self.receiver_qualnames:
            return Obj("db", node)
        if last and ("dict" in last.lower() or last == "MappingProxyType") and len(node.args) == 1 \
                and isinstance(node.args[0], ast.Dict):
            return self.eval(node.args[0], env, ctx, depth + 1)  # immutabledict({...})
        if qual in ("configparser.ConfigParser", "configparser.RawConfigParser",
                    "collections.OrderedDict", "collections.defaultdict", "OrderedDict", "defaultdict"):
            return Obj("dict", node, items={})
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr == "format":
                template = self.eval(func.value, env, ctx, depth + 1)
                if isinstance(template, Built) and template.is_constant and has_text(template):
                    return self._format_call(node, template.text(), env, ctx, depth)
            if attr == "join" and len(node.args) == 1:
                separator = self.eval(func.value, env, ctx, depth + 1)
                if isinstance(separator, Built) and separator.is_constant and has_text(separator):
                    return self._join(node, separator.text(), node.args[0], env, ctx, depth)
            receiver = None
            if attr in _STR_TRANSFORMS or attr in ("get", "pop", "copy", "keys", "values",
                                                    "items", "cursor", "getlist") \
                    or attr in self.receiver_methods:
                receiver = self.eval(func.value, env, ctx, depth + 1)
            if attr == "replace" and isinstance(receiver, Built) and not receiver.is_constant \
                    and node.args and "'" in str(self._const(node.args[0], env, ctx, depth)):
                return receiver.checked()  # quotes escaped by hand: low confidence
            if attr in _STR_TRANSFORMS and isinstance(receiver, Built):
                if receiver.is_constant and has_text(receiver):
                    try:
                        args = [self._const(a, env, ctx, depth) for a in node.args]
                        if _UNKNOWN not in args and attr not in ("encode", "decode"):
                            return Built([Piece(getattr(receiver.text(), attr)(*args), None)])
                    except Exception:
                        pass
                    return receiver
                return receiver  # still carries the same values
            if attr == "cursor" or (isinstance(receiver, Obj) and receiver.kind == "db"
                                    and attr in self.receiver_methods):
                return Obj("db", node)
            if isinstance(receiver, Obj) and receiver.kind == "dict" and attr in ("get", "pop", "setdefault"):
                if len(node.args) == 2 and attr == "get" and isinstance(receiver.items, dict) and any(
                        isinstance(k, tuple) for k in receiver.items):  # configparser.get(section, key)
                    key = (self._const(node.args[0], env, ctx, depth), self._const(node.args[1], env, ctx, depth))
                    return _load(receiver, key if _UNKNOWN not in key else _UNKNOWN, node)
                if node.args:
                    key = self._const(node.args[0], env, ctx, depth)
                    found = _load(receiver, key, node, missing=None)
                    default = self.eval(node.args[1], env, ctx, depth + 1) if len(node.args) > 1 else Obj("none")
                    if found is None:
                        return default
                    return found if key is not _UNKNOWN and isinstance(receiver.items, dict) \
                        and key in receiver.items else _join(found, default)
            if isinstance(receiver, Obj) and receiver.kind == "dict" and attr in ("keys", "values", "items", "copy"):
                if attr == "copy":
                    return receiver
                return Obj("list", node, element=self._element(Obj("list", element=_dict_part(receiver, attr)), node))
            if isinstance(receiver, Obj) and receiver.kind == "list" and attr == "pop":
                index = self._const(node.args[0], env, ctx, depth) if node.args else -1
                return _load(receiver, index, node)
            if isinstance(receiver, Obj) and receiver.kind == "list" and attr == "copy":
                return receiver
            # self.method(...) / cls.method(...) / Helper().method(...) / helper.method(...):
            # a method of a class of this module.
            if receiver is None and isinstance(func.value, (ast.Name, ast.Call)):
                receiver = self.eval(func.value, env, ctx, depth + 1)
            if isinstance(receiver, Obj) and receiver.kind in ("instance", "class") \
                    and isinstance(receiver.node, ast.ClassDef):
                method = _method(receiver.node, attr)
                if method is not None:
                    return self._call_function(method, node, env, ctx, depth, receiver.node)
            if isinstance(func.value, ast.Name) and ctx.cls is not None and func.value.id == ctx.cls.name:
                method = _method(ctx.cls, attr)
                if method is not None:
                    return self._call_function(method, node, env, ctx, depth, ctx.cls)
        if isinstance(func, ast.Name):
            name = func.id
            if name in ("str",) and len(node.args) == 1:
                value = self.eval(node.args[0], env, ctx, depth + 1)
                return self.as_built(value, node.args[0])
            if name in ("dict", "list", "tuple", "set", "sorted", "reversed", "frozenset") and qual == name:
                if not node.args:
                    return Obj("dict" if name == "dict" else "list", node, items={} if name == "dict" else [])
                inner = self.eval(node.args[0], env, ctx, depth + 1)
                if isinstance(inner, Obj) and inner.kind in ("list", "dict"):
                    if name == "dict":
                        return inner
                    return Obj("list", node, items=inner.items if inner.kind == "list" and name != "sorted" else None,
                               element=self._element(inner, node.args[0]))
                return Obj("list", node, element=self._element(inner, node.args[0]))
            if name in ("range",) and qual == "range":
                return Obj("list", node, element=number())
            if name == "enumerate" and node.args:
                inner = self.eval(node.args[0], env, ctx, depth + 1)
                return Obj("list", node, element=Obj("list", items=[number(), self._element(inner, node.args[0])]))
            if name == "zip":
                parts = [self._element(self.eval(a, env, ctx, depth + 1), a) for a in node.args]
                return Obj("list", node, element=Obj("list", items=parts))
            value = self._lookup(name, func, env, ctx, depth) if name in env or qual == name else None
            if isinstance(value, Obj) and value.kind == "function":
                return self._call_function(value.node, node, env, ctx, depth, None)
            if isinstance(value, Obj) and value.kind == "safe":  # qn = connection.ops.quote_name
                return Built([Piece(SAFE_MARK, node)])
            if isinstance(value, Obj) and value.kind == "db":
                return Obj("db", node)
            if isinstance(value, Obj) and value.kind == "class":
                return Obj("instance", value.node)
        if qual and qual.startswith(_REQUEST_HEADS):
            return Built([Hole(node, None, "request data")])
        return opaque(node)

    def _is_safe_name(self, qual, last) -> bool:
        if qual in self.safe_calls or last in self.safe_calls:
            return True
        if last and _QUOTING.match(last):  # quote_identifier, _quote_free_identifiers...
            return True
        if not last or "_" not in last:
            return False
        pieces = last.split("_")  # geo_quote_name ends with quote_name
        return any("_".join(pieces[i:]) in self.safe_calls for i in range(1, len(pieces)))

    def _call_function(self, fn, call, env, ctx, depth, cls):
        if len(ctx.calls) > MAX_CALL_DEPTH or fn in ctx.calls or self.steps > STEP_BUDGET:
            return opaque(call)
        if fn is ctx.scope:
            return opaque(call)
        params = self._params(fn, call, (env, ctx, depth), cls or self._class_of(fn))
        inner = _Ctx(fn, None, [], ctx.calls + (fn,), 0, cls or self._class_of(fn))
        self._exec_block(fn.body, params, inner, None)
        if not inner.returns:
            return Obj("none")
        result = _join_all(inner.returns)
        if isinstance(result, Built):
            label = getattr(fn, "name", "?")
            return Built([replace(p, origin=p.origin or f"returned by `{label}()`") if isinstance(p, Hole) else p
                          for p in result.parts])
        return result

    def _format_call(self, node: ast.Call, template: str, env, ctx, depth) -> Built:
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        fields = format_fields(template)
        if fields is None:
            return opaque(node, HOW_FORMAT)
        out, auto = Built(), 0
        for literal, head, field_name, spec in fields:
            if literal:
                out.parts.append(Piece(literal, None))
            if field_name is None:
                continue
            target: ast.AST | None
            if head == "":
                target = node.args[auto] if auto < len(node.args) else None
                auto += 1
            elif head.isdigit():
                index = int(head)
                target = node.args[index] if index < len(node.args) else None
            else:
                target = keywords.get(head)
            if target is None or isinstance(target, ast.Starred):
                out.parts.append(Hole(node, HOW_FORMAT))
                continue
            if head != field_name:  # attribute or index of the argument
                out.parts.append(Hole(target, HOW_FORMAT))
            else:
                out = out.add(self._interp(target, HOW_FORMAT, env, ctx, depth, is_numeric_spec(spec)))
        return out

    def _join(self, node: ast.Call, separator: str, iterable: ast.AST, env, ctx, depth):
        element = repeated_element(iterable)
        if element is not None:
            built = self.eval(element, env, ctx, depth + 1)
            if isinstance(built, Built) and built.is_constant:  # a placeholder list
                return Built([Piece(separator.join([built.text()] * 2), None)])
        value = self.eval(iterable, env, ctx, depth + 1)
        if isinstance(value, Built) and value.is_constant:
            return Built([Piece(separator.join(value.text()), None)])
        if isinstance(value, Obj) and value.kind == "list" and isinstance(value.items, list):
            out = Built()
            for i, item in enumerate(value.items):
                if i:
                    out.parts.append(Piece(separator, None))
                out = out.add(self.as_built(item, iterable).with_how(HOW_JOIN))
            return out
        if isinstance(value, Obj) and value.kind in ("list", "dict") and value.element is not None:
            item = self.as_built(value.element, iterable)
            if item.is_opaque:
                return Built([replace(item.parts[0], node=node, how=HOW_JOIN)])
            item = item.with_how(HOW_JOIN)
            return Built(item.parts + [Piece(separator, None)] + item.parts)
        if isinstance(value, Obj) and value.kind == "dict" and isinstance(value.items, dict) and all(
                isinstance(k, str) for k in value.items):
            return Built([Piece(separator.join(value.items), None)])
        origin = value.parts[0].origin if isinstance(value, Built) and value.is_opaque else ""
        return Built([Hole(node, HOW_JOIN, origin)])

    def _attribute(self, node: ast.Attribute, env, ctx, depth):
        qual = self.file.qualname(node)
        if qual in self.receiver_qualnames:
            return Obj("db", node)
        if self._is_safe_name(qual, node.attr):
            return Obj("safe", node)
        if node.attr in self.safe_attributes:
            return Built([Piece(SAFE_MARK, node)])
        base_node = node.value
        if isinstance(base_node, ast.Name):
            base = env.get(base_node.id)
            if base is None:
                base = self._lookup(base_node.id, base_node, env, ctx, depth) \
                    if not self.file.names.is_imported(base_node.id) else None
            cls = None
            if isinstance(base, Obj) and base.kind in ("instance", "class"):
                cls = base.node
            if cls is not None:
                found = self._class_attr(cls, node.attr, env, ctx)
                if found is not None:
                    return found
            if isinstance(base, Obj) and base.kind == "db" and node.attr in self.receiver_methods:
                return Obj("db", node)
            if qual and qual.startswith(_REQUEST_HEADS):
                return Built([Hole(node, None, "request data")])
            if _is_constant_name(node.attr) and (
                    (base is None and self.file.names.is_imported(base_node.id))
                    or isinstance(base, Obj) and base.kind in ("module", "class")):
                return _constant(node)  # settings.TABLE_PREFIX, OrderStatus.PAID
        elif isinstance(base_node, ast.Attribute) or isinstance(base_node, ast.Call):
            base = self.eval(base_node, env, ctx, depth + 1)
            if isinstance(base, Obj) and base.kind == "db" and node.attr in self.receiver_methods:
                return Obj("db", node)
            if isinstance(base, Built) and base.is_constant and node.attr in ("value", "name") \
                    and isinstance(base_node, ast.Attribute):
                # An enum member: `Status.ACTIVE.value`, `Status.ACTIVE.name`
                return base if node.attr == "value" else Built([Piece(base_node.attr, node)])
            if _is_constant_name(node.attr) and isinstance(base_node, ast.Attribute) \
                    and self.file.qualname(base_node) is not None \
                    and not (qual or "").startswith(_REQUEST_HEADS) \
                    and self.file.names.is_imported(_root_name(base_node)):
                return _constant(node)  # django.conf.settings.TABLE_PREFIX
        return opaque(node)

    def _class_attr(self, cls: ast.ClassDef, attr: str, env, ctx):
        module = self._scope(None)
        holder = (module.final or module.current).get(cls.name)
        if not (isinstance(holder, Obj) and holder.node is cls):
            holder = None
            # A class nested in a function: interpret its body on the spot.
            class_ctx = _Ctx(ctx.scope, None, [], ctx.calls, 0, cls)
            result = self._exec_block(cls.body, {}, class_ctx, None)
            if result is not None and attr in result and not isinstance(result[attr], Obj):
                return result[attr]
            return None
        value = (holder.attrs or {}).get(attr)
        if isinstance(value, Obj) and value.kind == "function":
            return None
        return value

    def _subscript(self, node: ast.Subscript, env, ctx, depth):
        base = self.eval(node.value, env, ctx, depth + 1)
        if isinstance(base, Obj) and base.kind in ("dict", "list"):
            if isinstance(node.slice, ast.Slice):
                return base if base.kind == "list" else opaque(node)
            key = self._const(node.slice, env, ctx, depth)
            return _load(base, key, node)
        if isinstance(base, Obj) and base.kind == "db":
            return Obj("db", node)  # connections["default"]
        if isinstance(base, Built):
            if base.is_constant:
                value = self._const(node, env, ctx, depth)
                if isinstance(value, str):
                    return Built([Piece(value, None)])
                return Built([Piece(base.text()[:1], None)])
            holes = base.holes
            if base.is_opaque:
                hole = holes[0]
                return Built([Hole(node, None, hole.origin or "")])
            # A slice of a built string still carries the values that built it.
            return Built([Hole(node, None, f"a part of a string built from `{_short(holes[0].label)}`",
                               all(h.checked for h in holes))])
        return opaque(node)

    def _element(self, value, node):
        """What iterating over `value` gives, one element standing for all."""
        if isinstance(value, Obj):
            if value.kind == "list":
                if isinstance(value.items, list) and value.items:
                    return _join_all(value.items)
                if value.element is not None:
                    return value.element
            if value.kind == "dict" and isinstance(value.items, dict):
                keys = [Built([Piece(k, None)]) if isinstance(k, str) else _opaque_value(node)
                        for k in value.items]
                return _join_all(keys) if keys else _opaque_value(node)
        if isinstance(value, Built):
            if value.is_constant:
                return Built([Piece(value.text()[:1], None)])
            if value.is_opaque:
                hole = value.parts[0]
                return Built([Hole(hole.node, None, hole.origin or f"an element of `{_short(hole.label)}`",
                                   hole.checked)])
        return Built([Hole(node, None, f"an element of `{_short(_unparse(node))}`")])

    # -- constant evaluation ------------------------------------------------------------
    def _const(self, node, env, ctx, depth):
        """The Python value of `node` when it is a constant here, else `_UNKNOWN`."""
        if node is None or depth > MAX_DEPTH:
            return _UNKNOWN
        try:
            return self._const_inner(node, env, ctx, depth)
        except Exception:
            return _UNKNOWN

    def _const_inner(self, node, env, ctx, depth):  # noqa: C901
        c = lambda n: self._const(n, env, ctx, depth + 1)  # noqa: E731
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            value = self._lookup(node.id, node, env, ctx, depth) if isinstance(node, ast.Name) \
                else self._attribute(node, env, ctx, depth)
            return _python_value(value)
        if isinstance(node, ast.BinOp):
            left, right = c(node.left), c(node.right)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                return _UNKNOWN
            if isinstance(node.op, ast.Mult) and (isinstance(left, str) or isinstance(right, str)):
                if max(left if isinstance(left, int) else 0, right if isinstance(right, int) else 0) > 1000:
                    return _UNKNOWN
            if isinstance(node.op, ast.Pow):
                return _UNKNOWN
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = c(node.operand)
            if operand is _UNKNOWN:
                return _UNKNOWN
            return {ast.Not: lambda v: not v, ast.USub: lambda v: -v, ast.UAdd: lambda v: +v,
                    ast.Invert: lambda v: ~v}[type(node.op)](operand)
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            result = _UNKNOWN
            for value in node.values:
                result = c(value)
                if result is _UNKNOWN:
                    return _UNKNOWN
                if bool(result) != is_and:
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = c(node.left)
            if left is _UNKNOWN:
                return _UNKNOWN
            for op, comparator in zip(node.ops, node.comparators):
                right = c(comparator)
                if right is _UNKNOWN:
                    return _UNKNOWN
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Subscript):
            base = c(node.value)
            if base is _UNKNOWN or not isinstance(base, (str, tuple, list)):
                return _UNKNOWN
            if isinstance(node.slice, ast.Slice):
                parts = [c(p) if p is not None else None for p in (node.slice.lower, node.slice.upper, node.slice.step)]
                if _UNKNOWN in parts:
                    return _UNKNOWN
                return base[slice(*parts)]
            index = c(node.slice)
            return _UNKNOWN if index is _UNKNOWN else base[index]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = [c(e) for e in node.elts]
            if _UNKNOWN in values:
                return _UNKNOWN
            return tuple(values) if not isinstance(node, ast.Set) else frozenset(values)
        if isinstance(node, ast.Call):
            func = node.func
            args = [c(a) for a in node.args]
            if _UNKNOWN in args or node.keywords:
                return _UNKNOWN
            if isinstance(func, ast.Name) and func.id in ("len", "str", "int", "abs", "bool") \
                    and self.file.qualname(func) == func.id:
                return {"len": len, "str": str, "int": int, "abs": abs, "bool": bool}[func.id](*args)
            if isinstance(func, ast.Attribute) and func.attr in _CONST_STR_METHODS:
                base = c(func.value)
                if isinstance(base, str):
                    return getattr(base, func.attr)(*args)
        if isinstance(node, ast.IfExp):
            test = c(node.test)
            if test is _UNKNOWN:
                return _UNKNOWN
            return c(node.body if test else node.orelse)
        return _UNKNOWN


_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
           ast.BitAnd: lambda a, b: a & b, ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b,
           ast.LShift: lambda a, b: a << b if b < 64 else _UNKNOWN, ast.RShift: lambda a, b: a >> b,
           ast.MatMult: lambda a, b: _UNKNOWN}
_COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
            ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
            ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b}
_CONST_STR_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith",
                      "find", "index", "count", "replace", "split", "isdigit", "isalpha", "title"}


def _python_value(value):
    if isinstance(value, Obj):
        if value.kind == "none":
            return None
        if value.kind == "list" and isinstance(value.items, list):
            items = [_python_value(v) for v in value.items]
            return _UNKNOWN if _UNKNOWN in items else items
        return _UNKNOWN
    if isinstance(value, Built) and value.is_constant:
        if all(isinstance(p, Piece) and p.is_text for p in value.parts):
            return value.text()
        if len(value.parts) == 1 and value.parts[0].exact and not value.parts[0].is_text:
            return ast.literal_eval(value.parts[0].text)
    return _UNKNOWN


def statements(tree):
    """Every statement of the module with its enclosing function and class, walking
    statement lists only (cheap on big generated modules); iterative."""
    if tree is None:
        return
    stack = [(stmt, None, None) for stmt in reversed(tree.body)]
    while stack:
        stmt, fn, cls = stack.pop()
        yield stmt, fn, cls
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner_fn, inner_cls = stmt, None
        elif isinstance(stmt, ast.ClassDef):
            inner_fn, inner_cls = fn, stmt
        else:
            inner_fn, inner_cls = fn, cls
        blocks = [getattr(stmt, name, None) for name in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        blocks += [c.body for c in getattr(stmt, "cases", [])]
        for block in blocks:
            if isinstance(block, list):
                stack.extend((child, inner_fn, inner_cls) for child in reversed(block)
                             if isinstance(child, ast.stmt))


_CONSTANT_NAME = re.compile(r"^_*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


def _is_constant_name(name: str) -> bool:
    """ALL_CAPS (two letters or more): a constant by convention (PEP 8)."""
    return len(name.strip("_")) > 1 and bool(_CONSTANT_NAME.match(name)) and name not in _NOT_CONSTANTS


# ALL_CAPS attributes that hold request data, not constants.
_NOT_CONSTANTS = {"GET", "POST", "FILES", "META", "COOKIES", "REQUEST", "DATA", "QUERY_STRING"}


def _constant(node) -> Built:
    """A value the code defines elsewhere (a constant by convention): safe, text unknown."""
    return Built([Piece(SAFE_MARK, node if isinstance(node, ast.AST) and hasattr(node, "lineno") else None)])


def _root_name(node) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


class Env(dict):
    """Variable values. Copied on write once `shared` (recorded, or used by two paths)."""

    shared = False


def _set(env: dict, name: str, value) -> "Env":
    if not isinstance(env, Env) or env.shared:
        env = Env(env)
    env[name] = value
    return env


def _share(env):
    if isinstance(env, Env):
        env.shared = True
    return env


def _numeric(built: Built) -> bool:
    return bool(built.parts) and all(isinstance(p, Piece) and not p.is_text for p in built.parts)


def _hashable(value) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


def _opaque_value(node) -> Built:
    return Built([Hole(node, None, "")])


def _with_origin(value, name: str, line: int):
    """Name the variable a wholly unknown value was first bound to, for messages."""
    if isinstance(value, Built) and value.is_opaque:
        hole = value.parts[0]
        if not hole.origin:
            return Built([replace(hole, origin=f"`{name}` from line {line}")])
        if hole.origin == "request data":
            return Built([replace(hole, origin=f"request data, `{name}` from line {line}")])
    return value


def _rank(value) -> tuple:
    """Which of two values a join keeps: a built string, then a database handle (for
    receivers), then any unknown value, then a constant string, then other objects."""
    if isinstance(value, Built):
        built = len(value.built_holes)
        if built:
            return (4, built, len(value.holes), len(value.parts))
        if value.holes:
            return (2, len(value.holes), len(value.parts))
        return (1, len(value.parts))
    if isinstance(value, Obj):
        return {"db": (3,), "none": (-1,)}.get(value.kind, (0,))
    return (0,)


def _join(a, b):
    """One value standing for either: the one that may carry a non-constant value."""
    if a is None:
        return b
    if b is None or a is b:
        return a
    if isinstance(a, Obj) and isinstance(b, Obj) and a.kind == b.kind and a.kind in ("dict", "list"):
        if a.kind == "dict" and isinstance(a.items, dict) and isinstance(b.items, dict):
            items = dict(a.items)
            for k, v in b.items.items():
                items[k] = _join(items.get(k), v)
            return Obj("dict", b.node, items=items, element=_join(a.element, b.element))
        if a.kind == "list" and isinstance(a.items, list) and isinstance(b.items, list) \
                and len(a.items) == len(b.items):
            return Obj("list", b.node, items=[_join(x, y) for x, y in zip(a.items, b.items)])
        return Obj(a.kind, b.node, element=_join(_any_element(a), _any_element(b)))
    return a if _rank(a) > _rank(b) else b


def _join_all(values):
    out = None
    for value in values:
        out = _join(out, value)
    return out


def _any_element(obj: Obj):
    if isinstance(obj.items, list):
        return _join_all(obj.items + ([obj.element] if obj.element is not None else []))
    if isinstance(obj.items, dict):
        return _join_all(list(obj.items.values()) + ([obj.element] if obj.element is not None else []))
    return obj.element


def _join_env(a: dict | None, b: dict | None) -> dict | None:
    if a is None:
        return b
    if b is None or a is b:
        return a
    out = Env(a)
    for key, value in b.items():
        if key in out:
            if out[key] is not value:
                out[key] = _join(out[key], value)
        else:
            out[key] = value
    return out


def _store(container: Obj, key, value) -> Obj:
    if container.kind == "dict":
        items = dict(container.items) if isinstance(container.items, dict) else {}
        if key is _UNKNOWN or not _hashable(key):
            return replace(container, items=items, element=_join(container.element, value))
        items[key] = value
        return replace(container, items=items)
    if isinstance(container.items, list) and isinstance(key, int) and -len(container.items) <= key < len(container.items):
        items = list(container.items)
        items[key] = value
        return replace(container, items=items)
    return Obj("list", container.node, element=_join(_any_element(container), value))


def _load(container: Obj, key, node, missing=_UNKNOWN):
    if container.kind == "dict":
        if isinstance(container.items, dict) and key is not _UNKNOWN and _hashable(key) and key in container.items:
            return _join(container.items[key], container.element) if container.element is not None \
                else container.items[key]
        if key is _UNKNOWN or container.element is not None:
            joined = _any_element(container)
            if joined is not None:
                return _keep_node(joined, node)
        return _opaque_value(node) if missing is _UNKNOWN else missing
    if isinstance(container.items, list) and isinstance(key, int) and -len(container.items) <= key < len(container.items):
        return container.items[key]
    joined = _any_element(container)
    return _keep_node(joined, node) if joined is not None else _opaque_value(node)


def _keep_node(value, node):
    return value


def _unknown_list(items) -> Obj:
    return Obj("list", element=_join_all(items))


def _dict_part(obj: Obj, attr: str):
    keys = [Built([Piece(k, None)]) for k in (obj.items or {}) if isinstance(k, str)]
    values = list((obj.items or {}).values()) + ([obj.element] if obj.element is not None else [])
    if attr == "keys":
        return _join_all(keys)
    if attr == "values":
        return _join_all(values)
    return Obj("list", items=[_join_all(keys), _join_all(values)])


def _method(cls: ast.ClassDef, name: str):
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            return stmt
    return None


def _unparse(node) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "<expression>"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["Interpreter", "Obj", "HOW_FORMAT", "HOW_FSTRING", "HOW_JOIN", "HOW_PERCENT", "re"]
