"""Fact extractors: one module per source of facts (SQL DDL, Django models, SQLAlchemy
models, Alembic migrations, queries, routes...). Found automatically, like rules; run
only when an active project rule needs the kinds of fact they produce."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import ClassVar


class FactExtractor:
    """Base of extractors. Like a rule, an extractor may define `visit_<Node>` /
    `leave_<Node>` (run in the shared walk of a Python file), `finish()`, and
    `check(statement)` (run for each SQL statement of a `.sql` file and each SQL string
    reaching a sink). It calls `self.emit(fact)` instead of reporting. An extractor with
    `sees_unparsed = True` also gets the statements of `.sql` files that did not parse
    (`statement.tree` is None, `statement.error` says why)."""

    kinds: ClassVar[tuple[str, ...]] = ()  # the fact kinds it produces
    triggers: ClassVar[tuple[str, ...]] = ()  # lowercase words without which it emits nothing
    languages: ClassVar[tuple[str, ...]] = ("python",)  # "python" and/or "sql"

    def __init__(self, file, facts: list) -> None:
        self.file = file
        self._facts = facts

    def emit(self, fact) -> None:
        self._facts.append(fact)

    def finish(self) -> None:
        """Called once after the walk of a Python file."""

    def check(self, statement) -> None:
        """Called for each SQL statement (extractors with "sql" in `languages`)."""


@lru_cache(maxsize=1)
def all_extractors() -> tuple[type[FactExtractor], ...]:
    found = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, FactExtractor)
                    and value is not FactExtractor and value.__module__ == module.__name__):
                found.append(value)
    return tuple(sorted(found, key=lambda cls: (cls.__module__, cls.__name__)))


def extractors_for(kinds: set[str]) -> list[type[FactExtractor]]:
    return [cls for cls in all_extractors() if kinds & set(cls.kinds)]
