"""Rule base classes. A rule is one class in one module under `checks/`: its metadata,
its documentation (the class docstring) and its visitor live together."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .findings import Confidence, Finding, Location, Severity

if TYPE_CHECKING:
    from .python.context import PythonFile
    from .sql.statements import SqlStatement

FAMILIES = {
    "1": "sql",
    "2": "auth",
    "3": "transport",
    "4": "api",
    "5": "cache-jobs",
    "6": "repository",
    "9": "engine",
}


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    severity: Severity
    confidence: Confidence
    summary: str  # one line, shown in `rules` and as SARIF shortDescription
    cwe: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    # Literal words (matched case-insensitively) without which the rule cannot fire: the
    # prefilter skips parsing a file that contains none of any active rule's words.
    triggers: tuple[str, ...] = ()
    fixable: bool = False

    @property
    def family(self) -> str:
        return FAMILIES.get(self.id[2:3], "other")


@dataclass(frozen=True)
class Option:
    """A typed, documented rule option, set as `[tool.backendlint.rules.BLxxx]`."""

    name: str
    type: type
    default: Any
    help: str

    def validate(self, value: Any, where: str) -> Any:
        from .config import ConfigError

        expected = self.type
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if expected is list and ok:
            ok = all(isinstance(v, str) for v in value)
        if not ok:
            raise ConfigError(f"{where}: expected {_type_name(expected)}, got {value!r}")
        return value


def _type_name(t: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "a list of strings"}.get(t, t.__name__)


class Rule:
    """Base of every rule. Subclasses set `meta`, may set `options`, and document
    themselves in the class docstring (Markdown with the headings in DESIGN.md)."""

    meta: ClassVar[RuleMeta]
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, file, settings: dict[str, Any], sink: list[Finding]):
        self.file = file
        self.settings = settings
        self._sink = sink

    def option(self, name: str):
        return self.settings[name]

    def _emit(self, location: Location, message: str, confidence: Confidence | None,
              snippet: str | None = None, **extra) -> Finding:
        conf = self.meta.confidence if confidence is None else min(confidence, self.meta.confidence)
        finding = Finding(
            rule_id=self.meta.id,
            rule_name=self.meta.name,
            severity=self.meta.severity,
            confidence=conf,
            message=message,
            location=location,
            snippet=self.file.snippet(location) if snippet is None else snippet,
            extra=extra,
        )
        self._sink.append(finding)
        return finding


class PythonRule(Rule):
    """Gets `visit_<NodeType>(node)` / `leave_<NodeType>(node)` calls from the one shared
    walk of a module's `ast`, then `finish()`. `self.file` is a `PythonFile`."""

    file: "PythonFile"

    def report(self, node: ast.AST, message: str, *, confidence: Confidence | None = None,
               end_node: ast.AST | None = None, snippet: str | None = None, **extra) -> Finding:
        return self._emit(self.file.location(node, end_node), message, confidence, snippet, **extra)

    def finish(self) -> None:
        """Called once after the walk (for rules that need the whole module)."""


class SqlRule(Rule):
    """Gets `check(statement)` for every SQL statement: those of `.sql` files and those
    embedded in Python strings that reach a SQL sink."""

    def check(self, statement: "SqlStatement") -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def report_at(self, statement: "SqlStatement", node, message: str, *,
                  confidence: Confidence | None = None, **extra) -> Finding:
        """Report at a sqlglot node (or the whole statement when `node` is None)."""
        location = statement.locate(node)
        conf = confidence
        if statement.confidence_cap is not None:
            conf = statement.confidence_cap if conf is None else min(conf, statement.confidence_cap)
        return self._emit(location, message, conf, **extra)


class TextRule(Rule):
    """Gets `check_text()` once for each config or text file (`.env`, `.toml`, `.yaml`,
    `.json`, `.ini`, `.cfg`); `self.file` is a `SourceFile` with `text` and `lines`."""

    def check_text(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def report_span(self, start: int, end: int, message: str, *,
                    confidence: Confidence | None = None, snippet: str | None = None,
                    **extra) -> Finding:
        """Report at a character span of `self.file.text`."""
        return self._emit(self.file.location_of_offsets(start, end), message, confidence,
                          snippet, **extra)


class ProjectRule(Rule):
    """Runs once per run, after every file, over the facts of the whole project
    (`needs` names the fact kinds it reads). `self.file` gives code snippets for any
    location; `report_at(location, ...)` reports in whichever file the location is."""

    needs: ClassVar[tuple[str, ...]] = ()
    # Reads files of its own (CI configuration...) besides the facts: its findings cannot
    # be reused from the cache when no analysed file changed, so it always runs.
    reads_project_files: ClassVar[bool] = False

    def check_project(self, facts) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def report_at(self, location: Location, message: str, *, confidence: Confidence | None = None,
                  snippet: str | None = None, **extra) -> Finding:
        return self._emit(location, message, confidence, snippet, **extra)


class EngineRule(Rule):
    """Findings the engine itself makes (syntax errors, internal errors, suppression
    comments). They have metadata and docs like any rule but no visitor."""
