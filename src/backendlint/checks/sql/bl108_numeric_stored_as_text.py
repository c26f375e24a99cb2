from ...facts.schema import SCHEMA
from ...findings import Confidence, Severity
from ...rule import Option, ProjectRule, RuleMeta
from ...sql import schema_model as sm

NUMERIC_NAMES = ["*_count", "count", "amount", "*_amount", "price", "*_price", "quantity",
                 "*_quantity", "qty", "*_qty", "balance", "*_balance", "total_cents", "*_cents"]
TIMESTAMP_NAMES = ["*_at"]


class NumericStoredAsText(ProjectRule):
    """
    ## What it does
    Flags a column typed as text (`TEXT`, `VARCHAR`, `CHAR`, Django `CharField` /
    `TextField`, SQLAlchemy `String` / `Text`) that holds a number or a time:
    - its foreign key points to an integer column (`user_id VARCHAR REFERENCES users(id)`
      where `users.id` is an integer), or
    - its name clearly holds a number (`*_count`, `amount`, `price`, `quantity`, ...) or a
      timestamp (`*_at`). Both name lists are options.

    It reads the schema rebuilt from migrations and models (a later `ALTER COLUMN ... TYPE`
    counts) and stays silent on tables whose schema is uncertain, on tables defined only by
    test code, on columns of unknown type, and on names that merely *contain* a number word (`phone_number`,
    `account_number` and `*_id` are left alone: they are identifiers, often with leading
    zeros or letters).

    ## Why is this bad?
    Numbers stored as strings sort wrongly (`"10" < "9"`), compare wrongly, take more room,
    accept garbage (`"12,50"`, `"N/A"`), and defeat indexes when the query compares them to
    numbers (an implicit cast on every row). A text foreign key to an integer key also
    forces a cast on every join.

    ## Example
    ```sql
    CREATE TABLE invoices (
        id SERIAL PRIMARY KEY,
        amount VARCHAR(20),
        paid_at TEXT
    );
    ```

    ## Use instead
    ```sql
    CREATE TABLE invoices (
        id SERIAL PRIMARY KEY,
        amount NUMERIC(12, 2),
        paid_at TIMESTAMPTZ
    );
    ```

    ## Options
    None yet.

    ## References
    - https://www.postgresql.org/docs/current/datatype-numeric.html
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Text_storage
    """

    meta = RuleMeta(
        id="BL108", name="numeric-stored-as-text", severity=Severity.LOW, confidence=Confidence.MEDIUM,
        summary="A column typed as text holds a number or a timestamp.",
        tags=("schema", "sql", "data-types"),
        triggers=("text", "char", "string"),
    )
    options = (
        Option("numeric-name-patterns", list, NUMERIC_NAMES,
               "column names (glob patterns, or `table.column`) that hold numbers"),
        Option("timestamp-name-patterns", list, TIMESTAMP_NAMES,
               "column names (glob patterns, or `table.column`) that hold timestamps"),
        Option("ignore-tables", list, [], "tables (glob patterns) never flagged"),
    )
    needs = (SCHEMA,)

    def check_project(self, facts) -> None:
        schema = sm.build(facts)
        facts.notes.extend(n for n in schema.notes if n not in facts.notes)
        numeric, stamps = self.option("numeric-name-patterns"), self.option("timestamp-name-patterns")
        ignore = self.option("ignore-tables")
        for table in schema.tables.values():
            if table.is_view or table.uncertain or table.in_tests or sm.matches(ignore, table.name):
                continue
            fk_targets = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
            for column in table.columns.values():
                if not sm.is_text(column.type):
                    continue
                why = ""
                fk = fk_targets.get(column.name)
                if fk is not None:
                    target = schema.table(fk.ref_table)
                    ref_col = fk.ref_columns[0] if fk.ref_columns else _pk(target)
                    ref = target.columns.get(ref_col) if target is not None and ref_col else None
                    if ref is not None and sm.is_integer(ref.type):
                        why = (f"its foreign key points to the integer column {fk.ref_table}.{ref_col}; "
                               f"use the same integer type")
                if not why and sm.matches(numeric, table.name, column.name):
                    why = "its name says it holds a number; use an integer or NUMERIC type"
                if not why and sm.matches(stamps, table.name, column.name):
                    why = "its name says it holds a timestamp; use TIMESTAMP WITH TIME ZONE (or DATE)"
                if why:
                    self.report_at(column.location or table.location,
                                   f"column `{table.name}.{column.name}` is stored as {column.type} but {why}",
                                   table=table.name, column=column.name)


def _pk(table) -> str:
    if table is None:
        return ""
    for index in table.indexes:
        if index.primary and len(index.columns) == 1:
            return index.columns[0]
    return ""
