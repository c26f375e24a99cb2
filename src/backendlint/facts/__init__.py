"""Facts: what one file tells about the whole project (schema, queries, routes), as plain
serialisable dataclasses. Fact extractors (`backendlint.extract`) emit them per file,
independently of each other; project rules (`rule.ProjectRule`) read all of them once
every file is done. One module per family of facts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar, Iterable, TypeVar

from ..findings import Location

F = TypeVar("F", bound="Fact")


@dataclass(frozen=True)
class Fact:
    """Base of every fact. Subclasses set `kind` and add their own fields; every fact
    says where it came from."""

    kind: ClassVar[str] = "fact"
    location: Location


class ProjectFacts:
    """All facts of a run, by kind, in a deterministic order (by file, then line)."""

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        self._by_kind: dict[str, list[Fact]] = defaultdict(list)
        # Notes from project rules (why they stayed silent), shown by the engine in --verbose.
        self.notes: list[str] = []
        self.cache: dict = {}  # shared by project rules (e.g. the schema built once per run)
        for fact in facts:
            self._by_kind[fact.kind].append(fact)
        for items in self._by_kind.values():
            items.sort(key=lambda f: (f.location.path, f.location.line, f.location.column))

    def of(self, kind: str | type[F]) -> list[F]:
        name = kind if isinstance(kind, str) else kind.kind
        return list(self._by_kind.get(name, ()))

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())
