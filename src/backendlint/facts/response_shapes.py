"""Response-shape facts: the JSON bodies a request handler returns, as far as the syntax
shows them, keyed by the handler's dotted name (the same `ref` as `route.body` facts), so
that project rules can compare the shapes of an application's routes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Fact


@dataclass(frozen=True)
class ShapeReturn:
    """One `return`/`raise` of a handler.
    `shape`: "dict" (a dict literal: `keys` are its literal top-level keys, `nested` those
    of them whose value is itself a dict literal, `partial` when it also has `**spread`),
    "list" (a list literal or comprehension), "opaque" (a variable, a call, a serializer's
    data: unknown), "framework" (an error shaped by the framework, e.g. FastAPI's
    `HTTPException` -> `{"detail": ...}`).
    `status`: the literal status, None for the framework's default, -1 when not a constant."""

    location: object  # Location of the return / raise statement
    shape: str
    keys: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()
    scalars: tuple[str, ...] = ()  # keys whose value is a literal string or number
    partial: bool = False
    status: int | None = None
    callee: str = ""  # opaque: the helper function called (dotted name), for the rule to look up
    call_status: int | None = None  # a literal 4xx/5xx passed to that helper
    status_default: int | None = None  # status -1 given by a parameter with this literal default


@dataclass(frozen=True)
class ResponseShapesFact(Fact):
    kind: ClassVar[str] = "route.shapes"
    ref: str = ""
    framework: str = ""
    declared_model: bool = False  # FastAPI response_model= / a return annotation
    renders_html: bool = False
    returns: tuple[ShapeReturn, ...] = ()
