"""BL1xx: SQL and data access."""
import ast

from ...findings import Confidence, Severity
from ...python.embedded import HOLE_MARK, UNKNOWN
from ...rule import Option, PythonRule, RuleMeta
from ...sql import placement as where

_POSITION_TEXT = {
    where.VALUE: "in a value position; pass it as a query parameter instead",
    where.IDENTIFIER: "as an identifier (table or column name), which cannot be a bound "
                      "parameter; check it against an allow-list or quote it with "
                      "psycopg.sql.Identifier / the driver's identifier quoting",
    where.KEYWORD: "as an SQL keyword (such as an ORDER BY direction); choose it from "
                   "fixed alternatives in the code",
    where.FRAGMENT: "as a piece of SQL syntax; build the statement from fixed alternatives",
}
_CONFIDENCE = {where.VALUE: Confidence.HIGH, where.IDENTIFIER: Confidence.MEDIUM,
               where.KEYWORD: Confidence.MEDIUM, where.FRAGMENT: Confidence.MEDIUM}
MAX_HOLES_JUDGED = 50
_RANK = {where.VALUE: 0, where.FRAGMENT: 1, where.KEYWORD: 2, where.IDENTIFIER: 3}


class SqlStringBuilt(PythonRule):
    """
    ## What it does
    Flags SQL built from a non-constant value with an f-string, `%`-formatting,
    `.format()`, `+` or `str.join()` and passed to a call that runs it: DB-API
    `execute`/`executemany`/`executescript` (sqlite3, psycopg2, psycopg 3, pymysql,
    MySQLdb, mysql.connector, aiosqlite), asyncpg `fetch`/`fetchrow`/`fetchval`/`execute`,
    `databases`, SQLAlchemy `text()`/`exec_driver_sql()`/`literal_column()`, Django
    `raw()`/`extra()`/`RawSQL`, pandas `read_sql` — every sink listed in the
    `sql_sinks` knowledge base.

    The string is rebuilt from the syntax tree by following the enclosing function:
    local variables, reassignment, `+=` in loops, both arms of a branch (a branch whose
    condition is a constant is dead code and ignored), `"".join(...)`, dict and list
    values stored under constant keys, module constants, class attributes, and
    functions of the same module that return a built string (followed a few calls deep
    with the caller's arguments). A function of the same module that passes one of its
    parameters to a sink as the SQL (`def query_db(query, args=()):
    cur.execute(query, args)`) is itself treated as a sink, so `query_db(f"...{x}")` is
    judged where it is called. The rebuilt SQL, with a placeholder for each
    non-constant part, is parsed with sqlglot to tell where the value lands:

    - a **value** position (`WHERE id = {uid}`, `LIKE '%{term}%'`, `LIMIT {n}`): high
      confidence;
    - an **identifier** (`FROM {table}`, `ORDER BY {column}`) or a **keyword**
      (`ORDER BY created {direction}`) or a **piece of syntax** (`WHERE {condition}`):
      medium confidence, with advice to match; such values cannot be bound parameters;
    - a value that passed an explicit allow-list check first (`if col not in ALLOWED:
      raise`, `if col in ALLOWED:`, `assert col in ALLOWED`, `col.isdigit()`,
      `re.fullmatch(...)`): low confidence.

    The message says how the string was built and where the value came from
    (a parameter, request data, the line where a variable got it).

    It stays silent for parameterised queries in every paramstyle (`%s`, `?`, `:name`,
    `$1`, `%(name)s`), placeholder lists built from constants
    (`",".join("?" * len(ids))`, `", ".join(["%s"] * n)`), strings made only of
    constants, module constants and literals, a constant clause appended to SQL that came
    from elsewhere (`base_sql + " LIMIT 10"`: the leading part is the statement itself),
    numbers (`int(x)`, `%d`, `{n:d}`), values
    quoted by the driver or framework (calls named `quote...` such as `quote_name`,
    `quote_ident`, `format_table`, `mogrify`, the `[[safe]]` knowledge entries and the
    `safe-functions` option), model metadata such as Django's `_meta.db_table`, `psycopg.sql.SQL(...).format(sql.Identifier(...))` and SQLAlchemy Core
    expressions (not strings at all), and SQL that is only passed around (an opaque
    variable or parameter with no building in sight: the caller is responsible).

    **Confidence and receivers.** A method sink such as `execute` is certain when its
    receiver is known to be a database handle (`sqlite3.connect()`, `.cursor()`,
    `with conn.cursor() as cur`, an annotated parameter, `django.db.connection`) or has
    a conventional name (`cur`, `cursor`, `conn`, `db`, `session`...). On any other
    receiver (`job.execute(...)`) the string must read as SQL *and* parse, and the
    finding is capped at medium confidence.

    **Bad input.** SQL that sqlglot cannot parse (vendor extensions, templated SQL with
    `{{ }}`) is still judged from its text: the finding drops to medium confidence and
    says the position is a guess; on an unknown receiver it is skipped. Very long
    concatenations and deep nesting degrade to "unknown", never to an error.

    **Trade-offs (precision first).** ALL_CAPS names imported from other modules and
    ALL_CAPS attributes of modules and classes (`from .settings import TABLE`,
    `settings.TABLE_PREFIX`, `Status.ACTIVE.value`) are constants by convention and
    count as constant text. A value from a function of another module is
    unknown and counts as non-constant when it is built into SQL; a value checked by a
    helper function (not inline) is not seen as checked. Manual escaping
    (`.replace("'", "''")`) is not treated as safe.

    ## Why is this bad?
    A value pasted into SQL text can change the statement: `' OR '1'='1` reads every
    row, `'; DROP TABLE users; --` does worse. Bound parameters are sent apart from the
    SQL and can never be read as SQL (CWE-89). Identifiers cannot be bound, so they must
    come from a fixed set or be quoted by the driver.

    ## Example
    ```python
    cur.execute(f"SELECT name FROM users WHERE id = {user_id}")
    cur.execute("SELECT name FROM users WHERE email = '%s'" % email)
    session.execute(text(f"SELECT id FROM orders ORDER BY {sort}"))
    ```

    ## Use instead
    ```python
    cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
    cur.execute("SELECT name FROM users WHERE email = %(email)s", {"email": email})
    if sort not in {"created_at", "total"}:
        raise ValueError(sort)
    session.execute(text(f"SELECT id FROM orders ORDER BY {sort}"))  # low confidence
    ```

    **Fix** (`--fix`, safe): a DB-API `execute` whose only argument is SQL built right
    there (f-string, `%`, `.format()`, `+`) is rewritten into a parameterised call in the
    paramstyle of the module's driver (`?` for sqlite3/aiosqlite, `%s` for psycopg,
    psycopg2, PyMySQL, MySQLdb and mysql.connector, `$1` for asyncpg), when exactly one
    driver is imported, every interpolated value is in a value position, a quoted value
    is the whole literal (`'{name}'`, not `'%{name}%'`), and the new SQL parses. Anything
    else is left for a person: identifiers, fragments, values that came through a
    variable, and calls that already pass parameters.

    ## Options
    None yet.

    Other sinks, database handles and quoting functions are added through
    `extend-knowledge`: a TOML file with `[[sql_sinks.method]]`, `[[sql_sinks.function]]`,
    `[[sql_sinks.receiver]]` or `[[sql_sinks.safe]]` tables in the format of the shipped
    `rules/sql_sinks.toml`.

    ## References
    - https://cwe.mitre.org/data/definitions/89.html
    - https://peps.python.org/pep-0249/#paramstyle
    - https://cheatsheetseries.owasp.org/cheatsheets/Query_Parameterization_Cheat_Sheet.html
    - https://www.psycopg.org/psycopg3/docs/api/sql.html
    """

    meta = RuleMeta(
        id="BL101", name="sql-string-built", severity=Severity.CRITICAL,
        confidence=Confidence.HIGH, fixable=True,
        summary="SQL is built from a non-constant value instead of bound parameters.",
        cwe=(89,), tags=("security", "sql-injection"),
        # Sink names, and the first words of SQL statements (a sink added with
        # `extend-knowledge` is only useful on a string that reads as SQL).
        triggers=("execute", "sql", "raw", "fetch", "extra", "iterate", "stream", "copy",
                  "prepare", "mogrify", "select", "insert", "update", "delete", "merge",
                  "truncate", "drop", "alter", "create", "pragma"),
    )

    @classmethod
    def fix(cls, source: str, findings, file) -> str | None:
        from ...python.sql_param_fix import parameterise

        return parameterise(source, findings, file)

    options = (
        Option("safe-functions", list, [],
               "Calls whose result is safe to put into SQL text (qualified names such as "
               "`myapp.db.quote_ident`, or last names such as `quote_ident`)."),
        Option("report-unknown-receivers", bool, True,
               "Report SQL built for a method sink whose receiver is neither a known "
               "database handle nor conventionally named (at medium confidence)."),
    )

    def finish(self) -> None:
        safe = set(self.option("safe-functions"))
        for sink in self.file.sql_calls:
            statement = sink.judged
            if statement is None:
                continue
            if sink.receiver == UNKNOWN and not self.option("report-unknown-receivers"):
                continue
            tree = statement.tree
            if where.is_command(tree):
                tree = None  # sqlglot kept the statement as raw text: no positions in it
            all_holes = sink.built.holes
            candidates = []
            leading = sink.built.parts[0] if sink.built.parts else None
            dialect = statement.extra.get("dialect", "postgres")
            in_strings = None
            judged = 0
            for index, hole in enumerate(all_holes):
                if not hole.how or self._is_safe(hole.node, safe):
                    continue
                if hole is leading and not hole.checked:
                    continue  # `base_sql + " LIMIT 10"`: the SQL itself came from elsewhere
                judged += 1
                if judged > MAX_HOLES_JUDGED:
                    break  # generated code with thousands of values: the first ones tell
                marker = f"{HOLE_MARK}{index}"
                if in_strings is None:
                    in_strings = where.markers_in_strings(statement.text, HOLE_MARK, dialect)
                if marker in in_strings:
                    position = where.VALUE
                elif tree is not None:
                    position = where.placement(tree, marker)
                else:
                    position = where.placement_without_tree(statement.text, marker, dialect)
                candidates.append((hole.checked, _RANK[position], index, position, hole))
            if not candidates:
                continue
            checked, _, _, position, hole = min(candidates, key=lambda c: c[:3])
            message = (f"SQL built with {hole.how} from {_source(hole)}: the value lands "
                       f"{_POSITION_TEXT[position]}")
            confidence = _CONFIDENCE[position]
            if where.is_setting(tree) and position == where.VALUE:
                confidence = Confidence.MEDIUM
                message = message.replace(
                    "pass it as a query parameter instead",
                    "a SET or PRAGMA statement cannot take bound parameters, so validate it "
                    "(an allow-list, or int())")
            if tree is None:
                confidence = min(confidence, Confidence.MEDIUM)
                message += " (the rebuilt SQL did not parse, so its position is a guess)"
            if sink.receiver == UNKNOWN:
                confidence = min(confidence, Confidence.MEDIUM)
            if checked:
                confidence = Confidence.LOW
                message += " (it is checked against an allow-list first: confirm the list is fixed)"
            self.report(sink.query, message, confidence=confidence)

    def _is_safe(self, node, safe: set[str]) -> bool:
        if not safe or not isinstance(node, ast.Call):
            return False
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return last in safe or self.file.qualname(func) in safe


def _source(hole) -> str:
    label = _short(hole.label)
    origin = hole.origin
    if not origin:
        return f"`{label}`"
    if origin.startswith("parameter"):
        return origin
    if origin.startswith("`") and origin.split("`")[1] == label:
        name, rest = origin.split("`")[1], origin.split("`", 2)[2].strip()
        return f"`{name}` ({rest})" if rest else f"`{name}`"
    return f"`{label}` ({origin})"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
