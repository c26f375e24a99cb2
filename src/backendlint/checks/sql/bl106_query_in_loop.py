from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import orm
from ...rule import Option, PythonRule, RuleMeta

_DB_RECEIVER = re.compile(r"(^|[._])(cur|cursor|curs|conn|connection|con|db|database|session|"
                          r"sess|tx|txn|transaction|engine|pool|client_db|pg|asyncpg|sqlite)"
                          r"\d*$", re.I)
_SESSION_RECEIVER = re.compile(r"(^|[._])(session|sess|db_session|dbsession)$", re.I)
_ASYNC_FETCH = frozenset({"fetch", "fetchrow", "fetchval", "fetch_one", "fetch_all", "fetch_val"})
_BATCH_WORDS = re.compile(r"batch|chunk|page|partition|slice|shard|bucket|window|group", re.I)
_MAX_CLIMB = 400  # ancestors looked at between a call and its loop
_SCHEMA_LOOP = re.compile(r"get_models|get_app_configs|_meta\.|get_table_names|"
                          r"get_table_list|table_names\(|metadata\.(sorted_)?tables")
_RETRY_WORDS = re.compile(r"retr|attempt|tries|tick|poll|sleep", re.I)
_SA_QUERY_RUNS = frozenset({"all", "first", "one", "one_or_none", "scalar", "count", "get",
                            "delete", "update", "first_or_404", "get_or_404", "one_or_404",
                            "exists", "paginate"})
_DJANGO_RUNS = (orm.DJANGO_SINGLE | orm.DJANGO_WRITES) - {"bulk_create", "bulk_update",
                                                           "abulk_create", "abulk_update"}
_COLLECTORS = frozenset({"list", "tuple", "len", "sorted", "set", "bool", "any", "sum"})
_SAVE_KEYWORDS = frozenset({"update_fields", "using", "force_insert", "force_update"})
# Sinks that only wrap or prepare SQL text: the call they are passed to runs it.
_NOT_RUNNING = frozenset({"text", "SQL", "literal_column", "RawSQL", "extra", "mogrify",
                          "prepare", "Composed", "Identifier"})
_TEST_PATH = re.compile(r"(^|/)(tests?|testing|test_\w+\.py|\w+_tests?\.py|conftest\.py)(/|$)")
_SQL_KINDS = {"Select": "SELECT", "Union": "SELECT", "Insert": "INSERT", "Update": "UPDATE",
              "Delete": "DELETE", "Merge": "MERGE"}


class QueryInLoop(PythonRule):
    """
    ## What it does
    Flags a database query made once per item of a loop — the N+1 read and the
    row-by-row write:

    - raw SQL run inside a `for` loop or a comprehension (`cur.execute`, asyncpg's
      `fetch`/`fetchrow`/`fetchval`/`execute`, `session.execute(text(...))`);
    - Django: `Model.objects.get/filter(...).first()/exists()/count()/create/
      get_or_create/update/delete(...)` in a loop, `obj.save()` / `obj.delete()` on
      each item, and related managers read per item (`order.items.all()`,
      `author.book_set.count()`) when the loop's QuerySet has no `prefetch_related`,
      many-to-many writes per item (`obj.tags.add(tag)` over a QuerySet), and a
      QuerySet built in the loop and then read there (`books = Book.objects.filter(
      author=a)` followed by `for b in books` or `books.exists()`);
    - SQLAlchemy: `session.query(...)...first()/all()/one()`, `Model.query.get(...)`,
      `session.get(Model, id)`, `session.scalar(s)(...)` in a loop, and a
      `session.commit()` / `flush()` per item in a loop that adds or changes objects.

    A `while` loop counts only when it drains a collection (`while queue:` with
    `queue.pop()` in its body). It stays silent for loops over a literal list or
    `range()` of a constant (a fixed handful of statements), loops over the schema
    (`apps.get_models()`, `_meta...`, `metadata.sorted_tables`), loops whose iterable or
    target is named like a batch (`batch`, `chunk`, `page`...) since those are already
    batched, retry loops, `executemany` and `bulk_*` calls, statements that differ per
    iteration (the SQL itself or its table name comes from the loop variable, as in a
    loop over DDL statements or table names), DDL, a query whose statement returns or
    breaks out of the loop (it runs once), and calls inside a function defined in the
    loop, and loops under an `if` that tests a `bulk` flag (the per-item path a caller
    chose next to a bulk one). A call whose receiver cannot be told to be a database
    handle is skipped.

    Instance `save()` / `delete()` and related-manager reads are recognised only in
    modules that import Django, with medium confidence unless the loop iterates a
    `Model.objects` QuerySet. SQL that sqlglot cannot parse is still a query: it is
    reported with medium confidence when the receiver reads as a cursor, connection or
    session, and skipped otherwise.

    ## Why is this bad?
    Each query is a network round trip plus planning and locking on the server: a
    loop over 1,000 orders doing one `SELECT` each costs 1,001 queries where one or two
    would do, and the page gets slower as the data grows. Row-by-row writes also hold
    transactions open longer and commit (fsync) once per row.

    ## Example
    ```python
    for order in Order.objects.filter(status="open"):
        customer = Customer.objects.get(pk=order.customer_id)
    for row in rows:
        cur.execute("INSERT INTO events (kind, at) VALUES (%s, %s)", row)
    ```

    ## Use instead
    ```python
    for order in Order.objects.filter(status="open").select_related("customer"):
        customer = order.customer
    cur.executemany("INSERT INTO events (kind, at) VALUES (%s, %s)", rows)
    # or: Model.objects.bulk_create([...]), filter(pk__in=ids), in_bulk(ids),
    # prefetch_related(...), select(...).where(Model.id.in_(ids)), selectinload(...)
    ```

    ## Options
    None.

    ## References
    - https://docs.djangoproject.com/en/stable/topics/db/optimization/
    - https://docs.djangoproject.com/en/stable/ref/models/querysets/#prefetch-related
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#select-in-loading
    - https://peps.python.org/pep-0249/#executemany
    """

    meta = RuleMeta(
        id="BL106", name="query-in-loop", severity=Severity.MEDIUM, confidence=Confidence.HIGH,
        summary="A query runs once per item of a loop (N+1 reads, row-by-row writes).",
        tags=("performance",),
        triggers=("execute", "objects", "query", "session", "fetch", "save(", "delete(",
                  ".all(", ".count(", ".exists(", ".first(", "scalar"),
    )
    options = (
        Option("loop-safe-calls", list, [],
               "Calls never reported in a loop, as a method name (`get_cached`) or the end "
               "of a dotted call (`cache.get`, `self.repo.find`)."),
    )

    def finish(self) -> None:
        tree = self.file.tree
        if tree is None:
            return
        self.scopes = orm.scopes_for(self.file)
        self.sinks = {id(sink.call): sink for sink in self.file.sql_calls}
        self.django = any(v.startswith("django") for v in self.file.names.aliases.values())
        self.safe = list(self.option("loop-safe-calls"))
        self.done: set[int] = set()
        for node in self.file.of_type(ast.Call, ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp,
                                      ast.DictComp, ast.GeneratorExp):
            if isinstance(node, ast.Call):
                self._check_call(node)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._check_iteration(node.iter)
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                self._check_iteration(node.generators[0].iter)

    def _check_call(self, call: ast.Call) -> None:
        loop = self._loop_of(call)
        if loop is None or not self._iterates_collection(loop) or self._is_safe(call):
            return
        found = self._query(call, loop)
        if found is None or id(call) in self.done:
            return
        what, advice, confidence = found
        if self._runs_once(call, loop):
            return
        self.done.add(id(call))
        if _TEST_PATH.search(self.file.relpath.replace("\\", "/")):
            confidence = Confidence.LOW  # test set-up writes rows one by one on purpose
        kind = "comprehension" if isinstance(loop, (ast.ListComp, ast.SetComp, ast.DictComp,
                                                     ast.GeneratorExp)) else "loop"
        self.report(call, f"{what} inside the {kind} on line {loop.lineno}: one database round "
                          f"trip per item; {advice}", confidence=confidence)

    # -- where the call is ---------------------------------------------------------------
    def _loop_of(self, call: ast.Call) -> ast.AST | None:
        """The innermost loop whose body runs `call` once per iteration, or None."""
        # Nodes with no loop between them and their function (or the module): climbing
        # through one of them can find no loop. Most calls are in such code.
        loopless = self.__dict__.setdefault("_loopless", set())
        since_loop: list[int] = []  # nodes climbed through since the last loop node
        below, child, node = None, call, self.scopes.parent(call)
        for _ in range(_MAX_CLIMB):
            if node is None or id(node) in loopless or isinstance(
                    node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                loopless.update(since_loop)
                return None
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                if child in node.body:
                    return node
                since_loop.clear()
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                first = node.generators[0]
                if not (child is first and below is first.iter):
                    return node
                since_loop.clear()
            else:
                since_loop.append(id(node))
            below, child, node = child, node, self.scopes.parent(node)
        return None  # nested deeper than any real loop body: not judged

    def _iterates_collection(self, loop: ast.AST) -> bool:
        cache = self.__dict__.setdefault("_iterates", {})
        if id(loop) not in cache:
            cache[id(loop)] = self._judge_loop(loop)
        return cache[id(loop)]

    def _judge_loop(self, loop: ast.AST) -> bool:
        node = self.scopes.parent(loop)
        while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(node, ast.If) and "bulk" in _short(node.test, 200).lower():
                return False  # `if bulk: ... else: for obj in objs: obj.save()` - the chosen slow path
            node = self.scopes.parent(node)
        if isinstance(loop, ast.While):
            return self._drains(loop)
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            iterable, targets = loop.iter, [loop.target]
        else:
            iterable, targets = loop.generators[0].iter, [g.target for g in loop.generators]
        if isinstance(iterable, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Constant)):
            return False
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) \
                and iterable.func.id == "range":
            if any(isinstance(a, ast.Constant) for a in iterable.args):
                return False
        text = " ".join(ast.unparse(t) for t in targets) + " " + _short(iterable)
        if _BATCH_WORDS.search(text) or _RETRY_WORDS.search(text):
            return False
        if _SCHEMA_LOOP.search(_short(iterable, 200)):
            return False  # one query per model class or table: as many as the schema has
        return True

    def _drains(self, loop: ast.While) -> bool:
        name = orm.dotted(loop.test)
        if not name:
            return False
        for node in ast.walk(loop):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("pop", "popleft", "get_nowait") \
                    and orm.dotted(node.func.value) == name:
                return not _BATCH_WORDS.search(name)
        return False

    def _runs_once(self, call: ast.Call, loop: ast.AST) -> bool:
        """The statement holding the call leaves the loop (return / break / raise after it)."""
        node: ast.AST | None = call
        while node is not None and node is not loop:
            parent = self.scopes.parent(node)
            if isinstance(node, ast.stmt):
                if isinstance(node, (ast.Return, ast.Raise)):
                    return True
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(parent, field, None)
                    if isinstance(block, list) and node in block:
                        after = block[block.index(node) + 1:]
                        if any(isinstance(s, (ast.Return, ast.Break, ast.Raise)) for s in after):
                            return True
            node = parent
        return False

    def _is_safe(self, call: ast.Call) -> bool:
        if not self.safe:
            return False
        name = orm.dotted(call.func) or (call.func.attr if isinstance(call.func, ast.Attribute) else "")
        return any(name == s or name.endswith("." + s) for s in self.safe)

    def _targets(self, loop: ast.AST) -> set[str]:
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            targets = [loop.target]
        elif isinstance(loop, ast.While):
            targets = []
        else:
            targets = [g.target for g in loop.generators]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}

    # -- what the call is ---------------------------------------------------------------
    def _query(self, call: ast.Call, loop: ast.AST):
        sink = self.sinks.get(id(call))
        if sink is not None:
            return self._raw_sql(call, sink.query, sink.statement, sink.built, loop, sink)
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _ASYNC_FETCH and call.args:
            return self._raw_sql(call, call.args[0], None, None, loop)
        return self._orm(call, loop)

    def _raw_sql(self, call: ast.Call, query: ast.AST, statement, built, loop, sink=None):
        from sqlglot import exp

        from .bl103_unbounded_query import catalog_only

        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr in ("executemany", "executescript") \
                or func.attr in _NOT_RUNNING:
            return None
        targets = self._targets(loop)
        receiver = orm.dotted(func.value) or ""
        if receiver.split(".")[0] in targets:
            return None  # each item brings its own connection
        tree = statement.tree if statement is not None else None
        if tree is None and isinstance(query, ast.Call):
            inner = self.sinks.get(id(query))  # execute(text("..."))
            if inner is not None and inner.statement is not None:
                tree = inner.statement.tree
        db_receiver = bool(_DB_RECEIVER.search(receiver)) or getattr(
            sink, "receiver", "") in ("known", "conventional")
        if tree is None and statement is None and built is None:
            tree, db_receiver = self._parse_argument(query, db_receiver)
        if tree is None:
            argument = self.scopes.chain(query, self.file) if not isinstance(query, ast.Constant) else None
            if argument is not None and argument.kind == orm.SA_STATEMENT:
                return self._sa_statement(argument)
            if isinstance(query, ast.Call) and orm.model_like(query.func):
                return None  # CreateTable(...), DropEnumType(...): DDL constructs
            if self._depends_on(query, targets):
                return None  # for statement in statements: cur.execute(statement)
            if not db_receiver:
                return None
            return (f"`{_short(func)}()`", "fetch or write all the items in one statement "
                    "(`WHERE id IN (...)`, a JOIN, or `executemany()`)", Confidence.MEDIUM)
        kind = _SQL_KINDS.get(type(tree).__name__)
        if kind is None:
            return None  # DDL, SET, LOCK ...
        if any(t.name.startswith("bl_") for t in tree.find_all(exp.Table)):
            return None  # a different table per item
        if catalog_only(tree):
            return None  # introspection of the schema, one object at a time
        if kind == "SELECT" and isinstance(tree, exp.Select) and not (
                tree.args.get("from_") or tree.args.get("from")):
            return None
        advice = {
            "SELECT": "read all the items in one query (`WHERE id IN (...)` / `= ANY(%s)`, or a JOIN)",
            "INSERT": "insert all the rows at once with `executemany()` or a multi-row INSERT",
        }.get(kind, "change all the rows in one statement (`WHERE id IN (...)`) or with `executemany()`")
        confidence = Confidence.HIGH if db_receiver else Confidence.MEDIUM
        return f"`{kind}` run by `{_short(func)}()`", advice, confidence

    def _depends_on(self, query: ast.AST, targets: set[str]) -> bool:
        """Is the SQL made from the loop variable (directly or through a local variable)?"""
        names = {n.id for n in ast.walk(query) if isinstance(n, ast.Name)}
        for node in [n for n in ast.walk(query) if isinstance(n, ast.Name)]:
            for value in self.scopes.values_of(node) or ():
                names |= {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        return bool(names & targets)

    def _parse_argument(self, query: ast.AST, db_receiver: bool):
        from ...python.strings import StringResolver
        from ...sql.statements import looks_like_sql, parse_one

        try:  # the string resolver is shared engine code: never let it stop the rule
            resolver = self.__dict__.get("_resolver") or StringResolver(self.file)
            self._resolver = resolver
            built = resolver.resolve(query, self.scopes.function_of(query))
            text = built.text(lambda index, hole: f"bl_hole_{index}")
        except Exception:
            return None, db_receiver
        if not looks_like_sql(text):
            return None, db_receiver
        tree, _ = parse_one(text, "postgres")
        return tree, True

    def _sa_statement(self, chain: orm.Chain):
        if chain.statement == "insert":
            return (f"`insert({chain.model})` executed", "pass a list of parameter "
                    "dictionaries to one `session.execute(insert(...), rows)`", Confidence.HIGH)
        return (f"`{chain.statement}({chain.model})` executed", "select all the items at once "
                "(`.where(Model.id.in_(ids))`, `selectinload()`)", Confidence.HIGH)

    def _orm(self, call: ast.Call, loop: ast.AST):
        func = call.func
        if not isinstance(func, ast.Attribute):
            return None
        chain = orm.chain_of(call, self.file)
        if chain is None:
            chain = self._chain_in_loop(call, loop)
        if chain is not None and chain.steps and chain.steps[-1].node is call:
            return self._orm_chain(call, chain)
        if chain is not None and not chain.steps and chain.kind == orm.SA_STATEMENT:
            return None
        name = func.attr
        receiver = orm.dotted(func.value) or ""
        if name in ("get", "scalar", "scalars", "merge", "refresh") and orm.session_like(func.value) \
                and call.args and (name != "get" or (len(call.args) >= 2 and orm.model_like(call.args[0]))):
            if name == "get" or "session" in receiver.lower() or name in ("scalar", "scalars"):
                return (f"`{receiver}.{name}()`", "load all the rows at once "
                        "(`select(Model).where(Model.id.in_(ids))`, `selectinload()`)",
                        Confidence.HIGH)
        if name in ("commit", "flush") and _SESSION_RECEIVER.search(receiver) and not call.args \
                and self._loop_writes(loop):
            return (f"`{receiver}.{name}()` per item", "add every object first and "
                    f"{name} once after the loop (or use `session.add_all()` / a bulk "
                    "insert)", Confidence.HIGH)
        if self.django:
            return self._django_instance(call, loop)
        return None

    def _orm_chain(self, call: ast.Call, chain: orm.Chain):
        last = chain.last
        consumed = self._consumed(call)
        if chain.kind == orm.DJANGO:
            if last in _DJANGO_RUNS or (consumed and last in orm.DJANGO_LAZY):
                advice = {
                    "create": "collect the objects and call `bulk_create()` once",
                    "update": "update them in one query (`filter(pk__in=ids).update(...)`) or "
                              "`bulk_update()`",
                    "delete": "delete them in one query (`filter(pk__in=ids).delete()`)",
                }.get(last, "fetch them in one query (`filter(pk__in=ids)`, `in_bulk(ids)`), "
                            "or use `select_related()` / `prefetch_related()` on the outer "
                            "QuerySet")
                middle = "…" if len(chain.steps) > 1 else ""
                return f"`{chain.model}.objects.{middle}{last}()`", advice, Confidence.HIGH
            return None
        if chain.kind == orm.SA_QUERY:
            if last in _SA_QUERY_RUNS or (consumed and last not in _SA_QUERY_RUNS):
                return (f"query of `{chain.model}` (`.{last}()`)", "load all the rows at once "
                        "(`.filter(Model.id.in_(ids))`, `selectinload()` / `joinedload()` on "
                        "the outer query)", Confidence.HIGH)
        return None

    def _chain_in_loop(self, node: ast.AST, loop: ast.AST) -> orm.Chain | None:
        """A QuerySet / query held in a variable assigned inside the loop:
        `books = Book.objects.filter(author=a)` then `books.count()` or `for b in books`.
        (Assigned outside the loop, Django's result cache may serve later reads.)"""
        base, _steps = orm.unroll(node)
        if not isinstance(base, ast.Name):
            return None
        values = self.scopes.values_of(base)
        if not values or not all(_within(value, loop) for value in values):
            return None
        chain = self.scopes.chain(node, self.file)
        if chain is None or chain.kind not in (orm.DJANGO, orm.SA_QUERY):
            return None
        if any(step.name in orm.DJANGO_SINGLE or step.name == "[]" for step in chain.steps[:-1]):
            return None  # an instance (`get()`, `first()`), not a QuerySet
        return chain

    def _check_iteration(self, iterable: ast.AST) -> None:
        """`for b in books:` inside an outer loop, `books` a QuerySet made in that loop."""
        loop = self._loop_of(iterable)
        if loop is None or not isinstance(iterable, ast.Name) or id(iterable) in self.done:
            return
        if not self._iterates_collection(loop) or self._runs_once(iterable, loop):
            return
        chain = self._chain_in_loop(iterable, loop)
        if chain is None or not chain.steps:
            return
        if chain.kind == orm.DJANGO and not all(s.name in orm.DJANGO_LAZY for s in chain.steps):
            return
        self.done.add(id(iterable))
        confidence = Confidence.LOW if _TEST_PATH.search(self.file.relpath.replace("\\", "/")) \
            else Confidence.HIGH
        self.report(iterable, f"`{iterable.id}` (a query of `{chain.model}` made in the loop on "
                              f"line {loop.lineno}) is run for every item; fetch the rows for all "
                              "the items at once (`filter(parent__in=...)`, "
                              "`prefetch_related()`, `selectinload()`)", confidence=confidence)

    def _consumed(self, node: ast.AST) -> bool:
        parent = self.scopes.parent(node)
        if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node:
            return True
        if isinstance(parent, ast.comprehension) and parent.iter is node:
            return True
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) \
                and parent.func.id in _COLLECTORS and node in parent.args:
            return True
        return isinstance(parent, (ast.If, ast.While)) and parent.test is node

    def _loop_writes(self, loop: ast.AST) -> bool:
        """Does the loop add, merge or change objects (so a commit per item is a write per
        item)?"""
        targets = self._targets(loop)
        for node in ast.walk(loop):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("add", "add_all", "merge", "delete") \
                    and orm.session_like(node.func.value):
                return True
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id in targets:
                        return True
        return False

    def _django_instance(self, call: ast.Call, loop: ast.AST):
        func = call.func
        name = func.attr
        targets = self._targets(loop)
        # obj.save() / obj.delete() on each item
        if name in ("save", "asave", "delete", "adelete") and not call.args \
                and all(k.arg in _SAVE_KEYWORDS for k in call.keywords) \
                and isinstance(func.value, ast.Name):
            item = func.value.id
            if re.search(r"form|panel|serializer|widget|handler", item, re.I):
                return None  # formset.save(), form.save(): not a model instance
            if item in targets or self._built_in_loop(item, loop):
                confidence = Confidence.HIGH if self._loop_queryset(loop) is not None \
                    else Confidence.MEDIUM
                advice = ("collect the changes and call `bulk_update()` (or "
                          "`bulk_create()`) once" if "save" in name else
                          "delete them in one query (`filter(pk__in=ids).delete()`)")
                return f"`{item}.{name}()`", advice, confidence
            return None
        # order.items.all() / author.book_set.count() per item
        base, steps = orm.unroll(call)
        if len(steps) == 1 and name in ("add", "remove", "set", "clear") \
                and isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) \
                and base.value.id in targets and (call.args or name == "clear") \
                and self._loop_queryset(loop) is not None:
            return (f"related manager `{base.value.id}.{base.attr}.{name}()`",
                    "write the relation rows for all the items at once (`bulk_create()` "
                    "on the `through` model)", Confidence.MEDIUM)
        if not steps or steps[-1].node is not call or not isinstance(base, ast.Attribute) \
                or not isinstance(base.value, ast.Name) or base.value.id not in targets:
            return None
        if not all(s.name in orm.DJANGO_LAZY | _DJANGO_RUNS for s in steps):
            return None
        last = steps[-1].name
        if last in ("create", "get_or_create", "update_or_create", "update", "delete"):
            return None
        if not (last in _DJANGO_RUNS or self._consumed(call)):
            return None
        if not (base.attr.endswith("_set") or len(steps) > 1 or last in ("all", "count",
                                                                          "exists")):
            return None
        outer = self._loop_queryset(loop)
        if outer is not None and outer.has("prefetch_related"):
            return None
        if outer is None and not base.attr.endswith("_set"):
            return None
        return (f"related manager `{base.value.id}.{base.attr}.{last}()`",
                "prefetch the relation on the outer QuerySet (`prefetch_related("
                f"\"{base.attr}\")`) and read it from the cache", Confidence.MEDIUM)

    def _built_in_loop(self, name: str, loop: ast.AST) -> bool:
        """`obj = Model(...)` assigned inside the loop body."""
        for node in ast.walk(loop):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                    for t in node.targets):
                value = node.value
                if isinstance(value, ast.Call) and orm.model_like(value.func):
                    return True
        return False

    def _loop_queryset(self, loop: ast.AST) -> orm.Chain | None:
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            iterable = loop.iter
        elif isinstance(loop, ast.While):
            return None
        else:
            iterable = loop.generators[0].iter
        chain = self.scopes.chain(iterable, self.file)
        return chain if chain is not None and chain.kind == orm.DJANGO else None


def _within(node: ast.AST, outer: ast.AST) -> bool:
    start = (outer.lineno, outer.col_offset)
    stop = (outer.end_lineno or outer.lineno, outer.end_col_offset or 0)
    return start <= (node.lineno, node.col_offset) < stop


def _short(node: ast.AST, limit: int = 40) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        return "..."
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
