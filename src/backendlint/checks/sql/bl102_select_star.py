from ...findings import Confidence, Severity
from ...rule import RuleMeta, SqlRule


class SelectStar(SqlRule):
    """
    ## What it does
    Flags `SELECT *` and `table.*` in `.sql` files and in SQL strings passed to
    `execute` and the other SQL sinks. `count(*)` and `EXISTS (SELECT * ...)` are fine
    and stay silent.

    `INSERT INTO t SELECT * FROM s` is flagged too: it depends on both tables keeping
    the same columns in the same order, which is the same fragility in a worse place.

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
            if _inside_exists(parent):
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
