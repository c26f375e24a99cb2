from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import orm
from ...rule import Option, PythonRule, RuleMeta

# Methods on a result that load every remaining row into memory.
_MATERIALISE = frozenset({"fetchall", "all", "fetch_all"})
# Methods that return another view of the same result (still lazy).
_PASS_THROUGH = frozenset({"scalars", "mappings", "unique", "tuples", "columns"})
# Calls that take the raw SQL and return every row, whatever is done with the result.
_FETCH_ALL_METHODS = frozenset({"fetch", "fetch_all"})  # asyncpg, databases
_FETCH_ALL_FUNCTIONS = frozenset({"read_sql", "read_sql_query"})  # pandas
# Sinks that only wrap SQL text; the call they are passed to runs it.
_SQL_CONSTRUCTORS = frozenset({"text", "SQL"})
_RENDERERS = frozenset({"render", "render_to_response", "TemplateResponse"})
_COLLECTORS = frozenset({"list", "tuple", "sorted", "set", "frozenset"})
_SA_BOUNDING = frozenset({"limit", "fetch", "slice", "first", "one", "one_or_none", "get",
                          "scalar", "scalar_one", "scalar_one_or_none", "paginate", "count",
                          "exists", "yield_per", "first_or_404", "get_or_404",
                          "one_or_404", "execution_options", "[]", "delete", "update"})
_SA_SKIP_EXEC = frozenset({"execute", "scalars", "stream", "stream_scalars", "exec"})
_UNPARSED_SELECT = re.compile(r"^\s*\(?\s*select\b.*\bfrom\b", re.I | re.S)
_UNPARSED_BOUND = re.compile(r"\b(limit|fetch\s+first|fetch\s+next|top|exists|count|max|min|sum|avg|"
                             r"information_schema|pg_catalog|sqlite_master|pragma)\b|\bpg_\w+|"
                             r"\b(user|all|dba)_(tables|tab_\w+|constraints|cons_\w+|indexes|ind_\w+|"
                             r"objects|users|views|sequences|triggers)\b", re.I)
# System catalogs: as large as the schema, not as the data.
_CATALOG_SCHEMAS = frozenset({"information_schema", "pg_catalog", "sys", "mysql",
                              "performance_schema", "sqlite_schema", "sqlite_temp_schema"})
_CATALOG_TABLES = frozenset({"geometry_columns", "geography_columns", "spatial_ref_sys",
                             "spatialite_history", "sqlite_sequence"})
_CATALOG_PREFIXES = ("pg_", "sqlite_", "user_", "all_", "dba_", "v$", "gv$", "pragma_",
                     "information_schema")
_TEST_PATH = re.compile(r"(^|/)(tests?|testing|test_\w+\.py|\w+_tests?\.py|conftest\.py)(/|$)")


class UnboundedQuery(PythonRule):
    """
    ## What it does
    Flags a query that returns rows with nothing bounding how many, when the code
    loads the whole result into memory:

    - raw SQL (`execute`, asyncpg's `fetch`, `databases`' `fetch_all`, pandas'
      `read_sql`): a `SELECT` with no `LIMIT`, `FETCH FIRST` or `TOP` whose rows are
      taken with `fetchall()`, `.all()`, `list(...)` or a list comprehension — on the
      call itself, or on the cursor or result variable later in the same function;
    - Django: a `Model.objects` QuerySet with no slice turned into a list (`list()`,
      `tuple()`, `sorted()`, a list comprehension, or `len()` where `.count()` was meant) or given to a DRF serializer with
      `many=True`; put in the context of `render()` it is reported with medium
      confidence (the template will most likely loop over every row, but it may slice);
    - SQLAlchemy: `session.query(Model)...all()` / `Model.query...all()` with no
      `.limit()` or slice, and `select(Model)` executed and read with `.all()`,
      `.fetchall()` or `.scalars().all()` (Core's `table.select()` too).

    The SQL is read with sqlglot. It stays silent for aggregates (one row, or one row
    per group: a `GROUP BY` report is as large as its number of groups, usually small,
    so it is left alone for precision), `EXISTS`, `SELECT` without `FROM`, lookups by primary key or by a unique
    column (`WHERE id = %s`, `.filter(pk=...)`, `id IN (...)`, `.get()`, `.first()`,
    `.one()`), `fetchone()`, `fetchmany()`, iterating a cursor or a QuerySet in a `for`
    loop (which can stream), `.iterator()`, `yield_per`, paginators, and `.sql`
    files (views and migrations have no application code that loads rows).

    A query with no `WHERE` at all is reported with high confidence; one filtered on a
    column that is not known to be unique (`WHERE user_id = %s`), or a `SELECT
    DISTINCT`, with medium confidence, since the result may already be small. Unique columns are
    the `unique-columns` option plus the fields the same module declares `unique=True`
    or `primary_key=True` in its Django or SQLAlchemy models. Queries that only read
    system catalogs (`information_schema`, `pg_catalog`, `sqlite_master`, Oracle's
    `user_*` views) or small configuration tables (the `small-tables` option: sites,
    locales, countries, `...Type` models) are left alone: they are as large as the
    schema or the configuration, not as the data. In test code every finding has low
    confidence.

    SQL that sqlglot cannot parse falls back to its text: a `SELECT ... FROM` with no
    `LIMIT`, `FETCH`, `TOP` or aggregate word is reported with low confidence. SQL
    held in a variable the rule cannot follow (a parameter, an attribute), or whose
    table is named at run time, is skipped.

    ## Why is this bad?
    The result grows with the table. A query that returns 50 rows in development
    returns five million in production: the whole result crosses the network, is
    decoded into objects and held in memory at once, and the endpoint slows down or
    the worker is killed. Pagination (a `LIMIT` with keyset or offset paging) keeps
    every response the same size however large the data grows.

    ## Example
    ```python
    cur.execute("SELECT id, email FROM users WHERE active")
    users = cur.fetchall()

    orders = list(Order.objects.filter(status="open"))
    rows = session.execute(select(User)).scalars().all()
    ```

    ## Use instead
    ```python
    cur.execute("SELECT id, email FROM users WHERE active AND id > %s ORDER BY id LIMIT 100",
                (after,))
    users = cur.fetchall()

    orders = Paginator(Order.objects.filter(status="open").order_by("id"), 50).page(n)
    rows = session.execute(select(User).order_by(User.id).limit(100)).scalars().all()
    for row in session.execute(select(User)).yield_per(1000): ...  # or stream
    ```

    ## Options
    None.

    ## References
    - https://use-the-index-luke.com/no-offset
    - https://docs.djangoproject.com/en/stable/topics/pagination/
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#fetching-large-result-sets-with-yield-per
    """

    meta = RuleMeta(
        id="BL103", name="unbounded-query", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A query with no LIMIT or pagination has its whole result loaded into memory.",
        cwe=(770,), tags=("performance", "reliability"),
        triggers=("fetchall", ".all(", "fetch(", "fetch_all", "read_sql", "list(", "tuple(",
                  "sorted(", "many=", "objects"),
    )
    options = (
        Option("unique-columns", list, ["id", "pk", "uuid", "email", "username"],
               "Column and field names treated as unique: a query filtered by equality on "
               "one returns at most one row."),
        Option("small-tables", list, ["Site", "Locale", "Language", "Country", "Currency",
                                      "Group", "Permission", "ContentType", "Setting",
                                      "Settings", "Configuration", "Timezone"],
               "Models and tables that hold a handful of configuration rows, loaded whole "
               "on purpose (matched case-insensitively, also as a plural or `snake_case` "
               "table name, and any model whose name ends in `Type`)."),
    )

    def finish(self) -> None:
        tree = self.file.tree
        if tree is None:
            return
        self.scopes = orm.scopes_for(self.file)
        self.unique = {name.lower() for name in self.option("unique-columns")}
        self.unique |= {name.lower() for name in orm.unique_fields(self.file.of_type(ast.ClassDef))}
        self.small = {_snake(name) for name in self.option("small-tables")}
        self.reported: set[int] = set()
        seen_sql: set[int] = set()
        for sink in self.file.sql_calls:
            seen_sql.add(id(sink.call))
            self._check_sql(sink.call, sink.statement)
        for node in self.file.of_type(ast.Call, ast.ListComp, ast.SetComp, ast.DictComp):
            if isinstance(node, ast.Call):
                if id(node) not in seen_sql:
                    self._check_unlisted_sql(node)
                self._check_orm_call(node)
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp)):
                self._check_orm_collection(node.generators[0].iter, node, "a comprehension")

    # -- raw SQL -------------------------------------------------------------------
    def _check_unlisted_sql(self, call: ast.Call) -> None:
        """Calls that take SQL but may not be in the sink knowledge base: asyncpg's
        `conn.fetch(sql)`, `databases`' `fetch_all(sql)`, pandas' `read_sql(sql, con)`,
        SQLAlchemy's `text(sql)` (judged with the call that runs it)."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else None)
        if not call.args:
            return
        if name == "text":
            qualname = self.file.qualname(func) or ""
            if not qualname.startswith(("sqlalchemy.", "sqlmodel.")):
                return
        elif name not in _FETCH_ALL_METHODS | _FETCH_ALL_FUNCTIONS:
            return
        from ...python.strings import StringResolver
        from ...sql.statements import SqlStatement, looks_like_sql, parse_one

        try:  # the string resolver is shared engine code: never let it stop the rule
            resolver = getattr(self, "_resolver", None) or StringResolver(self.file)
            self._resolver = resolver
            built = resolver.resolve(call.args[0], self.scopes.function_of(call))
            text = built.text(lambda index, hole: f"bl_hole_{index}")
        except Exception:
            return
        if not looks_like_sql(text):
            return
        tree, _error = parse_one(text, "postgres")
        whole = self.file.location(call.args[0])
        statement = SqlStatement(text, tree, lambda s, e: whole, whole, embedded=True)
        self._check_sql(call, statement)

    def _check_sql(self, call: ast.Call, statement) -> None:
        if statement is None:
            return
        exec_call = self._executing_call(call)
        if id(exec_call) in self.reported:
            return
        verdict = self._sql_verdict(statement)
        if verdict is None:
            return
        how = self._fetches_all(exec_call)
        if how is None:
            return
        confidence = self._in_tests({"unfiltered": Confidence.HIGH, "filtered": Confidence.MEDIUM,
                                     "unparsed": Confidence.LOW}[verdict])
        detail = {"unfiltered": "no WHERE, LIMIT or FETCH FIRST",
                  "filtered": "no LIMIT or FETCH FIRST and a filter on a column not known to be unique",
                  "unparsed": "no LIMIT in sight (the SQL did not parse, so this is read from its text)"}[verdict]
        self.reported.add(id(exec_call))
        self.report(exec_call, f"SELECT with {detail}, and every row is loaded by {how}; "
                               "add LIMIT with keyset or page parameters, or stream the rows "
                               "with fetchmany()/a server-side cursor", confidence=confidence)

    def _executing_call(self, call: ast.Call) -> ast.Call:
        """`text("SELECT ...")` / `sql.SQL(...)` is run by the call it is passed to."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        parent = self.scopes.parent(call)
        if name in _SQL_CONSTRUCTORS and isinstance(parent, ast.Call) and call in parent.args \
                and isinstance(parent.func, ast.Attribute):
            return parent
        return call

    def _sql_verdict(self, statement) -> str | None:
        """'unfiltered' / 'filtered' for an unbounded SELECT, 'unparsed' for SQL that only
        reads like one, None when the rows are bounded (or it is not a SELECT)."""
        from sqlglot import exp

        tree = statement.tree
        if tree is None:
            text = statement.text
            if _UNPARSED_SELECT.match(text) and not _UNPARSED_BOUND.search(text) \
                    and "bl_hole_" not in text.split()[0]:
                return "unparsed"
            return None
        if not isinstance(tree, exp.Query) or catalog_only(tree):
            return None
        tables = [t.name for t in tree.find_all(exp.Table)]
        if tables and all(self._small(name) for name in tables):
            return None
        if any(name.startswith("bl_") for name in tables):
            return None  # a table named at run time: cannot tell a catalog from data
        return self._query_verdict(tree)

    def _query_verdict(self, query) -> str | None:
        from sqlglot import exp

        if query.args.get("limit") or query.args.get("fetch"):
            return None
        if isinstance(query, exp.SetOperation):
            sides = [self._query_verdict(query.left), self._query_verdict(query.right)]
            if "unfiltered" in sides:
                return "unfiltered"
            return "filtered" if "filtered" in sides else None
        if isinstance(query, exp.Subquery):
            return self._query_verdict(query.this)
        if not isinstance(query, exp.Select):
            return None
        if not (query.args.get("from_") or query.args.get("from")):
            return None  # SELECT now(), SELECT nextval(...)
        projections = [p.unalias() if isinstance(p, exp.Alias) else p for p in query.expressions]
        if any(isinstance(p, exp.Exists) for p in projections):
            return None
        if projections and any(_single_value(p) for p in projections) and all(
                _single_value(p) or query.args.get("group") for p in projections):
            return None  # one row, or one row per group of an aggregate report
        where = query.args.get("where")
        if where is None:
            # SELECT DISTINCT status ...: as many rows as distinct values, often few
            return "filtered" if query.args.get("distinct") else "unfiltered"
        if any(self._unique_condition(c) for c in _conjuncts(where.this)):
            return None
        return "filtered"

    def _unique_condition(self, condition) -> bool:
        from sqlglot import exp

        if isinstance(condition, exp.Paren):
            return self._unique_condition(condition.this)
        if isinstance(condition, exp.EQ):
            for column, other in ((condition.this, condition.expression),
                                  (condition.expression, condition.this)):
                if isinstance(column, exp.Column) and column.name.lower() in self.unique:
                    if not isinstance(other, exp.Column) or other.name.startswith("bl_hole_"):
                        return True
        if isinstance(condition, exp.In) and isinstance(condition.this, exp.Column) \
                and not condition.args.get("query"):
            if condition.this.name.lower() in self.unique:
                return True
            # `IN (%s, %s, ...)`: as many rows as keys the caller passed in
            items = condition.expressions
            return bool(items) and all(_is_parameter(item) for item in items)
        return False

    # -- how the result is used --------------------------------------------------------
    def _fetches_all(self, call: ast.Call, depth: int = 0) -> str | None:
        """How the rows of the query run by `call` all end up in memory, or None."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in _FETCH_ALL_METHODS and isinstance(func, ast.Attribute):
            return f"`.{name}()`"
        if name in _FETCH_ALL_FUNCTIONS:
            if any(k.arg == "chunksize" for k in call.keywords):
                return None
            return f"`{name}()`"
        return self._value_usage(call, depth)

    def _value_usage(self, node: ast.AST, depth: int = 0) -> str | None:
        """Follow the value of `node` (a result or cursor) to where it is read."""
        if depth > 4:
            return None
        parent = self.scopes.parent(node)
        while isinstance(parent, ast.Await):
            node, parent = parent, self.scopes.parent(parent)
        while isinstance(parent, ast.Attribute) and parent.value is node:
            grand = self.scopes.parent(parent)
            if not (isinstance(grand, ast.Call) and grand.func is parent):
                return None
            if parent.attr in _MATERIALISE:
                return f"`.{parent.attr}()`"
            if parent.attr not in _PASS_THROUGH:
                return None  # fetchone(), first(), fetchmany(), yield_per() ...
            node, parent = grand, self.scopes.parent(grand)
            while isinstance(parent, ast.Await):
                node, parent = parent, self.scopes.parent(parent)
        collected = self._collected(node, parent)
        if collected:
            return collected
        if isinstance(parent, ast.Expr) and isinstance(node, ast.Call) and isinstance(
                node.func, ast.Attribute):
            receiver = orm.dotted(node.func.value)
            if receiver:
                return self._next_use(receiver, node, depth)
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                return self._next_use(targets[0].id, node, depth)
        return None

    def _collected(self, node: ast.AST, parent: ast.AST | None) -> str | None:
        if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Name) \
                and parent.func.id in _COLLECTORS:
            return f"`{parent.func.id}()`"
        if isinstance(parent, ast.comprehension) and parent.iter is node:
            comp = self.scopes.parent(parent)
            if isinstance(comp, (ast.ListComp, ast.SetComp, ast.DictComp)) and comp.generators[0] is parent:
                return "a comprehension"
        return None

    def _next_use(self, name: str, after: ast.AST, depth: int) -> str | None:
        """The first use of `name` (a cursor or result) after `after` in the same function:
        a fetch-everything use makes the query materialised."""
        import bisect

        scope = self.scopes.function_of(after) or self.file.tree
        uses = self._uses(scope).get(name)
        if not uses:
            return None
        end = (after.end_lineno or after.lineno, after.end_col_offset or 0)
        index = bisect.bisect_left(uses, (end, -1))
        while index < len(uses) and uses[index][2] is not None and self._inside(uses[index][2], after):
            index += 1
        if index >= len(uses):
            return None
        first = uses[index][2]
        if first is None:
            return None  # rebound before any read
        return self._value_usage(first, depth + 1)

    def _uses(self, scope: ast.AST) -> dict[str, list]:
        """Every Name / dotted Attribute of a scope, by dotted text, in source order (built
        once per scope: a function with thousands of queries stays linear)."""
        cache = self.__dict__.setdefault("_use_index", {})
        if id(scope) in cache:
            return cache[id(scope)]
        index: dict[str, list] = {}
        for node in ast.walk(scope):
            if not isinstance(node, (ast.Attribute, ast.Name)):
                continue
            name = orm.dotted(node)
            if not name:
                continue
            position = (node.lineno, node.col_offset)
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                index.setdefault(name, []).append((position, len(index), None))
            else:
                index.setdefault(name, []).append((position, len(index), node))
        for items in index.values():
            items.sort(key=lambda item: (item[0], item[1]))
            for i, (position, _, node) in enumerate(items):
                items[i] = (position, i, node)
        cache[id(scope)] = index
        return index

    @staticmethod
    def _inside(node: ast.AST, outer: ast.AST) -> bool:
        start = (outer.lineno, outer.col_offset)
        stop = (outer.end_lineno or outer.lineno, outer.end_col_offset or 0)
        return start <= (node.lineno, node.col_offset) < stop

    # -- ORM -------------------------------------------------------------------------
    def _check_orm_call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Name) and func.id in _COLLECTORS and len(call.args) == 1:
            self._check_orm_collection(call.args[0], call, f"`{func.id}()`")
            return
        if isinstance(func, ast.Name) and func.id == "len" and len(call.args) == 1:
            chain = self.scopes.chain(call.args[0], self.file)
            if chain is not None and chain.kind == orm.DJANGO:  # len(qs) loads every row
                self._judge_django(chain, call, "`len()` (use `.count()` to count)")
            return
        if isinstance(func, ast.Name) and func.id.endswith("Serializer") and call.args and any(
                k.arg == "many" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords):
            self._check_orm_collection(call.args[0], call, f"`{func.id}(..., many=True)`")
            return
        if self._template_context(call):
            return
        if not isinstance(func, ast.Attribute) or func.attr not in _MATERIALISE:
            return
        if call.args:
            return
        receiver = func.value
        chain = self.scopes.chain(receiver, self.file)
        if chain is not None and chain.kind == orm.SA_QUERY:
            self._judge_sa(chain, call, f"`.{func.attr}()`")
            return
        # select(...) run by session.execute / session.scalars, read with .all()
        base, steps = orm.unroll(receiver)
        calls = [s for s in steps if s.name in _SA_SKIP_EXEC and s.call is not None and s.call.args]
        if calls and all(s.name in _PASS_THROUGH | _SA_SKIP_EXEC for s in steps):
            self._judge_executed(calls[0].call.args[0], call)
            return
        if isinstance(base, ast.Name) and all(s.name in _PASS_THROUGH for s in steps):
            # result = session.execute(stmt); result.scalars().all()
            values = self.scopes.values_of(base)
            if values and len(values) == 1:
                value = values[0]
                if isinstance(value, ast.Await):
                    value = value.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                        and value.func.attr in _SA_SKIP_EXEC and value.args:
                    self._judge_executed(value.args[0], call)

    def _template_context(self, call: ast.Call) -> bool:
        """`render(request, "list.html", {"orders": Order.objects.all()})`: the template
        loops over every row (medium confidence: it might slice or only count)."""
        if isinstance(call.func, ast.Attribute) and call.func.attr not in _RENDERERS:
            return False  # the qualname would end with this attribute
        name = self.file.qualname(call.func) or ""
        if name.rsplit(".", 1)[-1] not in _RENDERERS or not name.startswith("django"):
            return False
        context = call.args[2] if len(call.args) > 2 else next(
            (k.value for k in call.keywords if k.arg == "context"), None)
        if not isinstance(context, ast.Dict):
            return True
        for value in context.values:
            if value is None:
                continue
            chain = self.scopes.chain(value, self.file)
            if chain is not None and chain.kind == orm.DJANGO and chain.steps:
                self._judge_django(chain, value, "the template that loops over it",
                                   cap=Confidence.MEDIUM)
        return True

    def _judge_executed(self, statement: ast.AST, site: ast.Call) -> None:
        chain = self.scopes.chain(statement, self.file)
        if chain is None:
            # SQLAlchemy Core: conn.execute(users.select()) / users.select().where(...)
            base, steps = orm.unroll(statement)
            if isinstance(base, ast.Name) and steps and steps[0].name == "select" \
                    and steps[0].call is not None and not steps[0].call.args:
                chain = orm.Chain(orm.SA_STATEMENT, base.id, base, steps[1:])
        if chain is not None and chain.kind == orm.SA_STATEMENT and chain.statement == "select":
            self._judge_sa(chain, site, f"`.{site.func.attr}()`")

    def _check_orm_collection(self, value: ast.AST, site: ast.AST, how: str) -> None:
        chain = self.scopes.chain(value, self.file)
        if chain is None:
            return
        if chain.kind == orm.DJANGO:
            self._judge_django(chain, site, how)
        elif chain.kind == orm.SA_QUERY and chain.last not in ("all",):
            self._judge_sa(chain, site, how)

    def _judge_django(self, chain: orm.Chain, site: ast.AST, how: str,
                      cap: Confidence = Confidence.HIGH) -> None:
        filtered = False
        names = chain.names
        if "values" in names and "annotate" in names[names.index("values"):]:
            return  # values(...).annotate(...): GROUP BY report, one row per group
        for step in chain.steps:
            if step.name == "[]" or step.name in orm.DJANGO_SINGLE or step.name in orm.DJANGO_WRITES \
                    or step.name in ("iterator", "in_bulk", "none", "raw", "paginate"):
                return
            if step.name in orm.DJANGO_FILTERS and not orm.is_empty_call(step):
                if self._django_unique_filter(step.call):
                    return
                filtered = True
            elif step.name not in orm.DJANGO_LAZY and step.name not in orm.DJANGO_FILTERS:
                return  # a custom manager method: it may slice, or return something else
        if not chain.steps:
            return
        self._report_orm(site, chain, how, filtered, "slice it (`[:100]`) or use a Paginator",
                         cap)

    def _django_unique_filter(self, call: ast.Call | None) -> bool:
        if call is None:
            return False
        for keyword in call.keywords:
            if keyword.arg is None:
                continue
            field = orm.lookup_field(keyword.arg).lower()
            lookup = keyword.arg.rsplit("__", 1)[-1] if "__" in keyword.arg else "exact"
            if field in self.unique and lookup in ("exact", "iexact", "in"):
                return True
            if lookup == "in":
                return True  # as many rows as values the caller passed in
        return False

    def _judge_sa(self, chain: orm.Chain, site: ast.AST, how: str) -> None:
        if id(site) in self.reported:
            return
        if chain.kind == orm.SA_STATEMENT:
            base = chain.base
            if isinstance(base, ast.Call) and base.args and all(_sa_aggregate(a) for a in base.args):
                return
        if chain.has("group_by"):
            return  # an aggregate report, one row per group
        filtered = False
        for step in chain.steps:
            if step.name in _SA_BOUNDING:
                return
            if step.name in orm.SA_FILTERS:
                call = step.call
                if call is not None and self._sa_unique_filter(call):
                    return
                filtered = True
        self._report_orm(site, chain, how, filtered, "add `.limit()` with keyset or offset "
                         "paging, or stream with `yield_per()`")

    def _sa_unique_filter(self, call: ast.Call) -> bool:
        for keyword in call.keywords:
            if keyword.arg and keyword.arg.lower() in self.unique:
                return True
        for arg in call.args:
            for node in ast.walk(arg):
                if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(
                        node.ops[0], ast.Eq):
                    for side in (node.left, node.comparators[0]):
                        if isinstance(side, ast.Attribute) and side.attr.lower() in self.unique:
                            return True
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in ("in_", "is_") and isinstance(node.func.value, ast.Attribute) \
                        and node.func.value.attr.lower() in self.unique:
                    return True
        return False

    def _small(self, name: str) -> bool:
        """A configuration table (`Site`, `django_site`, `locales`, `PaymentType`)."""
        name = name.rsplit(".", 1)[-1]
        if name[:1].isupper() and name.endswith("Type") and name != "Type":
            return True
        snake = _snake(name)
        candidates = {snake, snake.split("_", 1)[-1]}
        for candidate in list(candidates):
            if candidate.endswith("ies"):
                candidates.add(candidate[:-3] + "y")
            if candidate.endswith("s"):
                candidates.add(candidate[:-1])
        return bool(candidates & self.small)

    def _report_orm(self, site: ast.AST, chain: orm.Chain, how: str, filtered: bool, advice: str,
                    cap: Confidence = Confidence.HIGH) -> None:
        if id(site) in self.reported or self._small(chain.model):
            return
        self.reported.add(id(site))
        what = {orm.DJANGO: f"QuerySet of `{chain.model}`",
                orm.SA_QUERY: f"query of `{chain.model}`",
                orm.SA_STATEMENT: f"`select({chain.model})`"}[chain.kind]
        bound = "filtered on fields not known to be unique, " if filtered else ""
        self.report(site, f"{what} {bound}with no limit is loaded whole by {how}; {advice}",
                    confidence=self._in_tests(min(cap, Confidence.MEDIUM if filtered else Confidence.HIGH)))

    def _in_tests(self, confidence: Confidence) -> Confidence:
        """Tests load small fixtures whole all the time: low confidence there."""
        return Confidence.LOW if _TEST_PATH.search(self.file.relpath.replace("\\", "/")) else confidence


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def catalog_only(tree) -> bool:
    """Every table the query reads is a system catalog (or a CTE over them)."""
    from sqlglot import exp

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = [t for t in tree.find_all(exp.Table) if t.name.lower() not in ctes]
    if not tables:
        return False
    for table in tables:
        name, schema = table.name.lower(), (table.db or "").lower()
        if schema in _CATALOG_SCHEMAS or name in _CATALOG_SCHEMAS or name in _CATALOG_TABLES \
                or name.startswith(_CATALOG_PREFIXES) or "geometry_columns" in name:
            continue
        return False
    return True


def _is_parameter(node) -> bool:
    from sqlglot import exp

    return isinstance(node, (exp.Placeholder, exp.Parameter)) or (
        isinstance(node, exp.Column) and node.name.startswith("bl_hole_"))


def _conjuncts(condition):
    from sqlglot import exp

    if isinstance(condition, exp.And):
        return list(condition.flatten())
    return [condition]


def _single_value(projection) -> bool:
    from sqlglot import exp

    if isinstance(projection, (exp.Literal, exp.Placeholder, exp.Null, exp.Boolean)):
        return True
    if projection.find(exp.Window):
        return False
    return projection.find(exp.AggFunc) is not None


def _sa_aggregate(arg: ast.AST) -> bool:
    if isinstance(arg, ast.Call):
        name = orm.dotted(arg.func) or ""
        if name.split(".")[-1] in ("count", "sum", "max", "min", "avg") and "func" in name:
            return True
        if isinstance(arg.func, ast.Attribute) and arg.func.attr in ("label",):
            return _sa_aggregate(arg.func.value)
    return False
