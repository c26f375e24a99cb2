"""Recognising ORM query chains in Python syntax trees, for the data-access rules.

Three shapes are known, all read from syntax alone (no inference, nothing imported):

- Django QuerySets: `Model.objects.filter(...).order_by(...)[:10]` (also the
  `_default_manager` / `_base_manager` managers);
- SQLAlchemy ORM queries: `session.query(Model).filter(...).all()` (1.x style) and
  Flask-SQLAlchemy's `Model.query.filter_by(...)`;
- SQLAlchemy statements: `select(Model).where(...)`, `update(Model)`, `delete(Model)`
  (2.0 style, and Core), when `select`/`update`/`delete` come from `sqlalchemy` or
  `sqlmodel` through the module's imports.

A chain is unrolled into its base (`Model.objects`, `session`, `select(Model)`) and the
method calls and subscripts applied to it, in source order. Local variables are followed
inside one function (`qs = Model.objects.all(); qs = qs.filter(...)`), so that a rule sees
every step that may have been applied before a queryset is used.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .walk import children_reversed

DJANGO = "django"
SA_QUERY = "sqlalchemy-query"  # session.query(M)... / M.query...
SA_STATEMENT = "sqlalchemy-statement"  # select(M)... / update(M)... / delete(M)...

DJANGO_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
# Django QuerySet methods that return another QuerySet (nothing runs yet).
DJANGO_LAZY = frozenset("""
    all filter exclude order_by select_related prefetch_related only defer distinct values
    values_list annotate alias using select_for_update reverse extra union intersection
    difference none dates datetimes complex_filter db_manager
    """.split())
# Methods that run a query returning one row or one value (or write).
DJANGO_SINGLE = frozenset("""
    get first last earliest latest exists count aggregate contains get_or_create
    update_or_create create aget afirst alast aearliest alatest aexists acount aaggregate
    acontains aget_or_create aupdate_or_create acreate
    """.split())
DJANGO_WRITES = frozenset("""
    update delete create get_or_create update_or_create bulk_create bulk_update aupdate
    adelete acreate aget_or_create aupdate_or_create abulk_create abulk_update
    """.split())
DJANGO_FILTERS = frozenset({"filter", "exclude", "get", "complex_filter", "aget"})
SA_FILTERS = frozenset({"filter", "filter_by", "where", "having", "get", "join"})
SA_STATEMENT_FUNCS = {"select": "select", "update": "update", "delete": "delete",
                      "insert": "insert"}
_SA_MODULES = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy")
_SESSION_WORDS = ("session", "sess")
_SESSION_NAMES = frozenset({"db", "s", "dbs", "orm", "uow"})


@dataclass
class Step:
    name: str  # method name, or "[]" for a subscript
    node: ast.AST  # the Call (or Subscript)

    @property
    def call(self) -> ast.Call | None:
        return self.node if isinstance(self.node, ast.Call) else None


@dataclass
class Chain:
    kind: str
    model: str  # source text of the model / table (or "" when unknown)
    base: ast.AST
    steps: list[Step] = field(default_factory=list)
    statement: str = "select"  # for SA_STATEMENT: select / update / delete / insert

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def has(self, *names: str) -> bool:
        return any(step.name in names for step in self.steps)

    def steps_named(self, *names: str) -> list[Step]:
        return [step for step in self.steps if step.name in names]

    @property
    def last(self) -> str:
        return self.steps[-1].name if self.steps else ""


def unroll(node: ast.AST) -> tuple[ast.AST, list[Step]]:
    """`a.b(x).c()[:3]` -> (`a`, [Step("b"), Step("c"), Step("[]")]), in source order.
    `await` is looked through: `(await session.execute(s)).scalars()` is one chain."""
    steps: list[Step] = []
    while True:
        if isinstance(node, ast.Await):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            steps.append(Step(node.func.attr, node))
            node = node.func.value
        elif isinstance(node, ast.Subscript):
            steps.append(Step("[]", node))
            node = node.value
        else:
            break
    steps.reverse()
    return node, steps


def dotted(node: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def model_like(node: ast.AST) -> bool:
    """`User`, `models.User`, `self.Order` ... : a capitalised last name."""
    name = dotted(node)
    if not name:
        return False
    last = name.rsplit(".", 1)[-1]
    return last[:1].isupper()


def session_like(node: ast.AST) -> bool:
    """A receiver that reads as an SQLAlchemy session: `session`, `db.session`,
    `self.session`, `Session()`, FastAPI's `db`."""
    if isinstance(node, ast.Call):
        name = dotted(node.func) or ""
        return "session" in name.lower()
    name = dotted(node)
    if not name:
        return False
    last = name.rsplit(".", 1)[-1].lower()
    return any(word in last for word in _SESSION_WORDS) or last in _SESSION_NAMES


def _sa_function(call: ast.AST, file) -> str | None:
    """'select' / 'update' / 'delete' / 'insert' when `call` is that SQLAlchemy construct."""
    if not isinstance(call, ast.Call):
        return None
    qualname = file.qualname(call.func) or ""
    head, _, last = qualname.rpartition(".")
    if last in SA_STATEMENT_FUNCS and head.split(".")[0] in _SA_MODULES:
        return SA_STATEMENT_FUNCS[last]
    # Flask-SQLAlchemy 3 re-exports them on the extension object: `db.select(User)`.
    if last in SA_STATEMENT_FUNCS and head == "db" and not file.names.is_imported("db"):
        return SA_STATEMENT_FUNCS[last]
    return None


def chain_of(node: ast.AST, file) -> Chain | None:
    """The ORM chain `node` is (without following variables), or None."""
    base, steps = unroll(node)
    if steps and steps[0].call is not None and _sa_function(steps[0].call, file):
        base, steps = steps[0].call, steps[1:]  # sa.select(User).where(...), db.select(...)
    if isinstance(base, ast.Attribute) and base.attr in DJANGO_MANAGERS:
        # `self.model._default_manager` in generic code is left out: its model, and so
        # what the query means, is not known here.
        if model_like(base.value):
            return Chain(DJANGO, dotted(base.value) or "", base, steps)
        return None
    if isinstance(base, ast.Attribute) and base.attr == "query" and model_like(base.value):
        return Chain(SA_QUERY, dotted(base.value) or "", base, steps)
    if steps and steps[0].name == "query" and session_like(base):
        call = steps[0].call
        if call is not None and call.args and _query_entity(call.args[0]):
            model = dotted(call.args[0]) or ""
            return Chain(SA_QUERY, model.split(".")[0], base, steps[1:])
        return None
    kind = _sa_function(base, file)
    if kind is not None:
        model = ""
        if base.args:
            model = (dotted(base.args[0]) or "").split(".")[0]
        return Chain(SA_STATEMENT, model, base, steps, statement=kind)
    return None


def _query_entity(arg: ast.AST) -> bool:
    """`session.query()` arguments: a model, a column (`User.id`), or a function of one."""
    if model_like(arg):
        return True
    name = dotted(arg)
    if name and "." in name and name.split(".")[0][:1].isupper():
        return True
    if isinstance(arg, ast.Call):
        func = dotted(arg.func) or ""
        return func.startswith(("func.", "sa.func.", "sqlalchemy.func.")) or func in (
            "distinct", "literal_column")
    return False


def scopes_for(file) -> "Scopes":
    """The file's one `Scopes`: several rules ask the same questions of the same tree."""
    scopes = file.__dict__.get("_orm_scopes")
    if scopes is None or scopes.tree is not file.tree:
        scopes = file.__dict__["_orm_scopes"] = Scopes(file)
    return scopes


class Scopes:
    """Simple assignments (`name = value`) per function, built once per file on demand;
    parents come from the file's shared index (PythonFile.parent)."""

    def __init__(self, file) -> None:
        self.file = file
        self.tree = file.tree
        self._assignments: dict[int, dict[str, list[ast.AST]]] = {}

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.file.parent(node)

    def function_of(self, node: ast.AST) -> ast.AST | None:
        key = id(node)
        cache = self.__dict__.setdefault("_functions", {})
        if key in cache:
            return cache[key]
        path, current, found = [node], self.parent(node), None
        while current is not None:
            if id(current) in cache:
                found = cache[id(current)]
                break
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                found = current
                break
            path.append(current)
            current = self.parent(current)
        for item in path:  # memoised: deep expressions stay linear
            cache[id(item)] = found
        return found

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        current: ast.AST | None = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self.parent(current)
        return current

    def assignments(self, scope: ast.AST | None) -> dict[str, list[ast.AST]]:
        """name -> the values assigned to it in `scope` (a function, or the module when
        None); a binding that is not a plain `name = value` is recorded as None."""
        key = id(scope) if scope is not None else 0
        if key in self._assignments:
            return self._assignments[key]
        found: dict[str, list] = {}
        body = scope.body if scope is not None and not isinstance(scope, ast.Lambda) else (
            [] if scope is not None else getattr(self.tree, "body", []))
        if scope is not None and not isinstance(scope, ast.Lambda):
            for arg in scope.args.posonlyargs + scope.args.args + scope.args.kwonlyargs:
                found.setdefault(arg.arg, []).append(None)
        stack = list(body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                if scope is None and isinstance(node, ast.ClassDef):
                    continue
                continue
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(node.value)
                    else:
                        for sub in ast.walk(target):
                            if isinstance(sub, ast.Name):
                                found.setdefault(sub.id, []).append(None)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(None)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                for sub in ast.walk(node.target):
                    if isinstance(sub, ast.Name):
                        found.setdefault(sub.id, []).append(None)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        for sub in ast.walk(item.optional_vars):
                            if isinstance(sub, ast.Name):
                                found.setdefault(sub.id, []).append(None)
            elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(node.value)
            # `ast.iter_child_nodes` order, without the Load/Store contexts (which bind nothing).
            children = children_reversed(node)
            children.reverse()
            stack.extend(children)
        self._assignments[key] = found
        return found

    def values_of(self, name: ast.Name) -> list[ast.AST] | None:
        """The values a local name may hold where it is used (None: not only plain
        assignments, or not bound in its function)."""
        scope = self.function_of(name)
        values = self.assignments(scope).get(name.id)
        if not values or any(v is None for v in values):
            return None
        return values

    def chain(self, node: ast.AST, file, depth: int = 0) -> Chain | None:
        """`chain_of(node)`, following local variables the chain starts from: every step
        applied in any assignment of the variable is included (a branch may skip some;
        a rule that looks for a bounding step then errs on the side of silence)."""
        found = chain_of(node, file)
        if found is not None or depth > 6:
            return found
        base, steps = unroll(node)
        if not isinstance(base, ast.Name):
            return None
        values = self.values_of(base)
        if not values:
            return None
        root: Chain | None = None
        extra: list[Step] = []
        for value in values:
            value_base, value_steps = unroll(value)
            if isinstance(value_base, ast.Name) and value_base.id == base.id:
                extra.extend(value_steps)  # qs = qs.filter(...)
                continue
            found = self.chain(value, file, depth + 1)
            if found is None:
                return None  # the name also holds something else
            if root is None:
                root = found
            else:
                extra.extend(found.steps)
        if root is None:
            return None
        return Chain(root.kind, root.model, root.base, root.steps + extra + steps, root.statement)


def is_empty_call(step: Step) -> bool:
    """`.filter()` with no arguments filters nothing."""
    call = step.call
    return call is not None and not call.args and not call.keywords


def keyword_names(call: ast.Call) -> list[str | None]:
    return [keyword.arg for keyword in call.keywords]


def lookup_field(keyword: str) -> str:
    """Django lookup `author__email__iexact` -> ('author__email' minus the lookup type)."""
    parts = keyword.split("__")
    if len(parts) > 1 and parts[-1] in _LOOKUP_TYPES:
        parts = parts[:-1]
    return "__".join(parts)


_LOOKUP_TYPES = frozenset("""
    exact iexact in gt gte lt lte contains icontains startswith istartswith endswith
    iendswith range isnull regex iregex date year month day week_day
    """.split())


def unique_fields(nodes) -> set[str]:
    """Field names the module itself declares unique or primary key: Django model fields
    (`unique=True`, `primary_key=True`) and SQLAlchemy columns (`Column(...,
    unique=True)`, `mapped_column(primary_key=True)`)."""
    found: set[str] = set()
    for node in nodes:  # every node of the module (PythonFile.nodes())
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            target, value = None, None
            if isinstance(item, ast.Assign) and len(item.targets) == 1:
                target, value = item.targets[0], item.value
            elif isinstance(item, ast.AnnAssign):
                target, value = item.target, item.value
            if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
                continue
            for keyword in value.keywords:
                if keyword.arg in ("unique", "primary_key") and isinstance(
                        keyword.value, ast.Constant) and keyword.value.value is True:
                    found.add(target.id)
    return found
