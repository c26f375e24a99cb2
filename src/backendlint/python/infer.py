"""Type and value inference on demand, with astroid, for the questions `ast` cannot answer
alone (what does this name hold? what class is this receiver?).

Lazy: the astroid tree of a module is built on the first question only, once per file.
Bounded: each file gets a time budget (and each question a cap on inferred values);
past it, every answer is "unknown", and `exhausted` tells the rule to say so.
Safe: astroid reads source files, it never imports or runs the analysed code; loading
C extensions is switched off. Any failure is "unknown" (Pylint's safe_infer contract:
one clear answer or none)."""
from __future__ import annotations

import ast
import time

UNKNOWN = None
DEFAULT_BUDGET_SECONDS = 2.0


class Inference:
    def __init__(self, file, budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> None:
        self.file = file
        self.budget = budget_seconds
        self.spent = 0.0
        self._module = None
        self._by_position: dict[tuple[int, int, str], object] | None = None
        self.exhausted = False

    def infer(self, node: ast.AST):
        """The one astroid value `node` can hold, or UNKNOWN (none, several, or failure)."""
        if self.exhausted:
            return UNKNOWN
        start = time.perf_counter()
        try:
            target = self._astroid_node(node)
            if target is None:
                return UNKNOWN
            values = []
            for value in target.infer():
                values.append(value)
                if len(values) > 1:
                    return UNKNOWN  # ambiguous
            if not values or _is_uninferable(values[0]):
                return UNKNOWN
            return values[0]
        except Exception:  # astroid's InferenceError, RecursionError, anything: unknown
            return UNKNOWN
        finally:
            self.spent += time.perf_counter() - start
            if self.spent > self.budget:
                self.exhausted = True

    def class_name(self, node: ast.AST) -> str | None:
        """Qualified name of the class of the value `node` holds (e.g. 'sqlite3.Cursor')."""
        value = self.infer(node)
        if value is UNKNOWN:
            return None
        proxied = getattr(value, "_proxied", None)
        qname = getattr(proxied, "qname", None) if proxied is not None else None
        return qname() if callable(qname) else None

    def constant(self, node: ast.AST):
        """The Python constant `node` evaluates to, or UNKNOWN."""
        value = self.infer(node)
        return getattr(value, "value", UNKNOWN) if type(value).__name__ == "Const" else UNKNOWN

    # -- mapping ast nodes to astroid nodes -------------------------------------------
    def _astroid_node(self, node: ast.AST):
        if self._by_position is None:
            self._build()
        key = (getattr(node, "lineno", -1), getattr(node, "col_offset", -1), type(node).__name__)
        return self._by_position.get(key)

    def _build(self) -> None:
        import astroid
        from astroid import MANAGER

        MANAGER.always_load_extensions = False  # never import compiled modules to inspect them
        self._by_position = {}
        try:
            self._module = astroid.parse(self.file.text, path=str(self.file.path),
                                         module_name=_module_name(self.file.relpath))
        except Exception:
            self.exhausted = True
            return
        stack = [self._module]
        while stack:
            current = stack.pop()
            line, col = getattr(current, "lineno", None), getattr(current, "col_offset", None)
            if line is not None and col is not None:
                name = _AST_NAMES.get(type(current).__name__, type(current).__name__)
                self._by_position.setdefault((line, col, name), current)
            stack.extend(current.get_children())


# astroid's node class names where they differ from `ast`'s.
_AST_NAMES = {"AssignName": "Name", "DelName": "Name", "AssignAttr": "Attribute",
              "DelAttr": "Attribute", "Const": "Constant"}


def _module_name(relpath: str) -> str:
    parts = relpath.removesuffix(".py").removesuffix(".pyi").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p.isidentifier()) or "module"


def _is_uninferable(value) -> bool:
    from astroid.util import UninferableBase

    return isinstance(value, UninferableBase)
