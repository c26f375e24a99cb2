from ...facts.schema import SCHEMA
from ...findings import Severity, Confidence
from ...rule import Option, ProjectRule, RuleMeta
from ...sql import schema_model as sm


class ForeignKeyWithoutIndex(ProjectRule):
    """
    ## What it does
    Flags a foreign-key column (or column list) with no index whose leading columns are
    that key, in the schema rebuilt from SQL DDL, Alembic revisions and SQLAlchemy models.
    Migrations are replayed in order, so an index added by a later migration counts and
    one dropped later does not. A primary key or unique constraint that starts with the
    key counts as its index.

    Django models are left out: Django creates an index for every `ForeignKey` and
    `OneToOneField` itself (and `db_index=False` is a deliberate choice). So are MySQL
    tables (DDL with `ENGINE=...` or backquoted names): InnoDB indexes foreign keys itself;
    set `database-indexes-foreign-keys` when the database is MySQL but the DDL does not
    say so (SQLAlchemy models, say).

    It stays silent on tables whose schema is uncertain (a DDL statement about them did
    not parse, or two definitions disagree), on tables defined only by test code (test
    models, a test schema), and on tables listed in `ignore-tables`.

    ## Why is this bad?
    PostgreSQL and most other databases do not index the referencing side of a foreign
    key. Every delete or key update of a parent row then scans the child table to check
    the constraint (and takes locks while doing so), and every join from parent to
    children reads the whole child table.

    ## Example
    ```sql
    CREATE TABLE order_items (
        id SERIAL PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id)
    );
    ```

    ## Use instead
    ```sql
    CREATE TABLE order_items (
        id SERIAL PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id)
    );
    CREATE INDEX idx_order_items_order_id ON order_items (order_id);
    ```

    ## Options
    None yet.

    ## References
    - https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
    - https://www.cybertec-postgresql.com/en/index-your-foreign-key/
    """

    meta = RuleMeta(
        id="BL107", name="foreign-key-without-index", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A foreign-key column has no index that starts with it.",
        tags=("performance", "sql", "schema"),
        triggers=("references", "foreign", "foreignkey"),
    )
    options = (
        Option("ignore-tables", list, [], "tables (glob patterns) never flagged"),
        Option("database-indexes-foreign-keys", bool, False,
               "set for MySQL/InnoDB, which creates an index for each foreign key itself "
               "(tables whose DDL says ENGINE=... are treated so anyway)"),
    )
    needs = (SCHEMA,)

    def check_project(self, facts) -> None:
        schema = sm.build(facts)
        facts.notes.extend(n for n in schema.notes if n not in facts.notes)
        ignore = self.option("ignore-tables")
        if self.option("database-indexes-foreign-keys"):
            return
        for table in schema.tables.values():
            if table.is_view or table.uncertain or table.in_tests or table.generated or sm.matches(ignore, table.name):
                continue
            seen = set()
            for fk in table.foreign_keys:
                if fk.source == "django" or fk.columns in seen:
                    continue
                seen.add(fk.columns)
                if any(c not in table.columns for c in fk.columns):
                    continue
                width = len(fk.columns)
                if any(set(index.columns[:width]) == set(fk.columns) for index in table.indexes):
                    continue
                cols = ", ".join(fk.columns)
                ref = f"{fk.ref_table}({', '.join(fk.ref_columns)})" if fk.ref_columns else fk.ref_table
                name = f"idx_{table.name}_{'_'.join(fk.columns)}"
                self.report_at(
                    fk.location or table.location,
                    f"foreign key `{table.name}`({cols}) -> {ref} has no index starting with "
                    f"{'these columns' if width > 1 else 'it'}; add: CREATE INDEX {name} ON {table.name} ({cols});",
                    table=table.name, columns=list(fk.columns))
