"""Per-module import/alias table: `from jwt import encode as make_token` makes
`make_token` mean `jwt.encode`. Filled while the walk meets import statements, which
precede their uses in any module that runs."""
from __future__ import annotations

import ast


class ImportTable:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        # id(node) -> (node, qualname): many rules ask for the same call's name. Holding the
        # node keeps its id from being reused; an import (even mid-file) clears the memo.
        self._memo: dict[int, tuple[ast.AST, str | None]] = {}

    def visit_Import(self, node: ast.Import) -> None:
        self._memo.clear()
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._memo.clear()
        if node.level or not node.module:
            base = "." * node.level + (node.module or "")
        else:
            base = node.module
        for alias in node.names:
            if alias.name == "*":
                continue
            self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"

    def qualname(self, node: ast.AST) -> str | None:
        """Dotted name of a Name/Attribute chain, with its head resolved through imports;
        None for anything else (calls, subscripts...)."""
        cls = node.__class__
        if cls is ast.Name:  # the commonest case, and cheaper than the memo
            return self.aliases.get(node.id, node.id)
        if cls is not ast.Attribute:
            if isinstance(node, ast.Name):
                return self.aliases.get(node.id, node.id)
            if not isinstance(node, ast.Attribute):
                return None
        key = id(node)
        memo = self._memo.get(key)
        if memo is not None and memo[0] is node:
            return memo[1]
        start = node
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            name = None
        else:
            parts.append(self.aliases.get(node.id, node.id))
            name = ".".join(reversed(parts))
        self._memo[key] = (start, name)
        return name

    def is_imported(self, name: str) -> bool:
        return name in self.aliases
