from __future__ import annotations

import fnmatch
import re

from ...facts.queries import QUERY, DefaultFilter, OrmQuery, SqlQuery
from ...facts.schema import SCHEMA
from ...findings import Confidence, Severity
from ...rule import Option, ProjectRule, RuleMeta
from ...sql import schema_model as sm

_WORD = re.compile(r"[a-z0-9]+")
_CALL = re.compile(r"\.(\w+)\(")
_WRITES = {"update", "delete", "aupdate", "adelete", "get_or_create", "update_or_create",
           "aget_or_create", "aupdate_or_create", "returning"}


class SoftDeleteNotFiltered(ProjectRule):
    """
    ## What it does
    Finds the tables of the project that have a soft-delete column (`deleted_at`,
    `is_deleted`, `deleted`, `deleted_on` by default: see `soft-delete-columns`), read from
    SQL migrations, Alembic revisions, Django and SQLAlchemy models, and flags a query
    that reads such a table without mentioning its soft-delete column anywhere: a raw SQL
    `SELECT ... FROM users` (in a `.sql` file or a string passed to `execute`), a Django
    `User.objects.filter(...)` / `.get(...)` / `.all()` chain, or a SQLAlchemy
    `select(User)` / `session.query(User)` / `User.query` chain. Deleted rows then leak into
    the results.

    ## Why is this bad?
    A soft delete only hides a row if every read filters it out. One query that forgets
    `deleted_at IS NULL` shows a deleted user in a list, lets a deleted account log in, or
    counts deleted orders in a report.

    ## The heuristic (precision first)
    A query counts as *filtered* when it mentions the soft-delete column at all: in its
    `WHERE` (also under `OR` / `NOT`, as `IS NULL`, `deleted_at__isnull=True`,
    `User.deleted_at.is_(None)`, `~Q(is_deleted=True)`), in its select list or ORDER BY.
    Only what the code says is judged, so it stays silent when:
    - the table's schema is unknown or uncertain, or the table is a view (views are the
      usual way to hide deleted rows);
    - the table is only joined (`JOIN users u ON ...`): the first table of `FROM` is judged;
    - the statement is an `INSERT`, `UPDATE` or `DELETE`, or an ORM chain ending in
      `.update()`, `.delete()`, `get_or_create` / `update_or_create` (writes to a deleted
      row are usually deliberate: restore, purge, anonymise);
    - an ORM chain ends in `.exists()`: existence checks are mostly uniqueness checks
      ("is this email taken?"), which must see deleted rows, since the unique constraint does;
    - part of the SQL is built at run time (an f-string or `%` hole): the missing piece
      may add the predicate;
    - Django: the model (or an abstract base it inherits) sets a custom default manager
      (`objects = ActiveManager()`, `objects = SoftDeleteQuerySet.as_manager()`), or the
      query goes through a manager other than `objects` (`User.all_objects`), or the model
      inherits from a base class the tool cannot read whose name mentions soft/safe delete
      (django-safedelete, django-model-utils' `SoftDeletableModel`);
    - SQLAlchemy: the model (or a base) sets `query_class` (Flask-SQLAlchemy), or the
      project sets a global criteria (`with_loader_criteria(...)` or a
      `do_orm_execute` event listener) anywhere;
    - the code path matches `restore-patterns` (admin, restore, undelete, purge, trash,
      audit, ...): a word of the file path or of the enclosing function name;
    - an ORM chain assigned to a name and extended later in the same function
      (`qs = User.objects.all()` ... `qs = qs.filter(is_deleted=False)`) is judged at the
      extension, which sees the whole chain; a class-level `queryset = ...` (Django REST
      framework) is not judged when the file has a `get_queryset` that builds a query;
    - the query is in a migration, or in test code unless `include-tests` is set.

    A fetch by primary key (`WHERE id = %s`, `.get(pk=...)`) *is* reported: loading a
    deleted row by its id (from a URL, a token, a foreign key) is the most common leak.
    Raw SQL findings have medium confidence; ORM findings too, since a default filter set
    up in a way the tool does not read (a database view, row-level security) silences the
    leak.

    Partial indexes are not a finding: whether a table is big and hot enough to need an
    index for its live rows is a judgement the code does not show, and a finding there
    would be noise. `backendlint schema` instead lists, under *Soft deletes* (and
    `soft_deletes` in its JSON), every table with a soft-delete column and the index that
    is partial on it (`... WHERE deleted_at IS NULL`) or contains it, or that none does.

    ## Example
    ```sql
    -- migrations/001_users.sql
    CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT NOT NULL, deleted_at TIMESTAMPTZ);
    ```
    ```python
    cur.execute("SELECT id, email FROM users WHERE email = %s", (email,))
    ```

    ## Use instead
    ```python
    cur.execute("SELECT id, email FROM users WHERE email = %s AND deleted_at IS NULL", (email,))
    ```
    or, with Django, a default manager that filters:
    ```python
    class ActiveManager(models.Manager):
        def get_queryset(self):
            return super().get_queryset().filter(deleted_at__isnull=True)

    class User(models.Model):
        deleted_at = models.DateTimeField(null=True)
        objects = ActiveManager()
        all_objects = models.Manager()
    ```

    ## Options
    - `soft-delete-columns`: the column names that mark a soft delete. `archived_at` and
      `status` are not in the default: archived rows are often meant to be shown.
    - `restore-patterns`: words (or globs) of paths and function names where reading
      deleted rows is the point (an admin, a restore endpoint, a purge job).
    - `ignore-tables`: tables never judged.

    ## References
    - https://docs.djangoproject.com/en/stable/topics/db/managers/#modifying-a-manager-s-initial-queryset
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#sqlalchemy.orm.with_loader_criteria
    """

    meta = RuleMeta(
        id="BL110", name="soft-delete-not-filtered", severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="A query reads a table with a soft-delete column without filtering on it.",
        tags=("correctness", "sql", "schema"),
        triggers=("select", "objects", "query", "filter", "get", "all"),
    )
    options = (
        Option("soft-delete-columns", list, ["deleted_at", "is_deleted", "deleted", "deleted_on"],
               "column names that mark a row as soft-deleted"),
        Option("restore-patterns", list,
               ["admin", "restore", "undelete", "purge", "trash", "recycle", "deleted", "audit", "gdpr",
                "anonymi*", "cleanup", "hard_delete", "export", "backfill", "seed*", "scripts",
                "management"],
               "words or globs matched against the words of the file path and the enclosing function name "
               "(`restore_user`, `app/admin.py`): code that reads deleted rows on purpose"),
        Option("ignore-tables", list, [], "tables (glob patterns) never judged"),
        Option("include-tests", bool, False, "also judge queries in test code"),
    )
    needs = (SCHEMA, QUERY)

    def check_project(self, facts) -> None:
        schema = sm.build(facts)
        columns = {c.lower() for c in self.option("soft-delete-columns")}
        soft: dict[str, list[str]] = {}
        for name, table in schema.tables.items():
            if table.is_view or table.uncertain or table.in_tests and not self.option("include-tests"):
                continue
            if any(fnmatch.fnmatch(name, pat) for pat in self.option("ignore-tables")):
                continue
            found = [c for c in table.columns if c.lower() in columns]
            if found:
                soft[name] = found
        if not soft:
            return
        all_facts = facts.of(QUERY)
        defaults = [f for f in all_facts if isinstance(f, DefaultFilter)]
        sa_global = any(f.how == "sqlalchemy-global" for f in defaults)
        managed = {(f.module, f.name) for f in defaults if f.how == "manager"}
        extended = _extended(all_facts)
        for fact in all_facts:
            if isinstance(fact, DefaultFilter) or id(fact) in extended:
                continue
            path = fact.location.path
            if sm.is_migration_path(path):
                continue
            if sm.is_test_path(path) and not self.option("include-tests"):
                continue
            if self._restore(path, getattr(fact, "function", "")):
                continue
            if isinstance(fact, SqlQuery):
                self._sql(fact, schema, soft)
            elif isinstance(fact, OrmQuery):
                if fact.orm == "sqlalchemy" and sa_global:
                    continue
                self._orm(fact, schema, soft, managed)

    def _restore(self, path: str, function: str) -> bool:
        words = set(_WORD.findall(path.lower().rsplit(".", 1)[0]))
        words |= set(_WORD.findall(function.lower()))
        words.add(function.lower())
        for pattern in self.option("restore-patterns"):
            pattern = pattern.lower()
            if any(fnmatch.fnmatch(word, pattern) for word in words) or ("/" in pattern and fnmatch.fnmatch(
                    path.lower(), pattern)):
                return True
        return False

    def _sql(self, fact: SqlQuery, schema, soft) -> None:
        if fact.statement != "select" or not fact.tables:
            return
        first = fact.tables[0]
        if first.joined or first.outer:
            return
        cols = soft.get(first.name.lower())
        if not cols or any(c.lower() in fact.mentioned for c in cols):
            return
        if "bl_hole" in fact.text.lower() or any("bl_hole" in m for m in fact.mentioned):
            return  # a piece of the SQL is built at run time: it may add the predicate
        table = schema.table(first.name)
        self.report_at(
            fact.location,
            f"query reads `{first.name}` without a predicate on its soft-delete column "
            f"{', '.join(cols)} ({_where(table, cols[0])}), so deleted rows are returned; "
            f"add `{_predicate(cols[0], table)}`",
            table=first.name, column=cols[0])

    def _orm(self, fact: OrmQuery, schema, soft, managed) -> None:
        from ...extract.pyhelpers import module_name

        info = sm.resolve_model(schema.models, fact.model, module_name(fact.location.path), fact.orm)
        if info is None or not info.table:
            return
        cols = soft.get(info.table.lower())
        if not cols:
            return
        attrs = {attr.lower() for attr, f in info.fields.items() if f.column.lower() in {c.lower() for c in cols}}
        attrs |= {c.lower() for c in cols}
        if attrs & set(fact.mentioned):
            return
        calls = set(_CALL.findall(fact.text))
        if calls & _WRITES:
            return  # a write (update, delete, get_or_create): usually deliberate on any row
        if "exists" in calls or "aexists" in calls:
            return  # existence checks are often uniqueness checks, which must see deleted rows
        if fact.orm == "django":
            head = fact.text.split("(", 1)[0]
            parts = head.split(".")
            if len(parts) >= 2 and "objects" not in parts[1:2] and parts[0][:1].isupper():
                return  # `User.all_objects....`: a manager chosen on purpose
        if self._has_default_filter(info, schema, managed):
            return
        table = schema.table(info.table)
        attr = next((a for a, f in info.fields.items() if f.column.lower() == cols[0].lower()), cols[0])
        field = info.fields.get(attr)
        boolean = (field is not None and field.type in sm.BOOLEAN_TYPES) or attr.lower().startswith("is_")
        if fact.orm == "django":
            hint = f"{attr}=False" if boolean else f"{attr}__isnull=True"
        else:
            hint = f"{info.name}.{attr}.is_(False)" if boolean else f"{info.name}.{attr}.is_(None)"
        self.report_at(
            fact.location,
            f"query on {info.name} (table `{info.table}`) has no filter on its soft-delete column "
            f"{', '.join(cols)} ({_where(table, cols[0])}), so deleted rows are returned; "
            f"filter with `{hint}`" + (" or give the model a default manager that does"
                                        if fact.orm == "django" else ""),
            table=info.table, column=cols[0])

    def _has_default_filter(self, info, schema, managed) -> bool:
        seen = set()
        todo = [info.fact]
        while todo:
            fact = todo.pop()
            key = (fact.module, fact.name)
            if key in seen:
                continue
            seen.add(key)
            if key in managed:
                return True
            for base in fact.bases:
                low = base.lower().replace("_", "")
                if "softdelet" in low or "safedelet" in low or "paranoid" in low:
                    return True
                parent = sm.resolve_model(schema.models, base, fact.module, info.orm)
                if parent is not None:
                    todo.append(parent.fact)
        return False


def _extended(all_facts) -> set[int]:
    """ORM chains held in a name and built on later (`qs = User.objects.all()` ...
    `qs.filter(...)`, or a class-level DRF `queryset = ...` with a `get_queryset` in the same
    file): judged where they are extended, not where they start."""
    later: dict[tuple[str, str], list] = {}
    overrides = set()
    for fact in all_facts:
        if isinstance(fact, OrmQuery):
            later.setdefault((fact.location.path, fact.function), []).append(fact)
            if fact.function == "get_queryset":
                overrides.add(fact.location.path)
    out = set()
    for facts in later.values():
        for fact in facts:
            if not fact.held:
                continue
            if not fact.function and fact.held == "queryset" and fact.location.path in overrides:
                out.add(id(fact))
            elif any(other.location.line > fact.location.line and other.text.startswith(fact.held + ".")
                     for other in facts):
                out.add(id(fact))
    return out


def _where(table, column: str) -> str:
    col = table.columns.get(column)
    if col is not None and col.location is not None:
        return f"column defined at {col.location.path}:{col.location.line}"
    return f"schema read from {table.where()}"


def _predicate(column: str, table) -> str:
    col = table.columns.get(column)
    kind = (col.type if col else "").lower()
    if kind in sm.BOOLEAN_TYPES or not kind and column.lower().startswith("is_"):
        return f"NOT {column}"
    return f"{column} IS NULL"


def soft_delete_index_report(schema, columns) -> list[dict]:
    """For `backendlint schema`: each table with a soft-delete column and the index that
    serves `<column> IS NULL` reads, if any: a partial index whose WHERE names the column,
    or an index that contains it. Reported there, not as findings: whether a table is big
    and hot enough to need one is a judgement the schema alone cannot make."""
    wanted = {c.lower() for c in columns}
    out = []
    for table in sorted(schema.tables.values(), key=lambda t: t.name):
        if table.is_view:
            continue
        for column in table.columns:
            if column.lower() not in wanted:
                continue
            pattern = re.compile(rf"\b{re.escape(column)}\b", re.I)
            partial = [i for i in table.indexes if i.where and pattern.search(i.where)]
            containing = [i for i in table.indexes if column in i.columns or column in i.include]
            best = (partial or containing or [None])[0]
            out.append({"table": table.name, "column": column,
                        "index": best.describe() if best else None,
                        "partial": bool(partial),
                        "location": f"{best.location.path}:{best.location.line}" if best and best.location else None})
    return out
