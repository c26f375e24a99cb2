from ...findings import Confidence, Severity
from ...rule import RuleMeta, SqlRule


class SelectStar(SqlRule):
    """
    ## What it does
    Flags `SELECT *` and `table.*` in `.sql` files and in every SQL string that reaches
    a SQL sink in Python (`execute`, `text()`, asyncpg `fetch`, pandas `read_sql`,
    Django `raw()`, ... — the `sql_sinks` knowledge base), wherever the string is
    defined: inline, in a module constant or in a class attribute; the finding points
    into the string literal. Strings that never reach a sink are not treated as SQL.

    Silent for `count(*)`, `EXISTS (SELECT * ...)`, a star inside a derived table or CTE
    whose outer query names its columns (`SELECT a FROM (SELECT * FROM t) sub`: the star
    never reaches the application), a star over derived tables that name their columns
    (`SELECT * FROM (SELECT id, total FROM t) sub`), and a star over a table whose name
    is only known at run time (`SELECT * FROM {table} LIMIT 1` in introspection or admin
    code, where no column list can be written).

    Confidence: high in `.sql` files and for SQL given to a known or conventionally
    named database handle; medium when the receiver is unknown or the SQL was rebuilt
    from pieces sqlglot could not parse (SQL it cannot parse at all is skipped).

    `INSERT INTO t SELECT * FROM s` is flagged too (a decision): it depends on both
    tables keeping the same columns in the same order, which is the same fragility in a
    worse place; name the columns on both sides.

    ## Why is this bad?
    The query fetches every column, today's and tomorrow's: wasted I/O and memory,
    no index-only scans, large or sensitive columns (password hashes, blobs) pulled into
    the application, and code that breaks or leaks data when a column is added or
    reordered.

    ## Example
    ```sql
    SELECT * FROM orders WHERE user_id = $1;
    ```

    ## Use instead
    ```sql
    SELECT id, status, total FROM orders WHERE user_id = $1;
    ```

    ## Options
    None.

    ## References
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This
    """

    meta = RuleMeta(
        id="BL102", name="select-star", severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="A query selects every column with `*` instead of naming them.",
        tags=("performance", "maintainability"),
        triggers=("select",),
    )

    def check(self, statement) -> None:
        from sqlglot import exp

        if statement.tree is None:
            return
        for star in statement.tree.find_all(exp.Star):
            parent = star.parent
            if isinstance(parent, exp.Column):  # t.*
                node, parent = parent, parent.parent
            else:
                node = star
            if not isinstance(parent, exp.Select) or node not in parent.expressions:
                continue  # count(*), array[*], ...
            if _inside_exists(parent) or _projected_away(parent) or _sources_fix_the_columns(parent):
                continue
            shown = node.sql()
            self.report_at(statement, star, f"`SELECT {shown}` fetches every column; name the columns the code uses")


def _inside_exists(select) -> bool:
    from sqlglot import exp

    node = select
    while node is not None:
        if isinstance(node, exp.Exists):
            return True
        node = node.parent
    return False


def _projected_away(select) -> bool:
    """`SELECT a FROM (SELECT * FROM t) sub` and `WITH x AS (SELECT * FROM t) SELECT a FROM x`:
    the star is inside a derived table or CTE whose outer query (at any depth) names its
    columns."""
    from sqlglot import exp

    node = select.parent
    while node is not None:
        if isinstance(node, (exp.Insert, exp.Create)):
            return False
        if isinstance(node, (exp.Subquery, exp.CTE)):
            outer = node.parent
            while outer is not None and not isinstance(outer, exp.Select):
                outer = outer.parent
            if outer is None:
                return False
            if not any(_is_projection_star(e) for e in outer.expressions):
                return True
            node = outer
        node = node.parent
    return False


def _sources_fix_the_columns(select) -> bool:
    """`SELECT * FROM (SELECT id, total FROM t) sub`: every source is a derived table that
    names its columns, or a table whose name is only known at run time (generic code
    such as introspection, `SELECT * FROM {table} LIMIT 1`), where no column list exists."""
    from sqlglot import exp

    from ...python.embedded import HOLE_MARK
    from ...python.strings import SAFE_MARK

    sources = []
    from_ = select.args.get("from") or select.args.get("from_")
    if from_ is not None and from_.this is not None:
        sources.append(from_.this)
    sources.extend(join.this for join in select.args.get("joins") or [])
    if not sources:
        return False
    for source in sources:
        if isinstance(source, exp.Subquery) and isinstance(source.this, exp.Select) \
                and not any(_is_projection_star(e) for e in source.this.expressions):
            continue
        if isinstance(source, (exp.Table, exp.Subquery)):
            name = source.name if isinstance(source, exp.Table) else source.this.sql() \
                if source.this is not None else ""
            if HOLE_MARK in name or SAFE_MARK in name:
                continue
        return False
    return True


def _is_projection_star(expression) -> bool:
    from sqlglot import exp

    return isinstance(expression, exp.Star) or (
        isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star))
