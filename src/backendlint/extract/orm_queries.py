"""Query facts from ORM calls.

Django: `Model.<manager>.filter / exclude / get / get_or_create / update_or_create /
order_by` chains, with `field__lookup` keywords and related paths (`author__email`),
`Q(...)` objects joined with `&` (an `|` or `~` makes the whole Q unindexable here, so it
is left out), and slicing / `first()` / `last()` / `latest()` as a limit.

SQLAlchemy: `session.query(Model)`, `Model.query` (Flask-SQLAlchemy) and `select(Model)`
chains with `filter / where / filter_by / order_by / join / outerjoin / limit / first`,
conditions `Model.col == value`, `<`, `>`, `.in_()`, `.between()`, `and_()`, `&`, and
Core `table.c.col`.

Model names are kept as the code names them (through the imports); `sql.schema_model`
resolves them against the models of the whole project."""
from __future__ import annotations

import ast

from ..facts.queries import EQ, IN, ORDER, OTHER, QUERY, RANGE, OrmJoin, OrmQuery, OrmRef
from . import FactExtractor
from .pyhelpers import const_str, last_name

DJANGO_LOOKUP_METHODS = {"filter", "exclude", "get", "get_or_create", "update_or_create"}
DJANGO_METHODS = DJANGO_LOOKUP_METHODS | {
    "order_by", "first", "last", "latest", "earliest", "all", "values", "values_list", "count",
    "exists", "select_related", "prefetch_related", "only", "defer", "distinct", "annotate",
    "delete", "update", "iterator", "using", "select_for_update", "aggregate", "in_bulk",
    "aget", "afirst", "alast", "acount", "aexists", "aget_or_create", "aupdate_or_create",
}
DJANGO_ROLES = {"exact": EQ, "in": IN, "gt": RANGE, "gte": RANGE, "lt": RANGE, "lte": RANGE,
                "range": RANGE}
DJANGO_LOOKUPS = {"exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte",
                  "startswith", "istartswith", "endswith", "iendswith", "range", "date", "year",
                  "iso_year", "month", "day", "week", "week_day", "iso_week_day", "quarter",
                  "time", "hour", "minute", "second", "isnull", "regex", "iregex", "search",
                  "contained_by", "overlap", "has_key", "has_keys", "has_any_keys", "len",
                  "trigram_similar", "unaccent"}
SA_METHODS = {"filter", "where", "filter_by", "order_by", "join", "outerjoin", "limit", "first",
              "one", "one_or_none", "all", "scalar", "scalars", "offset", "options", "distinct",
              "first_or_404", "get_or_404", "count", "group_by", "having", "with_for_update",
              "paginate", "execution_options", "select_from", "one_or_404", "delete", "update",
              "values", "returning"}


def _unroll(node) -> list[tuple[str, object, ast.AST]]:
    links = []
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            links.append(("call", node.func.attr, node))
            node = node.func.value
        elif isinstance(node, ast.Call):
            links.append(("func", node.func, node))
            break
        elif isinstance(node, ast.Subscript):
            links.append(("slice", None, node))
            node = node.value
        elif isinstance(node, ast.Attribute):
            links.append(("attr", node.attr, node))
            node = node.value
        elif isinstance(node, ast.Name):
            links.append(("name", node.id, node))
            break
        else:
            links.append(("other", None, node))
            break
    links.reverse()
    return links


def _mentions(call: ast.Call, out: set[str]) -> None:
    """Every name a chain call mentions: keyword lookups (`deleted_at__isnull`, in `Q`
    under `|` / `~` too), attributes (`User.deleted_at.is_(None)`) and string field names.
    Walks only this call's own arguments, never the whole module."""
    for arg in [*call.args, *(kw.value for kw in call.keywords)]:
        for inner in ast.walk(arg):
            if isinstance(inner, ast.Attribute):
                out.add(inner.attr.lower())
            elif isinstance(inner, ast.keyword) and inner.arg:
                out.add(inner.arg.split("__")[0].lower())
            elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and inner.value.isidentifier() \
                    or isinstance(inner, ast.Constant) and isinstance(inner.value, str) and "__" in inner.value:
                out.add(inner.value.lstrip("-").split("__")[0].lower())
    for kw in call.keywords:
        if kw.arg:
            out.add(kw.arg.split("__")[0].lower())


def _text(node) -> str:
    try:
        return _short(ast.unparse(node))
    except Exception:  # pragma: no cover - unparse of odd trees
        return ""


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OrmQueries(FactExtractor):
    kinds = (QUERY,)
    triggers = ("objects", "query", "select", "filter", "where", "order_by")
    languages = ("python",)

    def __init__(self, file, facts):
        super().__init__(file, facts)
        # Querysets / statements held in local variables: (function, name) -> chain links,
        # so that `qs = Order.objects.all()` ... `qs.filter(x=1)` reads as one chain.
        self._vars: dict[tuple[int, str], list] = {}
        self._held_names: set[str] = set()  # every name ever in `_vars` (a superset)

    def _expand(self, links: list) -> list:
        # (the name check first: finding the enclosing function is the dear part)
        if len(links) > 1 and links[0][0] == "name" and links[0][1] in self._held_names:
            held = self._vars.get((id(self.file.enclosing_function()), links[0][1]))
            if held is not None:
                return held + links[1:]
        return links

    def leave_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        name = node.targets[0].id
        value = node.value
        links = self._expand(_unroll(value)) if isinstance(value, (ast.Call, ast.Subscript, ast.Attribute)) else []
        if links and self._recognised(links):
            self._vars[(id(self.file.enclosing_function()), name)] = links
            self._held_names.add(name)
        elif name in self._held_names:  # else there is nothing to forget
            self._vars.pop((id(self.file.enclosing_function()), name), None)

    def _recognised(self, links: list) -> bool:
        if len(links) >= 2 and links[0][0] == "name" and links[1][0] == "attr" and links[0][1][:1].isupper():
            return True
        return any(kind == "call" and name in ("query", "select") or kind == "func" and last_name(name) == "select"
                   for kind, name, _ in links[:3])

    def visit_Call(self, node: ast.Call) -> None:
        self._top(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._top(node)

    def _top(self, node) -> None:
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node:
            return
        if isinstance(node, ast.Call) and last_name(node.func) in ("get_object_or_404", "get_list_or_404") \
                and node.args and isinstance(node.args[0], ast.Name):
            model = self.file.qualname(node.args[0]) or node.args[0].id
            refs = [self._lookup(model, kw.arg, kw.value, negate=False) for kw in node.keywords if kw.arg]
            if refs:
                self.emit(OrmQuery(location=self.file.location(node), orm="django", model=model,
                                   refs=tuple(refs), text=_text(node)))
            return
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Attribute):
            return  # `f(...)`: a one-link chain, never a query
        own = _unroll(node)
        links = self._expand(own)
        if len(links) < 2:
            return
        fact = self._django(links, node) or self._sqlalchemy(links, node)
        if fact is None:
            return
        if links is not own:
            # `qs.count()` on a held queryset is the same query again: only a chain that
            # adds filters, joins or a limit to it is a new query pattern
            held = links[: len(links) - len(own) + 1]
            before = self._django(held, node) or self._sqlalchemy(held, node)
            if before is not None and set(before.refs) == set(fact.refs) and before.joins == fact.joins:
                return
        self.emit(fact)

    # -- Django -----------------------------------------------------------------------
    def _django(self, links, top) -> OrmQuery | None:
        if len(links) < 3 or links[0][0] != "name" or links[1][0] != "attr":
            return None
        model_name, manager = links[0][1], links[1][1]
        if not model_name[:1].isupper() or manager in ("query", "c", "columns", "objects_") \
                or links[2][0] != "call" or links[2][1] not in DJANGO_METHODS:
            return None
        model = self.file.qualname(links[0][2]) or model_name
        refs: list[OrmRef] = []
        order: list[str] = []
        limit = False
        mentioned: set[str] = set()
        for kind, name, node in links[2:]:
            if kind == "slice":
                limit = limit or isinstance(node.slice, (ast.Slice, ast.Constant))
                continue
            if kind != "call":
                return None  # something else in the chain: not a queryset we know
            if name not in DJANGO_METHODS:
                return None
            _mentions(node, mentioned)
            if name in DJANGO_LOOKUP_METHODS:
                for kw in node.keywords:
                    if kw.arg and kw.arg not in ("defaults", "create_defaults"):
                        refs.append(self._lookup(model, kw.arg, kw.value, negate=name == "exclude"))
                for arg in node.args:
                    for key, value in self._q_terms(arg):
                        refs.append(self._lookup(model, key, value, negate=name == "exclude"))
            elif name == "order_by":
                order = [s.lstrip("-") for s in (const_str(a) for a in node.args) if s and s != "?"]
            elif name in ("first", "last", "afirst", "alast"):
                limit = True
                if not order:
                    order = ["pk"]
            elif name in ("latest", "earliest"):
                limit = True
                fields = [const_str(a) for a in node.args]
                if fields and fields[0]:
                    order = [fields[0].lstrip("-")]
        if limit and order:
            refs.append(OrmRef(model, tuple(order[0].split("__")), ORDER))
        refs = [r for r in refs if r is not None]
        # a chain without filters is kept too (BL110: is a soft-delete column filtered?);
        # `schema_model.resolve` leaves it out of index coverage
        return OrmQuery(location=self.file.location(top), orm="django", model=model, refs=tuple(refs),
                        limit=limit, text=_text(top), mentioned=tuple(sorted(mentioned)),
                        function=self._function(), held=self._held(top))

    def _function(self) -> str:
        return getattr(self.file.enclosing_function(), "name", "") or ""

    def _held(self, top) -> str:
        """`qs = <top>`: the name the chain is assigned to, else ""."""
        parent = self.file.ancestors[-1] if self.file.ancestors else None
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is top:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                return targets[0].id
        return ""

    def _lookup(self, model: str, key: str, value, negate: bool) -> OrmRef:
        parts = key.split("__")
        lookup = "exact"
        if len(parts) > 1 and parts[-1] in DJANGO_LOOKUPS:
            lookup = parts.pop()
        role = OTHER if negate else DJANGO_ROLES.get(lookup, OTHER)
        if isinstance(value, ast.Constant) and value.value is None:
            role = OTHER  # filter(x=None) is IS NULL
        if isinstance(value, ast.Call) and last_name(value.func) in ("F", "OuterRef"):
            role = OTHER if last_name(value.func) == "F" else role
        return OrmRef(model, tuple(parts), role)

    def _q_terms(self, node):
        """(lookup, value) pairs of a Q object made of ANDed terms; nothing for OR / NOT."""
        if isinstance(node, ast.Call) and last_name(node.func) == "Q":
            for kw in node.keywords:
                if kw.arg:
                    yield kw.arg, kw.value
            for arg in node.args:
                yield from self._q_terms(arg)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            yield from self._q_terms(node.left)
            yield from self._q_terms(node.right)

    # -- SQLAlchemy -------------------------------------------------------------------
    def _sqlalchemy(self, links, top) -> OrmQuery | None:
        start, model = None, None
        for i, (kind, name, node) in enumerate(links):
            if kind == "call" and name == "query" and node.args:
                model = self._entity(node.args[0])
                start = i + 1
                break
            if kind == "attr" and name == "query" and i == 1 and links[0][0] == "name" \
                    and links[0][1][:1].isupper():
                model = self.file.qualname(links[0][2])
                start = i + 1
                break
            if (kind == "func" and last_name(name) == "select" or kind == "call" and name == "select" and i == 1
                    and links[0][0] == "name") and node.args:
                # select(User), sa.select(User), db.select(User)
                model = self._entity(node.args[0])
                start = i + 1
                break
        if model is None or start is None:
            return None
        refs: list[OrmRef] = []
        joins: list[OrmJoin] = []
        current = model
        limit = False
        order_ref = None
        mentioned: set[str] = set()
        for kind, name, node in links[start:]:
            if kind == "slice":
                limit = True
                continue
            if kind != "call" or name not in SA_METHODS:
                return None
            _mentions(node, mentioned)
            if name in ("filter", "where"):
                for arg in node.args:
                    self._condition(arg, refs, joins)
            elif name == "filter_by":
                for kw in node.keywords:
                    if kw.arg:
                        refs.append(OrmRef(current, (kw.arg,), EQ))
            elif name in ("join", "outerjoin") and node.args:
                target = self._entity(node.args[0], column_owner=False)
                if target is None:
                    continue
                if len(node.args) > 1:
                    before = len(joins)
                    self._condition(node.args[1], [], joins)
                    if len(joins) == before:
                        continue
                    joins[before:] = [OrmJoin(target, j.left, j.right) for j in joins[before:]]
                else:
                    joins.append(OrmJoin(target))
                current = target
            elif name == "order_by" and node.args and order_ref is None:
                order_ref = self._column_ref(node.args[0], unwrap_order=True)
            elif name in ("limit", "first", "first_or_404", "paginate"):
                limit = True
        if limit and order_ref is not None:
            refs.append(OrmRef(order_ref.entity, order_ref.path, ORDER))
        return OrmQuery(location=self.file.location(top), orm="sqlalchemy", model=model, refs=tuple(refs),
                        joins=tuple(joins), limit=limit, text=_text(top), mentioned=tuple(sorted(mentioned)),
                        function=self._function(), held=self._held(top))

    def _entity(self, node, column_owner: bool = True) -> str | None:
        """The model (or Core table variable) a query/select/join names: `User`, or the
        owner of a column (`select(User.id)`); a join on `User.orders` is a relationship,
        whose target is not known here."""
        if isinstance(node, ast.Name):
            return self.file.qualname(node)
        if column_owner and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id[:1].isupper():
            return self.file.qualname(node.value)
        return None

    def _column_ref(self, node, unwrap_order: bool = False) -> OrmRef | None:
        if unwrap_order:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "desc", "asc", "nulls_last", "nulls_first") and not node.args:
                return self._column_ref(node.func.value, True)
            if isinstance(node, ast.Call) and last_name(node.func) in ("desc", "asc") and node.args:
                return self._column_ref(node.args[0], True)
        if isinstance(node, ast.Attribute):
            owner = node.value
            if isinstance(owner, ast.Attribute) and owner.attr in ("c", "columns") and isinstance(owner.value, ast.Name):
                return OrmRef(self.file.qualname(owner.value) or owner.value.id, (node.attr,), OTHER)
            if isinstance(owner, ast.Name) and owner.id[:1].isupper():
                return OrmRef(self.file.qualname(owner) or owner.id, (node.attr,), OTHER)
        return None

    def _condition(self, node, refs: list, joins: list) -> None:
        if isinstance(node, ast.Call) and last_name(node.func) == "and_":
            for arg in node.args:
                self._condition(arg, refs, joins)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            self._condition(node.left, refs, joins)
            self._condition(node.right, refs, joins)
            return
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self._column_ref(node.left), self._column_ref(node.comparators[0])
            op = node.ops[0]
            if left and right:
                if isinstance(op, ast.Eq):
                    joins.append(OrmJoin("", left, right))
                return
            ref = left or right
            if ref is None:
                return
            role = EQ if isinstance(op, ast.Eq) else RANGE if isinstance(
                op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) else OTHER
            refs.append(OrmRef(ref.entity, ref.path, role))
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            ref = self._column_ref(node.func.value)
            if ref is None:
                return
            method = node.func.attr
            role = IN if method == "in_" else RANGE if method == "between" else OTHER
            refs.append(OrmRef(ref.entity, ref.path, role))


PLAIN_MANAGERS = {"Manager", "BaseManager"}


class DefaultFilters(FactExtractor):
    """Default filters that make an ORM query filtered without saying so at the call:
    a Django model (or abstract base) assigning `objects = SomeManager()` other than a plain
    `models.Manager()`, a Flask-SQLAlchemy model setting `query_class`, and SQLAlchemy
    `with_loader_criteria(...)` or a `do_orm_execute`
    event listener (a global criteria, typically for soft deletes)."""

    kinds = (QUERY,)
    triggers = ("manager", "with_loader_criteria", "do_orm_execute", "query_class")
    languages = ("python",)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        from ..facts.queries import DefaultFilter
        from .pyhelpers import module_name

        for stmt in node.body:
            if not isinstance(stmt, ast.Assign) or not isinstance(stmt.value, (ast.Call, ast.Name, ast.Attribute)):
                continue
            names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            if "query_class" in names:  # Flask-SQLAlchemy: a Query subclass for this model
                self.emit(DefaultFilter(location=self.file.location(stmt), how="manager",
                                        module=module_name(self.file.location(stmt).path), name=node.name,
                                        detail=_text(stmt.value)))
                continue
            if "objects" not in names or not isinstance(stmt.value, ast.Call):
                continue
            func = stmt.value.func
            called = last_name(func.value) if isinstance(func, ast.Attribute) and func.attr in (
                "from_queryset", "as_manager") else last_name(func)
            if isinstance(func, ast.Call):  # Manager.from_queryset(QS)()
                called = "from_queryset"
            if called and called not in PLAIN_MANAGERS:
                self.emit(DefaultFilter(location=self.file.location(stmt), how="manager",
                                        module=module_name(self.file.location(stmt).path), name=node.name,
                                        detail=_text(stmt.value)))

    def visit_Call(self, node: ast.Call) -> None:
        from ..facts.queries import DefaultFilter

        name = last_name(node.func)
        if name == "with_loader_criteria" or name in ("listens_for", "listen") and any(
                isinstance(a, ast.Constant) and a.value == "do_orm_execute" for a in node.args):
            self.emit(DefaultFilter(location=self.file.location(node), how="sqlalchemy-global",
                                    detail=_text(node)))
