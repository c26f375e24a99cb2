from ...facts.queries import QUERY
from ...facts.schema import SCHEMA
from ...findings import Confidence, Severity
from ...rule import Option, ProjectRule, RuleMeta
from ...sql import schema_model as sm

_VERB = {"filter": "filters", "join": "joins", "order": "sorts (with a limit)"}


class MissingIndex(ProjectRule):
    """
    ## What it does
    Joins the schema of the project (read from SQL migrations and schema files, Alembic
    revisions, Django and SQLAlchemy models) with the queries its code runs (`.sql` files,
    SQL strings passed to `execute`, Django querysets, SQLAlchemy queries), and flags a
    query that filters, joins or sorts-with-a-limit on a column of a known table when no
    index of that table *starts with* that column. Primary keys and unique constraints
    count as indexes, and a composite index serves its leading column. The finding is
    reported at the query, names the table and column, says where the schema was read, and
    suggests the index to add (a composite one when several equality columns are used
    together).

    A table access counts as served when any of its filter columns leads an index, or
    when it is reached through an indexed join column from a table that is itself
    filtered. A table joined in only by its join column needs that column indexed; the
    first table of a query without any filter is read whole, and no index helps there.

    ## Why is this bad?
    Without an index the database reads every row of the table for each such query (or
    for each row of the other side of a join): fine at a hundred rows, a production
    incident at ten million. Index by the queries the code actually runs, not by guessing.

    Precision first, so it stays silent when:
    - the table's schema is not known (no CREATE TABLE, migration or model defines it),
      or the schema is uncertain: a DDL statement that did not parse names the table, an
      ALTER targets a table never created, or two definitions of the table disagree
      (`--verbose` says which);
    - the column is not in the known schema (a computed alias, a column added by
      something the tool could not read);
    - an unqualified column could belong to several tables of the query;
    - the only filtered columns are boolean (by type, or named `is_*` / `has_*`) or
      declared low-cardinality;
    - the predicate sits under `OR` or `NOT`, wraps the column in a function
      (`lower(email) = ?`: that needs an expression index), or uses `LIKE`, `IS NULL`,
      `!=` or Django lookups such as `icontains` — a plain index does not serve those
      reliably, so they are not judged at all;
    - the table is declared small/static in `ignore-tables`;
    - the query is in a migration (a one-off data migration), or in test code unless
      `include-tests` is set.
    Partial indexes count as serving their leading column whatever their `WHERE`.

    ## Example
    ```sql
    -- migrations/001_init.sql
    CREATE TABLE orders (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL, status TEXT);
    ```
    ```python
    cur.execute("SELECT id, status FROM orders WHERE user_id = %s", (user_id,))
    Order.objects.filter(customer_email=email)
    ```

    ## Use instead
    ```sql
    -- migrations/002_orders_user_id.sql
    CREATE INDEX idx_orders_user_id ON orders (user_id);
    ```

    ## Options
    None yet.

    ## References
    - https://www.postgresql.org/docs/current/indexes-multicolumn.html
    - https://use-the-index-luke.com/sql/where-clause/the-equals-operator/concatenated-keys
    - https://docs.djangoproject.com/en/stable/ref/models/indexes/
    """

    meta = RuleMeta(
        id="BL104", name="missing-index", severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="A query filters, joins or sorts on a column that no index of its table starts with.",
        tags=("performance", "sql", "schema"),
        triggers=("select", "filter", "where", "join", "order"),
    )
    options = (
        Option("ignore-tables", list, [], "tables (glob patterns) that are small or static: never flagged"),
        Option("include-tests", bool, False,
               "also judge queries in test code (`tests/`, `test_*.py`, `conftest.py`)"),
        Option("low-cardinality-columns", list, [],
               "columns (`status`, `orders.kind`, globs) with few distinct values: an index would not "
               "help, so filtering on them alone is not flagged"),
    )
    needs = (SCHEMA, QUERY)

    def check_project(self, facts) -> None:
        schema = sm.build(facts)
        facts.notes.extend(n for n in schema.notes if n not in facts.notes)
        ignore = self.option("ignore-tables")
        low = self.option("low-cardinality-columns")
        seen = set()
        for query in sm.resolve(facts, schema):
            if query.in_tests and not self.option("include-tests"):
                continue
            for why in query.skipped:
                facts.notes.append(f"BL104: {query.location.path}:{query.location.line}: {why}; not judged")
            for item in sm.coverage(query, schema, ignore, low):
                if item.status in (sm.UNKNOWN_TABLE, sm.UNCERTAIN, sm.UNKNOWN_COLUMN):
                    facts.notes.append(
                        f"BL104: {query.location.path}:{query.location.line}: {item.table}: {item.status}"
                        f" ({item.detail}); not judged")
                if item.status != sm.MISSING:
                    continue
                key = (query.location.path, query.location.line, item.table, item.columns)
                if key in seen:
                    continue
                seen.add(key)
                table = schema.table(item.table)
                cols = ", ".join(item.columns)
                what = _VERB[item.via]
                plural = "s" if len(item.columns) > 1 else ""
                message = (f"query {what} `{item.table}` on column{plural} {cols}, but no index of "
                           f"`{item.table}` starts with {'any of them' if plural else 'it'} (schema read "
                           f"from {table.where()}); add: {item.suggestion}")
                self.report_at(query.location, message, table=item.table,
                               columns=list(item.columns), suggestion=item.suggestion)
