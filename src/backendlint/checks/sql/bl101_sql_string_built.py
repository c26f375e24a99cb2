from ...findings import Confidence, Severity
from ...python.embedded import HOLE_MARK
from ...rule import PythonRule, RuleMeta
from ...sql import placement as where

_POSITION_TEXT = {
    where.VALUE: "in a value position; pass it as a query parameter instead",
    where.IDENTIFIER: "as an identifier (table or column name), which cannot be a bound "
                      "parameter; check it against an allow-list or quote it with "
                      "psycopg.sql.Identifier",
    where.FRAGMENT: "as a piece of SQL syntax; build the statement from fixed alternatives",
}
_CONFIDENCE = {where.VALUE: Confidence.HIGH, where.IDENTIFIER: Confidence.MEDIUM,
               where.FRAGMENT: Confidence.MEDIUM}
_RANK = {where.VALUE: 0, where.FRAGMENT: 1, where.IDENTIFIER: 2}


class SqlStringBuilt(PythonRule):
    """
    ## What it does
    Flags SQL built from a non-constant value with an f-string, `%`-formatting,
    `.format()`, `+` or `str.join()` and passed to a call that runs it (a DB-API
    `execute`, `executemany` or `executescript`). The string is rebuilt from the syntax
    tree, following local variables and module constants, and parsed with sqlglot to
    tell where the value lands: a value position (high confidence), or an identifier or
    piece of SQL syntax (medium confidence, with advice to match).

    ## Why is this bad?
    A value pasted into SQL text can change the statement: `' OR '1'='1` reads every
    row, `'; DROP TABLE users; --` does worse. Bound parameters are sent apart from the
    SQL and can never be read as SQL (CWE-89).

    It stays silent for parameterised queries in every paramstyle (`%s`, `?`, `:name`,
    `$1`, `%(name)s`), placeholder lists built from constants (`", ".join(["%s"] * n)`),
    strings made only of constants, numbers forced by `int()` or `%d`, and SQL that is
    only passed around (an opaque variable with no building in sight).

    ## Example
    ```python
    cur.execute(f"SELECT name FROM users WHERE id = {user_id}")
    cur.execute("SELECT name FROM users WHERE email = '%s'" % email)
    ```

    ## Use instead
    ```python
    cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
    cur.execute("SELECT name FROM users WHERE email = %(email)s", {"email": email})
    ```

    ## Options
    None yet.

    ## References
    - https://cwe.mitre.org/data/definitions/89.html
    - https://peps.python.org/pep-0249/#paramstyle
    - https://cheatsheetseries.owasp.org/cheatsheets/Query_Parameterization_Cheat_Sheet.html
    """

    meta = RuleMeta(
        id="BL101", name="sql-string-built", severity=Severity.CRITICAL,
        confidence=Confidence.HIGH,
        summary="SQL is built from a non-constant value instead of bound parameters.",
        cwe=(89,), tags=("security", "sql-injection"),
        triggers=("execute",),
    )

    def finish(self) -> None:
        for sink in self.file.sql_calls:
            holes = sink.built.built_holes
            if not holes or sink.statement is None:
                continue
            all_holes = sink.built.holes
            ranked = []
            for hole in holes:
                index = all_holes.index(hole)
                ranked.append((where.placement(sink.statement.tree, f"{HOLE_MARK}{index}"), hole))
            position, hole = min(ranked, key=lambda item: _RANK[item[0]])
            message = (f"SQL built with {hole.how} from {_source(hole)}: the value lands "
                       f"{_POSITION_TEXT[position]}")
            confidence = _CONFIDENCE[position]
            if sink.statement.tree is None:
                confidence = Confidence.MEDIUM
                message += " (the rebuilt SQL did not parse, so its position is a guess)"
            self.report(sink.query, message, confidence=confidence)


def _source(hole) -> str:
    label = _short(hole.label)
    if hole.origin.startswith("parameter"):
        return hole.origin
    return f"`{label}` (via {hole.origin})" if hole.origin else f"`{label}`"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
