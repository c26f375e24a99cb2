"""A parsed Python module as rules see it."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..findings import Location
from ..source import SourceFile
from .names import ImportTable


@dataclass
class PythonFile(SourceFile):
    tree: ast.Module | None = None
    names: ImportTable = field(default_factory=ImportTable)
    # Ancestors of the node being visited, outermost first (maintained by the walk).
    ancestors: list[ast.AST] = field(default_factory=list)

    def qualname(self, node: ast.AST) -> str | None:
        return self.names.qualname(node)

    def char_column(self, line: int, byte_offset: int) -> int:
        """`ast` columns are UTF-8 byte offsets into the line; return a 1-based character column."""
        text = self.line_text(line)
        if text.isascii():
            return byte_offset + 1
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")) + 1

    def location(self, node: ast.AST, end_node: ast.AST | None = None) -> Location:
        end = end_node or node
        line = getattr(node, "lineno", 1) or 1
        col = self.char_column(line, getattr(node, "col_offset", 0) or 0)
        end_line = getattr(end, "end_lineno", None) or line
        end_col_bytes = getattr(end, "end_col_offset", None)
        end_col = self.char_column(end_line, end_col_bytes) if end_col_bytes is not None else col
        return Location(self.relpath, line, col, end_line, end_col)

    def source_segment(self, node: ast.AST) -> str:
        """The exact source text of a node ('' when positions are missing)."""
        try:
            return ast.get_source_segment(self.text, node) or ""
        except Exception:
            return ""

    def enclosing_function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for node in reversed(self.ancestors):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None
