from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import orm
from ...rule import Option, PythonRule, RuleMeta, SqlRule

# QuerySet steps that keep every row of the table in the set.
_DJANGO_KEEP_ALL = frozenset({"all", "order_by", "select_related", "prefetch_related", "only",
                              "defer", "using", "annotate", "alias", "select_for_update",
                              "distinct", "reverse"})
_SA_KEEP_ALL = frozenset({"order_by", "options", "execution_options", "enable_eagerloads",
                          "with_for_update", "values", "returning", "execution_options",
                          "with_hint", "prefix_with", "inline", "ordered_values",
                          "set", "add_columns"})
_WRITES = {"delete": "delete", "adelete": "delete", "update": "update", "aupdate": "update"}
_EXECUTORS = frozenset({"execute", "exec", "aexecute", "scalars", "scalar"})
_UNPARSED = re.compile(r"^\s*(?:with\b.*?\)\s*)?(delete\s+from|update)\s+([\w.\"`\[\]]+)", re.I | re.S)
_TEST_PATH = re.compile(r"(^|/)(tests?|testing|test_\w+\.py|\w+_tests?\.py|conftest\.py)(/|$)")
# Code whose name says it empties things on purpose: a management command, a `purge()`.
_INTENT_PATH = re.compile(r"(^|/)management/commands/")
_INTENT_NAME = re.compile(r"purge|flush|clear|reset|truncate|wipe|empty|teardown|tear_down|"
                          r"clean_?up|drop|rebuild|reindex|delete_all|remove_all", re.I)
_MIGRATION_PATH = re.compile(r"(^|/)(migrations?|alembic|versions|migrate|db/migrate)(/|$)|"
                             r"(^|/)V\d+[\w.]*__\w+\.sql$|(^|/)\d{3,}[_-]\w+\.(sql|py)$", re.I)


class UnsafeMutation(PythonRule, SqlRule):
    """
    ## What it does
    Flags statements that change or delete every row of a table:

    - SQL (`.sql` files, migrations included, and SQL strings passed to `execute` and
      the other sinks): `UPDATE` or `DELETE` with no `WHERE`, or with a `WHERE` that is
      always true (`WHERE 1 = 1`, `WHERE true`);
    - Django: `Model.objects.all().delete()`, `Model.objects.update(...)` and the same
      through a local variable, with no `filter()`, `exclude()` or slice in the chain;
    - SQLAlchemy: `session.query(Model).delete()` / `.update({...})` and
      `Model.query.delete()` with no `filter()` / `filter_by()`, and `delete(Model)` /
      `update(Model).values(...)` (or Core `table.delete()`) executed with no `.where()`.

    `TRUNCATE` says "empty the table" on purpose and stays silent, as do statements on
    temporary tables (created `TEMP` in the same `.sql` file, or named `tmp_*` /
    `temp_*`) and MySQL's batched `DELETE ... LIMIT n`.

    Confidence: high by default; medium for an `UPDATE` in a migration (a backfill of a
    new column usually means every row), for SQL whose table name is filled in at run
    time, and in code whose name says it empties things on purpose (a Django management
    command, a function named `purge`, `flush`, `clear`, `reset`, `truncate`, `wipe`,
    `cleanup`...); low in test code (fixtures and tear-downs empty tables on purpose) and for
    SQL sqlglot cannot parse, which is then read from its text (`DELETE FROM t` or
    `UPDATE t SET` with no `WHERE` word anywhere). Unparsable statements in `.sql`
    files are reported by BL901 and skipped here.

    ## Why is this bad?
    One missing line turns "delete this user's sessions" into "delete everybody's".
    A mutation of every row is almost never what a request handler means, and when a
    job or migration does mean it, writing it explicitly (`TRUNCATE`, or a `WHERE`
    that names the rows) tells the next reader so. The mistake is also expensive to
    undo: the rows are gone from every replica, and only a backup brings them back.

    ## Example
    ```sql
    DELETE FROM sessions;
    UPDATE users SET plan = 'free';
    ```
    ```python
    Session.objects.all().delete()
    db.session.query(Token).delete()
    ```

    ## Use instead
    ```sql
    DELETE FROM sessions WHERE expires_at < now();
    UPDATE users SET plan = 'free' WHERE plan_expires_at < now();
    TRUNCATE sessions;  -- when emptying the table really is the intent
    ```
    ```python
    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    db.session.query(Token).filter(Token.user_id == user.id).delete()
    ```

    ## Options
    None.

    ## References
    - https://www.postgresql.org/docs/current/sql-delete.html
    - https://docs.djangoproject.com/en/stable/ref/models/querysets/#delete
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html
    """

    meta = RuleMeta(
        id="BL105", name="unsafe-mutation", severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="An UPDATE or DELETE (SQL or ORM) changes every row of a table.",
        cwe=(1284,), tags=("data-loss", "reliability"),
        triggers=("delete", "update"),
    )
    options = (
        Option("temporary-table-prefixes", list, ["tmp_", "temp_", "_tmp"],
               "Table names starting with one of these are scratch tables: emptying them "
               "is not reported."),
    )

    # -- SQL: .sql files and SQL strings reaching a sink ---------------------------------
    def check(self, statement) -> None:
        from sqlglot import exp

        temporary = self.__dict__.setdefault("_temporary_tables", set())
        tree = statement.tree
        if tree is None:
            if statement.embedded:
                self._check_unparsed(statement)
            return
        if isinstance(tree, exp.Create) and tree.find(exp.TemporaryProperty):
            table = tree.find(exp.Table)
            if table is not None:
                temporary.add(table.name.lower())
            return
        for node in tree.find_all(exp.Update, exp.Delete):
            where = node.args.get("where")
            if where is not None and not _always_true(where.this):
                continue
            if node.args.get("limit"):
                continue
            table = node.this if isinstance(node.this, exp.Table) else node.find(exp.Table)
            name = table.name if table is not None else ""
            if name.lower() in temporary or self._scratch(name):
                continue
            kind = "DELETE" if isinstance(node, exp.Delete) else "UPDATE"
            self._report_sql(statement, node, kind, name, where is not None)

    def _report_sql(self, statement, node, kind: str, name: str, tautology: bool) -> None:
        hole = name.startswith("bl_")  # a value the engine put in for a run-time name
        shown = "a table named at run time" if hole or not name else f"`{name}`"
        verb = "deletes" if kind == "DELETE" else "changes"
        why = "its WHERE is always true" if tautology else "it has no WHERE"
        advice = ("add a WHERE naming the rows, or write TRUNCATE if emptying the table is "
                  "the intent" if kind == "DELETE" else "add a WHERE naming the rows to change")
        confidence = self._confidence(kind, statement.whole.line if statement.embedded else 0)
        if hole and confidence is Confidence.HIGH:
            confidence = Confidence.MEDIUM
        self.report_at(statement, node, f"{kind} {verb} every row of {shown}: {why}; {advice}",
                       confidence=confidence)

    def _check_unparsed(self, statement) -> None:
        text = statement.text
        match = _UNPARSED.match(text)
        if not match or re.search(r"\bwhere\b|\blimit\b", text, re.I):
            return
        kind = "DELETE" if match.group(1).lower().startswith("delete") else "UPDATE"
        if kind == "UPDATE" and not re.search(r"\bset\b", text, re.I):
            return
        name = match.group(2).strip('"`[]')
        if self._scratch(name):
            return
        self.report_at(statement, None, f"{kind} of `{name}` with no WHERE (read from the SQL "
                       "text: it did not parse) changes every row", confidence=Confidence.LOW)

    def _scratch(self, name: str) -> bool:
        lowered = name.lower().rsplit(".", 1)[-1]
        return any(lowered.startswith(p.lower()) for p in self.option("temporary-table-prefixes"))

    def _confidence(self, kind: str, line: int = 0) -> Confidence:
        path = self.file.relpath.replace("\\", "/")
        if _TEST_PATH.search(path):
            return Confidence.LOW
        if kind == "UPDATE" and _MIGRATION_PATH.search(path):
            return Confidence.MEDIUM
        if _INTENT_PATH.search(path) or _INTENT_NAME.search(self._function_name(line)):
            return Confidence.MEDIUM
        return Confidence.HIGH

    def _function_name(self, line: int) -> str:
        """Name of the innermost Python function holding `line` ('' for SQL files)."""
        tree = getattr(self.file, "tree", None)
        if tree is None or not line:
            return ""
        name = ""
        for node in self.file.of_type(ast.FunctionDef, ast.AsyncFunctionDef):
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                name = node.name  # ast.walk is breadth first: the last match is innermost
        return name

    # -- ORM: Django and SQLAlchemy -----------------------------------------------------
    def finish(self) -> None:
        tree = self.file.tree
        if tree is None:
            return
        self.scopes = orm.scopes_for(self.file)
        for node in self.file.of_type(ast.Call):
            if not isinstance(node.func, ast.Attribute):
                continue
            attr = node.func.attr
            if attr in _WRITES:
                self._check_orm_write(node, _WRITES[attr])
            elif attr in _EXECUTORS and node.args:
                self._check_statement(node, node.args[0])

    def _check_orm_write(self, call: ast.Call, kind: str) -> None:
        chain = self.scopes.chain(call, self.file)
        if chain is None or not chain.steps or chain.steps[-1].node is not call:
            return
        before = chain.steps[:-1]
        if chain.kind == orm.DJANGO:
            if kind == "delete" and call.args:
                return
            if all(step.name in _DJANGO_KEEP_ALL or (step.name == "filter" and orm.is_empty_call(step))
                   for step in before):
                self._report_orm(call, kind, f"every `{chain.model}` row",
                                 "filter the QuerySet first (`.filter(...)`)")
        elif chain.kind == orm.SA_QUERY:
            if all(step.name in _SA_KEEP_ALL or (step.name in ("filter", "filter_by", "where")
                                                 and orm.is_empty_call(step)) for step in before):
                self._report_orm(call, kind, f"every `{chain.model}` row",
                                 "add `.filter(...)` before it")

    def _check_statement(self, call: ast.Call, argument: ast.AST) -> None:
        chain = self.scopes.chain(argument, self.file)
        if chain is not None and chain.kind == orm.SA_STATEMENT and chain.statement in ("update", "delete"):
            if all(step.name in _SA_KEEP_ALL for step in chain.steps):
                self._report_orm(call, chain.statement, f"every `{chain.model or 'table'}` row",
                                 "add `.where(...)` to the statement")
            return
        # SQLAlchemy Core: conn.execute(users.delete()) / users.update().values(...)
        base, steps = orm.unroll(argument)
        if isinstance(base, ast.Name) and steps and steps[0].name in ("delete", "update") \
                and steps[0].call is not None and not steps[0].call.args \
                and not steps[0].call.keywords \
                and all(step.name in _SA_KEEP_ALL for step in steps[1:]):
            kind = steps[0].name
            self._report_orm(call, kind, f"every row of table `{base.id}`",
                             "add `.where(...)` to the statement", cap=Confidence.MEDIUM)

    def _report_orm(self, node: ast.AST, kind: str, what: str, advice: str,
                    cap: Confidence = Confidence.HIGH) -> None:
        verb = "deletes" if kind == "delete" else "updates"
        confidence = min(cap, self._confidence(kind.upper(), getattr(node, "lineno", 0)))
        self.report(node, f"{kind}() with no filter {verb} {what}; {advice}",
                    confidence=confidence)


def _always_true(condition) -> bool:
    from sqlglot import exp

    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.Boolean):
        return bool(condition.this)
    if isinstance(condition, exp.Literal) and not condition.is_string:
        return condition.this not in ("0",)
    if isinstance(condition, exp.EQ):
        left, right = condition.this, condition.expression
        return isinstance(left, exp.Literal) and isinstance(right, exp.Literal) and left == right
    return False
