"""Query facts from SQL: `.sql` files that are not DDL and SQL strings reaching a sink.
For each SELECT / UPDATE / DELETE scope: the real tables it reads (aliases and schema
prefixes resolved, CTE names and derived tables left out), the columns compared with a
value (`=`, `IN`, `<`, `BETWEEN`...) in WHERE and ON, equi-join edges between tables, and
the first ORDER BY column when the scope has a LIMIT. Predicates under OR or NOT, and
columns wrapped in functions, are not index-servable by a plain index and are left out."""
from __future__ import annotations

import re

from ..facts.queries import EQ, IN, ORDER, OTHER, QUERY, RANGE, ColumnUse, JoinUse, SqlQuery, TableUse
from . import FactExtractor
from .pyhelpers import each_statement
from .sql_ddl import name_of, table_parts

_HOLE = "bl_hole_"


_LINE_COMMENT = re.compile(r"'(?:[^']|'')*'|--([^\n]*)")


def _one_line(sql: str) -> str:
    """Source SQL for a one-line preview: `-- x` comments become `/* x */` (as sqlglot
    writes them), else they would swallow the rest of the line."""
    if "--" not in sql:
        return sql
    return _LINE_COMMENT.sub(lambda m: m.group(0) if m.group(1) is None else f"/* {m.group(1).strip()} */", sql)


def short_sql(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SqlQueries(FactExtractor):
    kinds = (QUERY,)
    triggers = ("select", "update", "delete", "execute")
    languages = ("sql",)

    def check(self, statement) -> None:
        for one in each_statement(statement):
            self._check(one)

    def _check(self, statement) -> None:
        from sqlglot import exp

        tree = statement.tree
        if tree is None or not isinstance(tree, (exp.Query, exp.Update, exp.Delete, exp.Insert)):
            return
        # One walk of the tree for both (this runs on every statement of every SQL file).
        nodes = list(tree.find_all(exp.CTE, exp.Select, exp.Update, exp.Delete))
        ctes = {name_of(cte.args.get("alias").this) for cte in nodes
                if isinstance(cte, exp.CTE) and cte.args.get("alias") is not None}
        for scope in nodes:
            if isinstance(scope, exp.CTE):
                continue
            fact = self._scope(scope, ctes, statement)
            if fact is not None:
                self.emit(fact)

    def _scope(self, scope, ctes: set[str], statement) -> SqlQuery | None:
        from sqlglot import exp

        tables: list[TableUse] = []
        names: dict[str, int] = {}
        conditions: list = []

        def add_table(node, joined: bool) -> None:
            if not isinstance(node, exp.Table):
                return
            table, schema = table_parts(node)
            if not table or table in ctes or _HOLE in table or "bl_safe" in table or \
                    isinstance(node.this, exp.Anonymous):
                return
            alias_node = node.args.get("alias")
            alias = name_of(alias_node.this) if alias_node is not None and alias_node.this is not None else ""
            index = len(tables)
            tables.append(TableUse(table, schema, alias, joined))
            names.setdefault(alias or table, index)
            if alias:
                names.setdefault(table, index)  # `orders.id` still works with an alias, loosely

        if isinstance(scope, exp.Select):
            from_ = scope.args.get("from_") or scope.args.get("from")
            if from_ is not None:
                add_table(from_.this, False)
                for extra in from_.expressions or []:
                    add_table(extra, True)
            for join in scope.args.get("joins") or []:
                add_table(join.this, True)
                if join.args.get("on") is not None:
                    conditions.append(join.args["on"])
                for using in join.args.get("using") or []:
                    pass  # USING (col): both sides share the column; join edge below
        else:  # UPDATE / DELETE
            add_table(scope.this, False)
            from_ = scope.args.get("from_") or scope.args.get("from")
            if from_ is not None:
                add_table(from_.this, True)
            for using in scope.args.get("using") or []:
                add_table(using, True)
        if not tables:
            return None
        where = scope.args.get("where")
        if where is not None:
            conditions.append(where.this)
        uses: list[ColumnUse] = []
        joins: list[JoinUse] = []
        for condition in conditions:
            for conjunct in _conjuncts(condition):
                self._predicate(conjunct, scope, tables, names, uses, joins)
        limit = isinstance(scope, exp.Select) and (scope.args.get("limit") is not None
                                                   or scope.args.get("fetch") is not None)
        order = scope.args.get("order")
        if limit and order is not None and order.expressions:
            first = order.expressions[0]
            column = first.this if isinstance(first, exp.Ordered) else first
            ref = _local_column(column, scope, tables, names)
            if ref is not None:
                uses.append(ColumnUse(ref[0], ref[1], ORDER))
        mentioned = {name_of(c.this).lower() for c in scope.find_all(exp.Column)
                     if isinstance(c.this, exp.Identifier) and name_of(c.this)}
        if not uses and not joins and not isinstance(scope, exp.Select):
            return None  # a bare SELECT is kept (BL110); `resolve` leaves it out of coverage
        # The statement's own text when the scope is all of it: generating SQL from the
        # tree (a deep copy, then the generator) was a quarter of the time on SQL files.
        full = statement.text if scope is statement.tree else scope.sql(dialect="postgres")
        text = short_sql(_one_line(full) if scope is statement.tree else full)
        if _HOLE in full and _HOLE not in text:
            # A run-time piece past the preview (or not a column): BL110 must still see it.
            mentioned.add(_HOLE.rstrip("_"))
        return SqlQuery(location=statement.whole, origin="embedded" if statement.embedded else "sql",
                        statement=type(scope).__name__.lower(), tables=tuple(tables), uses=tuple(uses),
                        joins=tuple(joins), limit=bool(limit), text=text,
                        mentioned=tuple(sorted(mentioned)), function=self._function(statement))

    def _function(self, statement) -> str:
        """The innermost Python function holding embedded SQL (from the file's shared node
        list, indexed once per file)."""
        if not statement.embedded or not hasattr(self.file, "nodes"):
            return ""
        owners = self.__dict__.get("_owners")
        if owners is None:
            import ast

            # Line -> innermost function: functions sorted by first line, a later (inner)
            # one overwriting its lines. Built once per file; each lookup is O(1).
            owners = {}
            spans = sorted((n.lineno, n.end_lineno or n.lineno, n.name) for n in self.file.of_type(ast.FunctionDef, ast.AsyncFunctionDef))
            for start, end, name in spans:
                for line in range(start, end + 1):
                    owners[line] = name
            self._owners = owners
        return owners.get(statement.whole.line, "")

    def _predicate(self, node, scope, tables, names, uses, joins) -> None:
        from sqlglot import exp

        if isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NEQ)):
            left = _local_column(node.this, scope, tables, names)
            right = _local_column(node.expression, scope, tables, names)
            if left and right:
                if isinstance(node, exp.EQ) and left[0] != right[0] or (left[0] == -1 or right[0] == -1) \
                        and left[1] != right[1] and isinstance(node, exp.EQ):
                    joins.append(JoinUse(left[0], left[1], right[0], right[1]))
                return
            column, other = (left, node.expression) if left else (right, node.this)
            if column is None or not _value_like(other, scope, tables, names):
                return
            role = EQ if isinstance(node, exp.EQ) else OTHER if isinstance(node, exp.NEQ) else RANGE
            uses.append(ColumnUse(column[0], column[1], role))
        elif isinstance(node, exp.In):
            column = _local_column(node.this, scope, tables, names)
            if column is not None:
                uses.append(ColumnUse(column[0], column[1], IN))
        elif isinstance(node, exp.Between):
            column = _local_column(node.this, scope, tables, names)
            if column is not None:
                uses.append(ColumnUse(column[0], column[1], RANGE))
        elif isinstance(node, (exp.Like, exp.ILike, exp.Is)):
            column = _local_column(node.this, scope, tables, names)
            if column is not None:
                uses.append(ColumnUse(column[0], column[1], OTHER))


def _conjuncts(node):
    from sqlglot import exp

    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        yield from _conjuncts(node.this)
        yield from _conjuncts(node.expression)
    else:
        yield node


def _enclosing_scope(node):
    from sqlglot import exp

    parent = node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.Update, exp.Delete)):
        parent = parent.parent
    return parent


def _local_column(node, scope, tables, names) -> tuple[int, str] | None:
    """(table index or -1, column) when `node` is a plain column of this scope's tables."""
    from sqlglot import exp

    if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
        return None
    column = name_of(node.this)
    if not column or _HOLE in column or "bl_safe" in column:
        return None
    qualifier = node.args.get("table")
    if qualifier is not None:
        index = names.get(name_of(qualifier))
        return (index, column) if index is not None else None
    if _enclosing_scope(node) is not scope:
        return None
    return (0 if len(tables) == 1 else -1), column


def _value_like(node, scope, tables, names) -> bool:
    """A value compared with a column: a literal, a bind parameter, an outer column, a
    subquery, or an expression of those (never a column of this scope's own tables)."""
    from sqlglot import exp

    if isinstance(node, exp.Column):
        return _local_column(node, scope, tables, names) is None and node.args.get("table") is not None
    for inner in node.walk():
        if isinstance(inner, exp.Column):
            qualifier = inner.args.get("table")
            if qualifier is None or name_of(qualifier) in names:
                if _enclosing_scope(inner) is scope:
                    return False
    return True
