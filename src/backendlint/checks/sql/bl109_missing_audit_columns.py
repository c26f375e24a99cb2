from ...facts.schema import SCHEMA
from ...findings import Confidence, Severity
from ...rule import Option, ProjectRule, RuleMeta
from ...sql import schema_model as sm

CREATED = ["created_at", "created", "created_on", "created_date", "creation_date", "date_created",
           "inserted_at", "create_time", "created_time", "creation_time"]
UPDATED = ["updated_at", "updated", "updated_on", "modified", "modified_at", "modified_on",
           "date_modified", "date_updated", "last_modified", "last_updated", "update_time",
           "updated_time"]


class MissingAuditColumns(ProjectRule):
    """
    ## What it does
    Flags a table with no creation-time or no update-time column (`created_at` /
    `updated_at` and their usual spellings; both lists are options), in the schema rebuilt
    from migrations and models. Columns added by a later migration count; so do fields a
    Django or SQLAlchemy model inherits from an abstract base or mixin in the project.

    It is reported once per table, at its definition, and stays off for views, many-to-many
    join tables (only foreign keys and a surrogate key), tables Django generates, tables
    defined only by test code, tables whose schema is uncertain, models with a base class from outside the project (it may
    bring the columns), and tables listed in `ignore-tables`.

    ## Why is this bad?
    When a row appeared and when it last changed are the first questions of every
    incident, support ticket, data repair and incremental export; they cannot be recovered
    afterwards.

    ## Example
    ```sql
    CREATE TABLE invoices (id SERIAL PRIMARY KEY, amount NUMERIC(12, 2));
    ```

    ## Use instead
    ```sql
    CREATE TABLE invoices (
        id SERIAL PRIMARY KEY,
        amount NUMERIC(12, 2),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    ```

    ## Options
    None yet.

    ## References
    - https://www.postgresql.org/docs/current/functions-datetime.html
    - https://docs.djangoproject.com/en/stable/ref/models/fields/#django.db.models.DateField.auto_now
    """

    meta = RuleMeta(
        id="BL109", name="missing-audit-columns", severity=Severity.LOW, confidence=Confidence.MEDIUM,
        summary="A table has no created_at / updated_at column.",
        tags=("schema", "sql", "audit"),
        triggers=("create", "model", "table"),
    )
    options = (
        Option("created-columns", list, CREATED, "names that count as a creation-time column"),
        Option("updated-columns", list, UPDATED, "names that count as an update-time column"),
        Option("ignore-tables", list, [], "tables (glob patterns) never flagged"),
    )
    needs = (SCHEMA,)

    def check_project(self, facts) -> None:
        schema = sm.build(facts)
        facts.notes.extend(n for n in schema.notes if n not in facts.notes)
        created = [c.lower() for c in self.option("created-columns")]
        updated = [c.lower() for c in self.option("updated-columns")]
        for table in schema.tables.values():
            if (table.is_view or table.in_tests or table.is_join_table or table.generated or table.uncertain
                    or table.unknown_base or not table.columns or sm.matches(self.option("ignore-tables"), table.name)):
                continue
            missing = []
            if not any(sm.matches(created, table.name, c) for c in table.columns):
                missing.append(created[0] if created else "created_at")
            if not any(sm.matches(updated, table.name, c) for c in table.columns):
                missing.append(updated[0] if updated else "updated_at")
            if missing:
                self.report_at(table.location, f"table `{table.name}` has no {' or '.join(missing)} column "
                               f"(schema read from {table.where()})", table=table.name, missing=missing)
