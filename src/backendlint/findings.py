"""The values every stage passes along: where a finding is, how bad, how sure."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class _Ordered(enum.Enum):
    """An enum whose members compare by declaration order (LOW < HIGH)."""

    def __lt__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        members = list(type(self))
        return members.index(self) < members.index(other)

    def __le__(self, other):
        return self == other or self < other

    @classmethod
    def parse(cls, text: str):
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(m.value for m in cls)
            raise ValueError(f"{text!r} is not one of: {names}") from None


class Severity(_Ordered):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Confidence(_Ordered):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, order=True)
class Location:
    """A span in a file. Lines and columns are 1-based; columns count characters
    (Unicode code points), never bytes. `end_column` is exclusive."""

    path: str  # relative to the project root, '/'-separated
    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self):
        if self.end_line < self.line:
            object.__setattr__(self, "end_line", self.line)
        if self.end_line == self.line and self.end_column < self.column:
            object.__setattr__(self, "end_column", self.column)


@dataclass(frozen=True)
class Edit:
    """Replace the text between two (line, column) positions; columns in characters."""

    start: tuple[int, int]
    end: tuple[int, int]
    replacement: str


@dataclass
class Finding:
    rule_id: str
    rule_name: str
    severity: Severity
    confidence: Confidence
    message: str
    location: Location
    # The source line(s) the finding is on, for code frames and fingerprints; rules that
    # flag secrets replace it with a redacted copy.
    snippet: str = ""
    fingerprint: str = ""
    suppressed: bool = False
    extra: dict = field(default_factory=dict)

    def sort_key(self):
        loc = self.location
        return (loc.path, loc.line, loc.column, self.rule_id, self.message)

    def to_dict(self) -> dict:
        loc = self.location
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "severity": self.severity.value,
            "confidence": self.confidence.value,
            "path": loc.path,
            "line": loc.line,
            "column": loc.column,
            "end_line": loc.end_line,
            "end_column": loc.end_column,
            "message": self.message,
            "fingerprint": self.fingerprint,
        }
