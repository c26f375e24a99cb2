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

    _nodes: list | None = field(default=None, repr=False)
    _parents: dict | None = field(default=None, repr=False)
    _by_type: dict | None = field(default=None, repr=False)

    def qualname(self, node: ast.AST) -> str | None:
        return self.names.qualname(node)

    def nodes(self) -> list[ast.AST]:
        """Every node of the module (expression contexts aside), in `ast.walk` order,
        listed once per file: rules and extractors that need the whole module use this
        (or `of_type`) instead of walking it again."""
        if self._nodes is None:
            self._index()
        return self._nodes

    def of_type(self, *classes: type) -> list[ast.AST]:
        """The module's nodes of these exact classes, in `nodes()` order."""
        if self._by_type is None:
            self._index()
        if len(classes) == 1:
            return self._by_type.get(classes[0], [])
        wanted = set(classes)
        return [node for node in self._nodes if node.__class__ in wanted]

    def parent(self, node: ast.AST) -> ast.AST | None:
        """The node's parent (None for the module), from the same one-time index."""
        if self._parents is None:
            self._index()
        return self._parents.get(id(node))

    def _index(self) -> None:
        from .walk import _CHILD_FIELDS_FORWARD, child_fields

        nodes: list[ast.AST] = [self.tree] if self.tree is not None else []
        parents: dict[int, ast.AST] = {}
        by_type: dict[type, list[ast.AST]] = {}
        append, node_type = nodes.append, ast.AST
        # Breadth first: the loop runs over the list as it grows. (Inlined child iteration:
        # this runs once per node of most files.)
        for node in nodes:
            cls = node.__class__
            same = by_type.get(cls)
            if same is None:
                by_type[cls] = [node]
            else:
                same.append(node)
            for name in _CHILD_FIELDS_FORWARD.get(cls) or child_fields(cls):
                value = getattr(node, name, None)
                if value.__class__ is list:
                    for child in value:
                        if isinstance(child, node_type):
                            parents[id(child)] = node
                            append(child)
                elif isinstance(value, node_type):
                    parents[id(value)] = node
                    append(value)
        self._nodes, self._parents, self._by_type = nodes, parents, by_type

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
        """The exact source text of a node ('' when positions are missing). Cut from the
        file's line list: `ast.get_source_segment` re-splits the whole file on every call."""
        line, end_line = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if None in (line, end_line, col, end_col) or not 0 < line <= end_line <= len(self.lines):
            return ""
        if line == end_line:
            return _cut(self.lines[line - 1], col, end_col)
        parts = [_cut(self.lines[line - 1], col, None), *self.lines[line:end_line - 1],
                 _cut(self.lines[end_line - 1], 0, end_col)]
        return "\n".join(parts)

    def enclosing_function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for node in reversed(self.ancestors):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None


def _cut(line: str, start: int, end: int | None) -> str:
    """`line[start:end]` in UTF-8 byte offsets, as `ast` counts columns."""
    if line.isascii():
        return line[start:end]
    return line.encode("utf-8")[start:end].decode("utf-8", errors="replace")
