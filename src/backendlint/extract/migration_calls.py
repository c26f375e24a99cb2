"""Schema events from SQL handed to Python migration helpers that are not SQL sinks:
Django's `migrations.RunSQL(sql, reverse_sql)` (indexes made by hand, which the models do
not show) and yoyo's `step(apply, rollback)`. Only the forward SQL counts."""
from __future__ import annotations

import ast

from ..facts.schema import SCHEMA
from . import FactExtractor
from .pyhelpers import keyword, last_name, strings


class MigrationSql(FactExtractor):
    kinds = (SCHEMA,)
    triggers = ("runsql", "step(")
    languages = ("python",)

    def visit_Call(self, node: ast.Call) -> None:
        name = last_name(node.func)
        if name == "RunSQL":
            sql = node.args[0] if node.args else keyword(node, "sql")
        elif name == "step" and (self.file.qualname(node.func) or "").startswith("yoyo"):
            sql = node.args[0] if node.args else keyword(node, "apply")
        else:
            return
        texts = strings(sql) if sql is not None else None
        if not texts:
            return
        from ..sql.statements import SqlStatement, parse_one
        from .sql_ddl import SqlDdl

        where = self.file.location(sql)
        ddl = SqlDdl(self.file, self._facts)
        for text in texts:
            tree, error = parse_one(text, "postgres")
            ddl.check(SqlStatement(text, tree, lambda s, e: where, where, embedded=True, error=error))
