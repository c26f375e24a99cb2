"""`backendlint schema [PATHS]`: the schema backendlint inferred (tables, columns, indexes,
foreign keys, each with where it was read) and the index coverage of every query pattern
found — the way to check what the tool believes before trusting BL104/BL107-BL109."""
from __future__ import annotations

import json
import sys
from pathlib import Path

NAME = "schema"
HELP = "print the inferred schema and the index coverage of the queries found"
_RULES = ["BL104", "BL107"]  # their `needs` switch on every schema and query extractor


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    parser.add_argument("--config", type=Path, help="configuration file (pyproject.toml or .backendlint.toml)")
    parser.add_argument("--output-format", choices=("console", "json"), default="console")
    parser.add_argument("--sql-dialect", help="SQL dialect for sqlglot (default: postgres)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list queries on unknown tables")


def collect(paths: list[Path], config) -> tuple[object, list, object]:
    """(schema, coverage items, project facts) for the files under `paths`."""
    from .. import discovery
    from ..engine import Setup, analyse_file
    from ..facts import ProjectFacts
    from ..registry import all_rules
    from ..sql import schema_model as sm

    config.select = list(_RULES)
    config.extend_select, config.ignore = [], []
    setup = Setup.build(config)
    found = discovery.discover(paths or [Path(".")], config)
    facts = []
    for source in found.files:
        facts.extend(analyse_file(source, setup, facts_only=True).facts)
    project = ProjectFacts(facts)
    schema = sm.build(project)
    settings = config.settings_for(all_rules()["BL104"])
    try:
        schema.soft_delete_columns = config.settings_for(all_rules()["BL110"])["soft-delete-columns"]
    except Exception:  # BL110 not installed or misconfigured: its defaults
        pass
    items = []
    for query in sm.resolve(project, schema):
        items.extend(sm.coverage(query, schema, settings["ignore-tables"], settings["low-cardinality-columns"]))
    return schema, items, found


def run(args) -> int:
    from .. import config as config_module

    config = config_module.load(args.paths, args.config)
    if args.sql_dialect:
        config.sql_dialect = config_module.validate_dialect(args.sql_dialect, "--sql-dialect")
    schema, items, found = collect(args.paths, config)
    if found.missing:
        for missing in found.missing:
            print(f"backendlint: error: {missing}: no such file or folder", file=sys.stderr)
        return 2
    if args.output_format == "json":
        sys.stdout.write(json.dumps(to_json(schema, items), indent=2) + "\n")
        return 0
    from ..report.console import make_console

    render(schema, items, make_console(sys.stdout, args.color), verbose=args.verbose)
    return 0


def _loc(location) -> str:
    return f"{location.path}:{location.line}" if location else ""


def to_json(schema, items) -> dict:
    tables = []
    for table in sorted(schema.tables.values(), key=lambda t: t.name):
        tables.append({
            "name": table.name, "schema": table.schema or None,
            "kind": "view" if table.is_view else "join table" if table.is_join_table else "table",
            "sources": [{"from": kind, "location": _loc(loc)} for kind, loc in table.sources],
            "models": table.models, "uncertain": table.uncertain or None,
            "columns": [{"name": c.name, "type": c.type or None, "location": _loc(c.location)}
                        for c in table.columns.values()],
            "indexes": [{"name": i.name or None, "columns": list(i.columns), "unique": i.unique,
                         "primary": i.primary, "where": i.where or None, "include": list(i.include),
                         "kind": i.kind, "location": _loc(i.location)} for i in table.indexes],
            "foreign_keys": [{"columns": list(f.columns), "references": f.ref_table,
                              "ref_columns": list(f.ref_columns), "name": f.name or None,
                              "location": _loc(f.location)} for f in table.foreign_keys],
        })
    return {"tables": tables, "queries": [item.to_dict() for item in items],
            "soft_deletes": _soft_deletes(schema), "notes": list(schema.notes)}


def _soft_deletes(schema) -> list[dict]:
    """Tables with a soft-delete column (BL110's `soft-delete-columns`) and the index that
    serves `deleted_at IS NULL` reads, if any."""
    from ..checks.sql.bl110_soft_delete_not_filtered import soft_delete_index_report

    columns = getattr(schema, "soft_delete_columns", None) or ["deleted_at", "is_deleted", "deleted", "deleted_on"]
    return soft_delete_index_report(schema, columns)


def render(schema, items, console, verbose: bool = False) -> None:
    from rich.table import Table as RichTable
    from rich.text import Text

    from ..sql import schema_model as sm

    if not schema.tables:
        console.print("No tables found (no CREATE TABLE, Alembic revision, Django or SQLAlchemy model).")
    for table in sorted(schema.tables.values(), key=lambda t: t.name):
        kind = "view" if table.is_view else "join table" if table.is_join_table else "table"
        title = Text()
        title.append(f"{table.schema + '.' if table.schema else ''}{table.name}", style="bold")
        title.append(f"  {kind}, from {table.where()}", style="dim")
        if table.models:
            title.append(f"  (model {', '.join(table.models)})", style="dim")
        console.print()
        console.print(title)
        if table.uncertain:
            console.print(Text(f"  uncertain: {table.uncertain}", style="yellow"))
        grid = RichTable(show_edge=False, header_style="bold", pad_edge=False)
        for head in ("column", "type", "indexes leading with it", "references"):
            grid.add_column(head)
        for column in table.columns.values():
            leading = [i.name or i.kind for i in table.indexes if i.leading == column.name]
            refs = [f"{f.ref_table}({', '.join(f.ref_columns)})" for f in table.foreign_keys
                    if f.columns and f.columns[0] == column.name]
            grid.add_row(column.name, column.type or "?", ", ".join(leading), ", ".join(refs))
        if table.columns:
            console.print(grid)
        else:
            console.print(Text("  (columns not read)", style="dim"))
        for index in table.indexes:
            console.print(Text(f"  {index.describe()}  [{_loc(index.location)}]", style="dim"))
    console.print()
    shown = [i for i in items if verbose or i.status not in (sm.UNKNOWN_TABLE,)]
    console.print(Text("Index coverage", style="bold underline") if shown else
                  "No query patterns found on known tables.")
    styles = {sm.SERVED: "green", sm.MISSING: "red"}
    for item in shown:
        line = Text()
        line.append(f"  {_loc(item.query.location)}  ", style="dim")
        line.append(f"{item.table}({', '.join(item.columns)})", style="bold")
        line.append(f" {item.via}: ")
        if item.status == sm.SERVED:
            line.append(f"served by {item.index.describe()}", style=styles[item.status])
        elif item.status == sm.MISSING:
            line.append(f"no index; add: {item.suggestion}", style=styles[item.status])
        else:
            line.append(f"not judged ({item.status}: {item.detail})", style="yellow")
        console.print(line)
        console.print(Text(f"      {item.query.text}", style="dim"))
    soft = _soft_deletes(schema)
    if soft:
        console.print(Text("\nSoft deletes", style="bold underline"))
        for row in soft:
            line = Text(f"  {row['table']}.{row['column']}: ")
            live = f"NOT {row['column']}" if row["column"].lower().startswith("is_") else f"{row['column']} IS NULL"
            if row["partial"]:
                line.append(f"partial: {row['index']}", style="green")
            elif row["index"]:
                line.append(f"in {row['index']} (no index partial on WHERE {live})", style="green")
            else:
                line.append(f"no index has it or is partial on WHERE {live}; hot reads of live rows may "
                            "want one (a partial index on their filter columns)", style="yellow")
            console.print(line)
    missing = sum(1 for i in items if i.status == sm.MISSING)
    served = sum(1 for i in items if i.status == sm.SERVED)
    console.print(f"\n{len(schema.tables)} tables, {len(items)} query patterns: {served} served by an index, "
                  f"{missing} with no index, {len(items) - served - missing} not judged")
    for note in schema.notes:
        console.print(Text(f"note: {note}", style="dim"))
