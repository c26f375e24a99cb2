"""Schema events from Alembic revisions: `op.create_table`, `op.create_index`,
`op.drop_index`, `op.add_column`, `op.drop_column`, `op.create_unique_constraint`,
`op.create_primary_key`, `op.create_foreign_key`, `op.drop_constraint`, `op.drop_table`,
`op.rename_table`, `op.alter_column(new_column_name=...)`, the same inside
`with op.batch_alter_table(t) as batch_op:`, and the revision ids that order them.
Only `upgrade()` counts; `downgrade()` is skipped. (`op.execute("CREATE INDEX ...")`
reaches the SQL DDL extractor as embedded SQL.)"""
from __future__ import annotations

import ast

from ..facts.schema import (
    SCHEMA, AddColumn, AddConstraint, AlembicRevision, ColumnSpec, CreateIndex, CreateTable,
    DropColumn, DropConstraint, DropIndex, DropTable, ForeignKeySpec, IndexSpec, RenameColumn,
    RenameTable, SchemaProblem, order_key,
)
from ..findings import Location
from . import FactExtractor
from .pyhelpers import const, const_str, keyword, kw_true, last_name, strings
from .sqlalchemy_models import column_from_call, table_items


def _name(node) -> str:
    """An index/constraint name: a string, or op.f("...")."""
    if isinstance(node, ast.Call) and last_name(node.func) == "f" and node.args:
        node = node.args[0]
    return (const_str(node) or "").lower()


def _spec(field) -> ColumnSpec:
    return ColumnSpec(field.column, field.type, primary_key=field.primary_key, unique=field.unique,
                      indexed=field.indexed, references=field.references, location=field.location)


class AlembicMigrations(FactExtractor):
    kinds = (SCHEMA,)
    triggers = ("alembic",)
    languages = ("python",)

    def __init__(self, file, facts):
        super().__init__(file, facts)
        self._batch: dict[str, str] = {}  # batch_op variable -> table
        self._order = order_key(file.relpath)
        self._revision: str | None = None
        self._down: tuple[str, ...] = ()

    def _is_alembic(self) -> bool:
        return any(v == "alembic.op" or v.startswith("alembic.op.") for v in self.file.names.aliases.values())

    def visit_Assign(self, node: ast.Assign) -> None:
        if self.file.ancestors and not isinstance(self.file.ancestors[-1], ast.Module):
            return
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            value = const(node.value)
            if name == "revision" and isinstance(value, str):
                self._revision = value
            elif name == "down_revision":
                if isinstance(value, str):
                    self._down = (value,)
                elif isinstance(value, tuple):
                    self._down = tuple(v for v in value if isinstance(v, str))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, ast.Name):
            self.visit_Assign(ast.Assign(targets=[node.target], value=node.value))

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and last_name(call.func) == "batch_alter_table" and call.args \
                    and isinstance(item.optional_vars, ast.Name):
                table = const_str(call.args[0]) or const_str(keyword(call, "table_name"))
                if table:
                    self._batch[item.optional_vars.id] = table.lower()

    def finish(self) -> None:
        if self._revision is not None and self._is_alembic():
            self.emit(AlembicRevision(location=Location(self.file.relpath, 1),
                                      source="alembic", order=(self._order, 0, 0),
                                      revision=self._revision, down_revision=self._down))

    def _in_downgrade(self) -> bool:
        for node in self.file.ancestors:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("downgrade"):
                return True
        return False

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        batch_table = self._batch.get(func.value.id) if isinstance(func.value, ast.Name) else None
        qualname = self.file.qualname(func) or ""
        if batch_table is None and not qualname.startswith("alembic.op."):
            return
        if self._in_downgrade():
            return
        where = self.file.location(node)
        base = {"location": where, "source": "alembic", "order": (self._order, where.line, where.column)}
        args = list(node.args)
        if batch_table is not None:
            args.insert(0 if func.attr not in ("create_index", "create_unique_constraint", "drop_constraint",
                                               "create_primary_key", "create_foreign_key", "drop_index")
                        else 1, ast.Constant(batch_table))
        try:
            self._operation(func.attr, node, args, base)
        except (IndexError, AttributeError, TypeError):
            self.emit(SchemaProblem(**base, message=f"Alembic operation op.{func.attr}(...) not understood"))

    def _operation(self, op: str, call: ast.Call, args: list, base: dict) -> None:
        def arg(i, name):
            if i < len(args):
                return args[i]
            return keyword(call, name)

        def table_arg(i, name="table_name"):
            node = arg(i, name)
            return (const_str(node) or "").lower() if node is not None else ""

        if op == "create_table":
            table = table_arg(0, "table_name")
            fields, others = {}, []
            for item in args[1:]:
                if isinstance(item, ast.Call) and last_name(item.func) == "Column":
                    field = column_from_call(item, "", location=self.file.location(item))
                    if field is not None:
                        fields[field.attr] = field
                else:
                    others.append(item)
            indexes, fks = table_items(others, fields, self.file.location)
            columns = [_spec(f) for f in fields.values()]
            pk_cols = tuple(c.name for c in columns if c.primary_key)
            if pk_cols and not any(i.primary for i in indexes):
                indexes.insert(0, IndexSpec(f"{table}_pkey", pk_cols, unique=True, primary=True, kind="primary key"))
            for column in columns:
                if column.unique:
                    indexes.append(IndexSpec(f"{table}_{column.name}_key", (column.name,), unique=True,
                                             kind="unique constraint"))
                if column.indexed:
                    indexes.append(IndexSpec(f"ix_{table}_{column.name}", (column.name,), kind="index"))
                if column.references and not column.references[0].startswith("model:"):
                    fks.append(ForeignKeySpec((column.name,), column.references[0], (column.references[1],),
                                              location=column.location))
            if table:
                self.emit(CreateTable(**base, table=table, columns=tuple(columns), indexes=tuple(indexes),
                                      foreign_keys=tuple(fks)))
        elif op == "create_index":
            name, table = _name(arg(0, "index_name")), table_arg(1)
            cols_node = arg(2, "columns")
            cols = []
            for item in cols_node.elts if isinstance(cols_node, (ast.List, ast.Tuple)) else []:
                value = const_str(item)
                if value is not None:
                    cols.append(value.lower())
                elif isinstance(item, ast.Call) and last_name(item.func) == "text" and item.args:
                    cols.append(f"({const_str(item.args[0]) or '?'})")
                else:
                    cols.append(f"({ast.unparse(item)})")
            where = keyword(call, "postgresql_where") or keyword(call, "sqlite_where")
            if table and cols:
                unique = kw_true(call, "unique")
                self.emit(CreateIndex(**base, table=table, index=IndexSpec(
                    name, tuple(cols), unique=unique, where=ast.unparse(where) if where is not None else "",
                    kind="unique index" if unique else "index")))
        elif op == "drop_index":
            self.emit(DropIndex(**base, name=_name(arg(0, "index_name")), table=table_arg(1)))
        elif op == "add_column":
            table, column = table_arg(0), arg(1, "column")
            if isinstance(column, ast.Call):
                field = column_from_call(column, "", location=self.file.location(column))
                if table and field is not None:
                    spec = _spec(field)
                    self.emit(AddColumn(**base, table=table, column=spec))
                    if spec.unique or spec.primary_key:
                        self.emit(AddConstraint(**base, table=table, index=IndexSpec(
                            f"{table}_{spec.name}_key", (spec.name,), unique=True, primary=spec.primary_key,
                            kind="primary key" if spec.primary_key else "unique constraint")))
                    if spec.indexed:
                        self.emit(CreateIndex(**base, table=table, index=IndexSpec(
                            f"ix_{table}_{spec.name}", (spec.name,))))
                    if spec.references and not spec.references[0].startswith("model:"):
                        self.emit(AddConstraint(**base, table=table, foreign_key=ForeignKeySpec(
                            (spec.name,), spec.references[0], (spec.references[1],), location=spec.location)))
        elif op == "drop_column":
            self.emit(DropColumn(**base, table=table_arg(0), column=(const_str(arg(1, "column_name")) or "").lower()))
        elif op in ("create_unique_constraint", "create_primary_key"):
            name, table, cols = _name(arg(0, "constraint_name")), table_arg(1), strings(arg(2, "columns"))
            if table and cols:
                primary = op == "create_primary_key"
                self.emit(AddConstraint(**base, table=table, index=IndexSpec(
                    name, tuple(c.lower() for c in cols), unique=True, primary=primary,
                    kind="primary key" if primary else "unique constraint")))
        elif op == "create_foreign_key":
            name, source = _name(arg(0, "constraint_name")), table_arg(1, "source_table")
            referent = table_arg(2, "referent_table")
            local, remote = strings(arg(3, "local_cols")), strings(arg(4, "remote_cols"))
            if source and referent and local:
                self.emit(AddConstraint(**base, table=source, foreign_key=ForeignKeySpec(
                    tuple(c.lower() for c in local), referent, tuple(c.lower() for c in remote or ()), name,
                    location=base["location"])))
        elif op == "drop_constraint":
            self.emit(DropConstraint(**base, table=table_arg(1), name=_name(arg(0, "constraint_name"))))
        elif op == "drop_table":
            self.emit(DropTable(**base, table=table_arg(0)))
        elif op == "rename_table":
            self.emit(RenameTable(**base, table=table_arg(0, "old_table_name"), new=table_arg(1, "new_table_name")))
        elif op == "alter_column":
            new = const_str(keyword(call, "new_column_name"))
            table, column = table_arg(0), (const_str(arg(1, "column_name")) or "").lower()
            if new and table and column:
                self.emit(RenameColumn(**base, table=table, old=column, new=new.lower()))
