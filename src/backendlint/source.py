"""A file as the rules see it: decoded text, lines, and position helpers."""
from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .findings import Location


class DecodeError(Exception):
    pass


def decode_python(data: bytes) -> str:
    """Decode Python source as the interpreter would: BOM, PEP 263 coding cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown or conflicting coding cookie
        raise DecodeError(str(exc)) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DecodeError(f"not valid {encoding}: {exc}") from None
    return text.removeprefix("\ufeff")


def decode_text(data: bytes) -> str:
    """Decode a SQL or config file: UTF-8 (with or without BOM)."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not valid UTF-8: {exc}") from None


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


@dataclass
class SourceFile:
    path: Path  # absolute
    relpath: str  # relative to the project root, '/'-separated
    text: str

    def __post_init__(self):
        # splitlines() would also split on \x0c, \x1c, \u2028...; line numbers of ast and
        # sqlglot count only \n, \r\n and \r.
        self.lines = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._line_starts: list[int] | None = None

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def snippet(self, location: Location) -> str:
        last = min(location.end_line, location.line + 4)
        return "\n".join(self.line_text(n) for n in range(location.line, last + 1))

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column), both 1-based, of a character offset into `text`."""
        if self._line_starts is None:
            starts, pos = [0], 0
            text = self.text
            while True:
                nl = _next_newline(text, pos)
                if nl < 0:
                    break
                pos = nl + (2 if text.startswith("\r\n", nl) else 1)
                starts.append(pos)
            self._line_starts = starts
        import bisect

        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def location_of_offsets(self, start: int, end: int) -> Location:
        line, col = self.position(start)
        end_line, end_col = self.position(max(end, start))
        return Location(self.relpath, line, col, end_line, end_col)


def _next_newline(text: str, pos: int) -> int:
    n = text.find("\n", pos)
    r = text.find("\r", pos)
    if r < 0:
        return n
    if n < 0:
        return r
    return min(n, r)
