"""Per-module import/alias table: `from jwt import encode as make_token` makes
`make_token` mean `jwt.encode`. Filled while the walk meets import statements, which
precede their uses in any module that runs."""
from __future__ import annotations

import ast


class ImportTable:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
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
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def is_imported(self, name: str) -> bool:
        return name in self.aliases
