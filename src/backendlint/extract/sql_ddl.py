"""Schema events from SQL DDL: `.sql` files (migrations, schema dumps) and DDL strings
run from Python (`cur.execute("CREATE INDEX ...")`, Alembic's `op.execute(...)`).

Down migrations are not schema: files named `*.down.sql` / `down.sql` or under a `down/`
folder, the part of a file after a `-- migrate:down` / `-- +goose Down` /
`-- +migrate Down` / `-- //@UNDO` marker, and SQL run inside a Python `downgrade()` /
`down()` / `backwards()` function are skipped."""
from __future__ import annotations

import ast
import re

from ..facts.schema import (
    AddColumn, AddConstraint, ColumnSpec, CreateIndex, CreateTable, DropColumn,
    DropConstraint, DropIndex, DropTable, ForeignKeySpec, IndexSpec, RenameColumn,
    RenameIndex, RenameTable, SCHEMA, SchemaProblem, order_key,
)
from . import FactExtractor
from .pyhelpers import each_statement

_DOWN_MARKER = re.compile(r"^\s*--\s*(?:migrate:down|\+goose\s+down|\+migrate\s+down|//@undo)\b",
                          re.I | re.M)
_DOWN_FUNCTIONS = {"downgrade", "down", "backwards", "rollback", "reverse", "unapply"}


def is_down_path(path: str) -> bool:
    """Down / rollback / revert migrations (golang-migrate `*.down.sql`, yoyo
    `*.rollback.sql`, Sqitch `revert/`, Flyway undo `U1__*.sql`, `*_down.sql`)."""
    parts = path.lower().split("/")
    name = parts[-1]
    stem = name[:-4] if name.endswith(".sql") else name
    return (any(f".{word}." in name for word in ("down", "rollback", "undo", "revert"))
            or re.search(r"(?:^|[._-])(?:down|rollback|revert|undo)$", stem) is not None
            or re.match(r"u\d+(?:[._]\d+)*__", name) is not None
            or any(part in ("down", "rollback", "revert", "undo", "downgrade") for part in parts[:-1]))


def _is_placeholder(name: str) -> bool:
    return "bl_hole_" in name or "bl_safe" in name


def name_of(node) -> str:
    """Lower-cased name of an Identifier / Table / Column node ('' for anything else)."""
    from sqlglot import exp

    if isinstance(node, exp.Identifier):
        # Unquoted names fold to lower case; quoted ones are compared the same way, so that
        # "Users" in a migration and users in a query meet (a rare case-only clash is merged).
        return node.this.lower()
    if isinstance(node, (exp.Table, exp.Column)):
        return name_of(node.this)
    if isinstance(node, str):
        return node.lower()
    return ""


def table_parts(node) -> tuple[str, str]:
    """(table, schema) of a sqlglot Table (or Schema wrapping one)."""
    from sqlglot import exp

    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        return "", ""
    schema = node.args.get("db")
    return name_of(node.this), name_of(schema) if schema is not None else ""


def type_name(kind) -> str:
    from sqlglot import exp

    if not isinstance(kind, exp.DataType):
        return ""
    dtype = kind.this
    if dtype == exp.DataType.Type.USERDEFINED:
        return (kind.args.get("kind") or kind.sql()).lower() if isinstance(
            kind.args.get("kind"), str) else kind.sql().lower()
    return dtype.name.lower() if hasattr(dtype, "name") else str(dtype).lower()


def _identifiers(node) -> tuple[str, ...]:
    from sqlglot import exp

    if node is None:
        return ()
    if isinstance(node, exp.Schema):
        return tuple(name_of(e) for e in node.expressions)
    return tuple(name_of(e) for e in getattr(node, "expressions", []) or [])


def reference(ref) -> tuple[str, tuple[str, ...]]:
    """(table, columns) of a sqlglot Reference."""
    from sqlglot import exp

    target = ref.this
    if isinstance(target, exp.Schema):
        return table_parts(target)[0], _identifiers(target)
    return table_parts(target)[0], ()


class SqlDdl(FactExtractor):
    kinds = (SCHEMA,)
    triggers = ("create", "alter", "drop")
    languages = ("sql",)
    sees_unparsed = True  # the engine also passes statements that did not parse (tree None)

    def __init__(self, file, facts):
        super().__init__(file, facts)
        self._down_from: int | None = None
        self._down_ranges: list[tuple[int, int]] | None = None
        relpath = file.relpath
        self._down_file = is_down_path(relpath)
        text = getattr(file, "text", "") or ""
        if relpath.endswith(".sql"):
            match = _DOWN_MARKER.search(text)
            if match:
                self._down_from = text.count("\n", 0, match.start()) + 1
        self._order = order_key(relpath)

    # -- where this statement sits ----------------------------------------------------
    def _is_down(self, statement) -> bool:
        if self._down_file:
            return True
        line = statement.whole.line
        if self._down_from is not None and line > self._down_from:
            return True
        tree = getattr(self.file, "tree", None)
        if statement.embedded and tree is not None:
            if self._down_ranges is None:
                self._down_ranges = [  # (the file's shared node index, not a walk of its own)
                    (node.lineno, node.end_lineno or node.lineno)
                    for node in self.file.of_type(ast.FunctionDef, ast.AsyncFunctionDef)
                    if node.name.lower() in _DOWN_FUNCTIONS]
            return any(start <= line <= end for start, end in self._down_ranges)
        return False

    def emit(self, fact) -> None:
        # SQL rebuilt from Python with unknown pieces (`f"CREATE INDEX ... ON {table}"`):
        # the names are placeholders, not tables.
        names = [getattr(fact, attr, "") for attr in ("table", "name", "new", "old")]
        names += list(getattr(fact, "tables", ()))
        if any(_is_placeholder(n) for n in names if isinstance(n, str)):
            return
        super().emit(fact)

    def _base(self, statement) -> dict:
        where = statement.whole
        return {"location": where, "source": "sql", "order": (self._order, where.line, where.column)}

    def check(self, statement) -> None:
        for one in each_statement(statement):
            self._check(one)

    def _check(self, statement) -> None:
        from sqlglot import exp

        tree = statement.tree
        if tree is None or isinstance(tree, exp.Command):
            # sqlglot falls back to a raw Command for DDL it has no grammar for
            self._unparsed(statement)
            return
        if not isinstance(tree, (exp.Create, exp.Alter, exp.Drop)):
            return
        if self._is_down(statement):
            return
        base = self._base(statement)
        self._statement = statement
        if isinstance(tree, exp.Create):
            self._create(tree, base)
        elif isinstance(tree, exp.Alter):
            self._alter(tree, base)
        else:
            self._drop(tree, base)

    def _unparsed(self, statement) -> None:
        """A statement sqlglot could not read: if it is DDL, the tables it names become
        uncertain (an index we could not read must not turn into a missing-index finding)."""
        from sqlglot.tokens import TokenType

        if self._is_down(statement):
            return
        head = statement.text.lstrip()[:6].lower()
        if head[:1].isalpha() and not head.startswith(("create", "alter")):
            return  # a cheap test before tokenizing: only CREATE / ALTER matter below
        tokens = statement.extra.get("tokens")  # a .sql file's statement comes tokenized
        if tokens is None:
            try:
                from sqlglot.dialects.dialect import Dialect

                tokens = Dialect.get_or_raise("postgres").tokenize(statement.text)
            except Exception:
                return
        words = [t.text.lower() for t in tokens]
        head = [w for w in words[:6] if w not in ("or", "replace", "unique", "temporary", "temp",
                                                  "unlogged", "global", "local")]
        if len(head) < 2 or (head[0], head[1]) not in (("create", "table"), ("create", "index"),
                                                       ("alter", "table")):
            return  # CREATE FUNCTION, CREATE TRIGGER ... ON t, ALTER SYSTEM: no schema change here
        if head[0] == "alter" and not {"add", "drop", "rename", "alter"} & set(words[3:]):
            return  # ALTER TABLE t ENABLE ROW LEVEL SECURITY and the like
        names = []
        for i, token in enumerate(tokens):
            if words[i] in ("table", "on") and i + 1 < len(tokens):
                j = i + 1
                while j < len(tokens) and words[j] in ("if", "not", "exists", "only"):
                    j += 1
                if j < len(tokens) and tokens[j].token_type in (TokenType.VAR, TokenType.IDENTIFIER):
                    k = j
                    while k + 2 < len(tokens) and tokens[k + 1].token_type == TokenType.DOT:
                        k += 2
                    names.append(tokens[k].text.lower())
        names = list(dict.fromkeys(names))
        about = f" about {', '.join(names)}" if names else ""
        self.emit(SchemaProblem(**self._base(statement), tables=tuple(names),
                                message=f"DDL statement{about} not understood ({statement.error or 'sqlglot has no grammar for it'}); "
                                        "rules stay silent on the table(s) it names"))

    # -- CREATE -----------------------------------------------------------------------
    def _create(self, tree, base) -> None:
        kind = (tree.args.get("kind") or "").upper()
        if kind == "INDEX":
            self._create_index(tree, base)
        elif kind in ("TABLE", "VIEW"):
            self._create_table(tree, base, is_view=kind == "VIEW")

    def _create_table(self, tree, base, is_view: bool) -> None:
        from sqlglot import exp

        target = tree.this
        table, schema = table_parts(target)
        if not table:
            return
        if is_view or not isinstance(target, exp.Schema):
            # A view, or CREATE TABLE ... AS SELECT / LIKE: columns unknown.
            self.emit(CreateTable(**base, table=table, schema=schema, is_view=True,
                                  if_not_exists=bool(tree.args.get("exists"))))
            return
        columns, indexes, fks = [], [], []
        for item in target.expressions:
            if isinstance(item, exp.ColumnDef):
                column, extra_fk = self._column(item)
                columns.append(column)
                if extra_fk:
                    fks.append(extra_fk)
            else:
                self._table_constraint(item, table, indexes, fks)
        for column in columns:
            if column.primary_key:
                indexes.insert(0, IndexSpec(f"{table}_pkey", (column.name,), unique=True,
                                            primary=True, kind="primary key"))
            elif column.unique:
                indexes.append(IndexSpec(f"{table}_{column.name}_key", (column.name,), unique=True,
                                         kind="unique constraint"))
        mysql = tree.find(exp.EngineProperty) is not None or "`" in self._statement.text
        self.emit(CreateTable(**base, table=table, schema=schema, columns=tuple(columns),
                              indexes=tuple(indexes), foreign_keys=tuple(fks),
                              if_not_exists=bool(tree.args.get("exists")), mysql=mysql))

    def _column(self, item) -> tuple[ColumnSpec, ForeignKeySpec | None]:
        from sqlglot import exp

        name = name_of(item.this)
        primary = unique = False
        nullable = True
        ref = None
        for constraint in item.args.get("constraints") or []:
            kind = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
            if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                primary = True
                nullable = False
            elif isinstance(kind, exp.UniqueColumnConstraint):
                unique = True
            elif isinstance(kind, exp.NotNullColumnConstraint):
                nullable = bool(kind.args.get("allow_null"))
            elif isinstance(kind, exp.Reference):
                ref_table, ref_cols = reference(kind)
                ref = (ref_table, ref_cols[0] if ref_cols else "")
        where = self._statement.locate(item)
        column = ColumnSpec(name, type_name(item.args.get("kind")), primary_key=primary, unique=unique,
                            nullable=nullable, references=ref if ref and ref[0] else None, location=where)
        fk = ForeignKeySpec((name,), ref[0], (ref[1],) if ref[1] else (), location=where) \
            if ref and ref[0] else None
        return column, fk

    def _table_constraint(self, item, table: str, indexes: list, fks: list, name: str = "") -> None:
        from sqlglot import exp

        if isinstance(item, exp.Constraint):
            cname = name_of(item.this)
            for inner in item.expressions:
                self._table_constraint(inner, table, indexes, fks, cname)
        elif isinstance(item, exp.PrimaryKey):
            cols = tuple(name_of(e) for e in item.expressions)
            if cols:
                indexes.insert(0, IndexSpec(name or f"{table}_pkey", cols, unique=True, primary=True,
                                            kind="primary key"))
        elif isinstance(item, exp.UniqueColumnConstraint):
            cols = _identifiers(item.this)
            if cols:
                indexes.append(IndexSpec(name or name_of(item.args.get("index_type")) or
                                         f"{table}_{'_'.join(cols)}_key", cols, unique=True,
                                         kind="unique constraint"))
        elif isinstance(item, exp.IndexColumnConstraint):
            cols = tuple(_index_entry(e) for e in item.expressions)
            if cols:
                unique = "UNIQUE" in str(item.args.get("kind") or "").upper()
                indexes.append(IndexSpec(name or name_of(item.this) or f"{table}_{'_'.join(cols)}_idx",
                                         cols, unique=unique, kind="index"))
        elif isinstance(item, exp.ForeignKey):
            ref = item.args.get("reference")
            cols = tuple(name_of(e) for e in item.expressions)
            if ref is not None and cols:
                ref_table, ref_cols = reference(ref)
                if ref_table:
                    fks.append(ForeignKeySpec(cols, ref_table, ref_cols, name,
                                              location=self._statement.locate(item)))

    def _create_index(self, tree, base) -> None:
        from sqlglot import exp

        index = tree.this
        if not isinstance(index, exp.Index):
            return
        table, _ = table_parts(index.args.get("table"))
        params = index.args.get("params")
        if not table or params is None:
            return
        cols = tuple(_index_entry(c) for c in params.args.get("columns") or [])
        if not cols:
            return
        where = params.args.get("where")
        include = tuple(name_of(e) for e in params.args.get("include") or [])
        name = name_of(index.this) or f"{table}_{'_'.join(c for c in cols if c[:1] != '(')}_idx"
        spec = IndexSpec(name, cols, unique=bool(tree.args.get("unique")),
                         where=where.this.sql() if where is not None else "", include=include,
                         kind="unique index" if tree.args.get("unique") else "index")
        self.emit(CreateIndex(**base, table=table, index=spec, if_not_exists=bool(tree.args.get("exists"))))

    # -- ALTER ------------------------------------------------------------------------
    def _alter(self, tree, base) -> None:
        from sqlglot import exp

        kind = (tree.args.get("kind") or "").upper()
        if kind == "INDEX":
            old = name_of(tree.this)
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.AlterRename):
                    self.emit(RenameIndex(**base, old=old, new=table_parts(action.this)[0]))
            return
        if kind != "TABLE":
            return
        table, _ = table_parts(tree.this)
        if not table:
            return
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                column, fk = self._column(action)
                self.emit(AddColumn(**base, table=table, column=column))
                if column.primary_key:
                    self.emit(AddConstraint(**base, table=table, index=IndexSpec(
                        f"{table}_pkey", (column.name,), unique=True, primary=True, kind="primary key")))
                elif column.unique:
                    self.emit(AddConstraint(**base, table=table, index=IndexSpec(
                        f"{table}_{column.name}_key", (column.name,), unique=True, kind="unique constraint")))
                if fk:
                    self.emit(AddConstraint(**base, table=table, foreign_key=fk))
            elif isinstance(action, exp.AddConstraint):
                indexes: list = []
                fks: list = []
                for item in action.expressions:
                    self._table_constraint(item, table, indexes, fks)
                for index in indexes:
                    self.emit(AddConstraint(**base, table=table, index=index))
                for fk in fks:
                    self.emit(AddConstraint(**base, table=table, foreign_key=fk))
            elif isinstance(action, exp.Drop):
                what = (action.args.get("kind") or "").upper()
                for target in action.args.get("tables") or []:
                    if what == "COLUMN":
                        self.emit(DropColumn(**base, table=table, column=name_of(target)))
                    elif what == "CONSTRAINT":
                        self.emit(DropConstraint(**base, table=table, name=name_of(target)))
            elif isinstance(action, exp.AlterRename):
                self.emit(RenameTable(**base, table=table, new=table_parts(action.this)[0]))
            elif isinstance(action, exp.RenameColumn):
                self.emit(RenameColumn(**base, table=table, old=name_of(action.this),
                                       new=name_of(action.args.get("to"))))
            elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                self.emit(AddColumn(**base, table=table, column=ColumnSpec(
                    name_of(action.this), type_name(action.args["dtype"]))))

    # -- DROP -------------------------------------------------------------------------
    def _drop(self, tree, base) -> None:
        kind = (tree.args.get("kind") or "").upper()
        exists = bool(tree.args.get("exists"))
        for target in tree.args.get("tables") or []:
            name, _ = table_parts(target)
            if kind == "INDEX":
                on = tree.args.get("cluster")
                table = table_parts(on.this)[0] if on is not None and hasattr(on, "this") else ""
                self.emit(DropIndex(**base, name=name, table=table, if_exists=exists))
            elif kind in ("TABLE", "VIEW"):
                self.emit(DropTable(**base, table=name, if_exists=exists))


def _index_entry(node) -> str:
    """A column name, or "(expression)" for an expression index entry."""
    from sqlglot import exp

    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, (exp.Column, exp.Identifier)):
        return name_of(node)
    if isinstance(node, exp.Paren):
        node = node.this
    return f"({node.sql(dialect='postgres')})"
