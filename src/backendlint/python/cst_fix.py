"""Small libcst helpers for rule fixes: find the call a finding points at and rewrite
its arguments, keeping everything else (formatting, comments) as it was."""
from __future__ import annotations

from typing import Callable


def rewrite_calls(source: str, findings, change: Callable) -> str | None:
    """Apply `change(call) -> new call or None` to every call that starts where a finding
    starts; the new source, or None when nothing changed."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    starts = {(f.location.line, f.location.column - 1) for f in findings}
    wrapper = MetadataWrapper(cst.parse_module(source))
    positions = wrapper.resolve(PositionProvider)

    class Rewrite(cst.CSTTransformer):
        def leave_Call(self, original, updated):
            start = positions[original].start
            if (start.line, start.column) not in starts:
                return updated
            return change(updated) or updated

    new = wrapper.module.visit(Rewrite()).code
    return new if new != source else None


def keyword(call, name: str):
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def with_keywords(call, additions: list[tuple[str, str]]):
    """The call with `name=value` arguments appended (values are source text)."""
    import libcst as cst

    if not additions:
        return None
    args = list(call.args)
    new = [cst.Arg(value=cst.parse_expression(value), keyword=cst.Name(name),
                   equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                         whitespace_after=cst.SimpleWhitespace("")))
           for name, value in additions]
    if args:
        last = args[-1]
        trailing = last.comma  # keep a trailing comma (and the layout after it) at the end
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for index in range(len(new) - 1):
            new[index] = new[index].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if trailing is not cst.MaybeSentinel.DEFAULT:
            new[-1] = new[-1].with_changes(comma=trailing)
    return call.with_changes(args=args + new)
