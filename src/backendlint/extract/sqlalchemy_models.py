"""Schema facts from SQLAlchemy: declarative classes (`Column` / `mapped_column`, bare
`Mapped[...]` annotations, `__tablename__`, `__table_args__` with `Index`,
`UniqueConstraint`, `PrimaryKeyConstraint`, `ForeignKeyConstraint`), Flask-SQLAlchemy's
`db.Model` (table name defaulting to the class name in snake_case), mixins holding
columns, and Core `name = Table("t", metadata, Column(...), Index(...))`."""
from __future__ import annotations

import ast

from ..facts.schema import SCHEMA, CreateIndex, ForeignKeySpec, IndexSpec, ModelFact, ModelField
from . import FactExtractor
from .pyhelpers import const, const_str, keyword, kw_true, last_name, module_name, strings

SA_TYPES = {
    "Integer": "integer", "INTEGER": "integer", "INT": "integer", "BigInteger": "bigint",
    "BIGINT": "bigint", "SmallInteger": "smallint", "SMALLINT": "smallint",
    "String": "varchar", "VARCHAR": "varchar", "Unicode": "varchar", "NVARCHAR": "varchar",
    "CHAR": "char", "NCHAR": "char", "Text": "text", "TEXT": "text", "UnicodeText": "text",
    "CLOB": "text", "Boolean": "boolean", "BOOLEAN": "boolean",
    "DateTime": "timestamp", "DATETIME": "timestamp", "TIMESTAMP": "timestamp",
    "Date": "date", "DATE": "date", "Time": "time", "Interval": "interval",
    "Numeric": "numeric", "NUMERIC": "numeric", "DECIMAL": "numeric", "Float": "float",
    "FLOAT": "float", "REAL": "float", "Double": "double", "DOUBLE_PRECISION": "double",
    "UUID": "uuid", "Uuid": "uuid", "JSON": "json", "JSONB": "jsonb", "Enum": "enum",
    "LargeBinary": "bytea", "BYTEA": "bytea", "ARRAY": "array", "INET": "inet",
}
ANNOTATION_TYPES = {"int": "integer", "str": "varchar", "bool": "boolean", "float": "float",
                    "datetime": "timestamp", "date": "date", "Decimal": "numeric",
                    "UUID": "uuid", "dict": "json", "bytes": "bytea", "time": "time"}
COLUMN_CALLS = ("Column", "mapped_column")


def is_sqlalchemy_file(file) -> bool:
    return any(v.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy", "sqlmodel", "alembic")
               for v in file.names.aliases.values())


def column_from_call(call: ast.Call, attr: str, annotation=None, location=None) -> ModelField | None:
    """A ModelField from `Column(...)` / `mapped_column(...)` (`attr`: the attribute it is
    assigned to, "" for Core/Alembic columns named by their first argument)."""
    args = list(call.args)
    name = attr
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        name = args.pop(0).value
    if not name:
        return None
    sql_type, references = "", None
    for arg in args:
        cls = last_name(arg)
        if cls in SA_TYPES:
            sql_type = SA_TYPES[cls]
        elif cls == "ForeignKey" and isinstance(arg, ast.Call) and arg.args:
            target = const_str(arg.args[0])
            if target and "." in target:
                table, column = target.rsplit(".", 1)
                references = (table.rsplit(".", 1)[-1].lower(), column.lower())
            elif arg.args and isinstance(arg.args[0], ast.Attribute):
                # ForeignKey(User.id): resolved later by name
                references = (f"model:{last_name(arg.args[0].value)}", arg.args[0].attr.lower())
    type_kw = keyword(call, "type_")
    if type_kw is not None and last_name(type_kw) in SA_TYPES:
        sql_type = SA_TYPES[last_name(type_kw)]
    if not sql_type and annotation is not None:
        sql_type = _annotation_type(annotation)
    return ModelField(attr=attr or name, column=name.lower(), type=sql_type,
                      field_class=last_name(call.func), primary_key=kw_true(call, "primary_key"),
                      unique=kw_true(call, "unique"), indexed=kw_true(call, "index"),
                      references=references, location=location)


def _annotation_type(node) -> str:
    # Mapped[int], Mapped[Optional[str]], Mapped[str | None]
    if isinstance(node, ast.Subscript):
        if last_name(node.value) == "Mapped":
            return _annotation_type(node.slice)
        if last_name(node.value) == "Optional":
            return _annotation_type(node.slice)
        return ""
    if isinstance(node, ast.BinOp):
        return _annotation_type(node.left) or _annotation_type(node.right)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _annotation_type(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return ""
    return ANNOTATION_TYPES.get(last_name(node), "")


def table_items(items, fields: dict[str, ModelField], locate=None) -> tuple[list[IndexSpec], list[ForeignKeySpec]]:
    """Indexes and constraints given as Index/UniqueConstraint/... calls (in `__table_args__`,
    `Table(...)` or `op.create_table(...)`); column names map through `fields` (attr -> field)."""
    indexes, fks = [], []

    def column_name(node) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            field = fields.get(node.value)
            return field.column if field else node.value.lower()
        if isinstance(node, ast.Attribute):
            field = fields.get(node.attr)
            return field.column if field else node.attr.lower()
        if isinstance(node, ast.Call) and last_name(node.func) in ("desc", "asc") and isinstance(
                node.func, ast.Attribute):
            return column_name(node.func.value)
        try:
            return f"({ast.unparse(node)})"
        except Exception:
            return "(expression)"

    for item in items:
        if not isinstance(item, ast.Call):
            continue
        cls = last_name(item.func)
        if cls == "Index":
            args = list(item.args)
            name = const_str(args.pop(0)) if args else ""
            cols = tuple(column_name(a) for a in args)
            if cols:
                where = keyword(item, "postgresql_where") or keyword(item, "sqlite_where")
                indexes.append(IndexSpec(name or "", cols, unique=kw_true(item, "unique"),
                                         where=ast.unparse(where) if where is not None else "",
                                         kind="unique index" if kw_true(item, "unique") else "index"))
        elif cls in ("UniqueConstraint", "PrimaryKeyConstraint"):
            cols = tuple(column_name(a) for a in item.args)
            if cols:
                indexes.append(IndexSpec(const_str(keyword(item, "name")) or "", cols, unique=True,
                                         primary=cls == "PrimaryKeyConstraint",
                                         kind="primary key" if cls == "PrimaryKeyConstraint"
                                         else "unique constraint"))
        elif cls == "ForeignKeyConstraint" and len(item.args) >= 2:
            local, remote = strings(item.args[0]), strings(item.args[1])
            if local and remote and "." in remote[0]:
                table = remote[0].rsplit(".", 1)[0].rsplit(".", 1)[-1].lower()
                fks.append(ForeignKeySpec(tuple(c.lower() for c in local), table,
                                          tuple(r.rsplit(".", 1)[1].lower() for r in remote),
                                          const_str(keyword(item, "name")) or "",
                                          location=locate(item) if locate else None))
    return indexes, fks


class SqlAlchemyModels(FactExtractor):
    kinds = (SCHEMA,)
    triggers = ("column", "table", "mapped")
    languages = ("python",)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(isinstance(a, ast.ClassDef) for a in self.file.ancestors):
            return
        if not is_sqlalchemy_file(self.file) and not any(
                isinstance(getattr(stmt, "value", None), ast.Call)
                and last_name(stmt.value.func) in COLUMN_CALLS for stmt in node.body):
            return  # `from app import db` models: db.Column(...) is enough
        bases = tuple(b for b in (self.file.qualname(base) for base in node.bases) if b)
        if self._sqlmodel(node, bases):
            return
        fields: dict[str, ModelField] = {}
        table, abstract, table_args = "", False, None
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                target, value, annotation = stmt.targets[0].id, stmt.value, None
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                target, value, annotation = stmt.target.id, stmt.value, stmt.annotation
            else:
                continue
            if target == "__tablename__":
                table = const_str(value) or ""
            elif target == "__abstract__":
                abstract = const(value) is True
            elif target == "__table_args__":
                table_args = value
            elif isinstance(value, ast.Call) and last_name(value.func) in COLUMN_CALLS:
                field = column_from_call(value, target, annotation, self.file.location(stmt))
                if field is not None:
                    fields[target] = field
            elif value is None and annotation is not None and isinstance(annotation, ast.Subscript) \
                    and last_name(annotation.value) == "Mapped":
                sql_type = _annotation_type(annotation)
                if sql_type:  # Mapped[int] alone is a column; Mapped["Other"] is a relationship
                    fields[target] = ModelField(attr=target, column=target.lower(), type=sql_type,
                                                field_class="Mapped", location=self.file.location(stmt))
        flask = any(b.endswith("db.Model") or b == "Model" for b in bases)
        if not table and not fields and not flask:
            return
        indexes, fks = [], []
        if table_args is not None:
            items = table_args.elts if isinstance(table_args, (ast.Tuple, ast.List)) else []
            indexes, fks = table_items(items, fields, self.file.location)
        self.emit(ModelFact(location=self.file.location(node), source="sqlalchemy", orm="sqlalchemy",
                            module=module_name(self.file.relpath), name=node.name, bases=bases,
                            table=table.lower(), abstract=abstract, fields=tuple(fields.values()),
                            indexes=tuple(indexes), foreign_keys=tuple(fks), flask_sqlalchemy=flask))

    def _sqlmodel(self, node: ast.ClassDef, bases: tuple[str, ...]) -> bool:
        """SQLModel: `class Hero(SQLModel, table=True)` with `name: str = Field(index=True)`;
        classes without `table=True` are field holders other classes inherit from."""
        uses_sqlmodel = any(v.split(".")[0] == "sqlmodel" for v in self.file.names.aliases.values())
        if not uses_sqlmodel:
            return False
        is_table = any(kw.arg == "table" and const(kw.value) is True for kw in node.keywords)
        fields: dict[str, ModelField] = {}
        table = node.name.lower() if is_table else ""
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and stmt.targets[0].id == "__tablename__":
                table = (const_str(stmt.value) or table).lower()
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            attr, value = stmt.target.id, stmt.value
            if attr.startswith("_") or last_name(stmt.annotation) in ("ClassVar",):
                continue
            call = value if isinstance(value, ast.Call) else None
            if call is not None and last_name(call.func) == "Relationship":
                continue
            if call is not None and last_name(call.func) == "Field":
                column_kw = keyword(call, "sa_column")
                if isinstance(column_kw, ast.Call) and last_name(column_kw.func) == "Column":
                    field = column_from_call(column_kw, attr, stmt.annotation, self.file.location(stmt))
                    if field is not None:
                        fields[attr] = field
                    continue
                target = const_str(keyword(call, "foreign_key"))
                references = None
                if target and "." in target:
                    ref_table, ref_col = target.rsplit(".", 1)
                    references = (ref_table.rsplit(".", 1)[-1].lower(), ref_col.lower())
                fields[attr] = ModelField(attr=attr, column=attr.lower(), type=_annotation_type(stmt.annotation),
                                          field_class="Field", primary_key=kw_true(call, "primary_key"),
                                          unique=kw_true(call, "unique"), indexed=kw_true(call, "index"),
                                          references=references, location=self.file.location(stmt))
            elif call is None or last_name(call.func) not in COLUMN_CALLS:
                sql_type = _annotation_type(stmt.annotation)
                if sql_type:
                    fields[attr] = ModelField(attr=attr, column=attr.lower(), type=sql_type, field_class="Field",
                                              location=self.file.location(stmt))
        if not is_table and not any(b.endswith("SQLModel") for b in bases) and not fields:
            return False
        if not is_table and not any(b.endswith("SQLModel") for b in bases):
            return False  # a plain SQLAlchemy class in a file that also imports sqlmodel
        self.emit(ModelFact(location=self.file.location(node), source="sqlalchemy", orm="sqlalchemy",
                            module=module_name(self.file.relpath), name=node.name, bases=bases,
                            table=table, abstract=not is_table, fields=tuple(fields.values())))
        return True

    def visit_Expr(self, node: ast.Expr) -> None:
        self._module_index(node.value)

    def _module_index(self, value) -> None:
        """A module-level `Index("ix", User.email, User.name)` (or `users.c.email`): an index
        on the model's table, resolved by the schema builder (table "model:<name>")."""
        if not (isinstance(value, ast.Call) and last_name(value.func) == "Index" and len(value.args) >= 2):
            return
        if self.file.ancestors and not isinstance(self.file.ancestors[-1], (ast.Module, ast.Assign, ast.Expr)):
            return
        owner, cols = None, []
        for arg in value.args[1:]:
            node = arg
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("desc", "asc"):
                node = node.func.value
            if not isinstance(node, ast.Attribute):
                cols.append("(expression)")
                continue
            base = node.value
            if isinstance(base, ast.Attribute) and base.attr in ("c", "columns"):
                base = base.value
            name = self.file.qualname(base) if isinstance(base, ast.Name) else None
            if name is None or (owner is not None and owner != name):
                return
            owner = name
            cols.append(node.attr)
        name = const_str(value.args[0])
        if owner is None or not cols:
            return
        where = self.file.location(value)
        unique = kw_true(value, "unique")
        self.emit(CreateIndex(location=where, source="sqlalchemy", order=((), where.line, where.column),
                              table=f"model:{owner}", index=IndexSpec(name or "", tuple(cols), unique=unique,
                                                                     kind="unique index" if unique else "index")))

    def visit_Assign(self, node: ast.Assign) -> None:
        self._module_index(node.value)
        # Core: users = Table("users", metadata, Column(...), ...)
        value = node.value
        if not (isinstance(value, ast.Call) and last_name(value.func) == "Table" and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and value.args):
            return
        table = const_str(value.args[0])
        if not table:
            return
        fields: dict[str, ModelField] = {}
        others = []
        for arg in value.args[1:]:
            if isinstance(arg, ast.Call) and last_name(arg.func) == "Column":
                field = column_from_call(arg, "", location=self.file.location(arg))
                if field is not None:
                    fields[field.attr] = field
            else:
                others.append(arg)
        if not fields:
            return
        indexes, fks = table_items(others, fields, self.file.location)
        self.emit(ModelFact(location=self.file.location(node), source="sqlalchemy", orm="sqlalchemy",
                            module=module_name(self.file.relpath), name=node.targets[0].id,
                            table=table.lower(), schema=const_str(keyword(value, "schema")) or "",
                            fields=tuple(fields.values()), indexes=tuple(indexes),
                            foreign_keys=tuple(fks), core=True))
