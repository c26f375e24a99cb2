"""BL4xx: API design."""
from ...findings import Confidence
from ...python import web_ast as w
from ...rule import PythonRule


class HandlerRule(PythonRule):
    """Base of the rules that judge web handlers: in example code (docs, tutorials) a
    finding is at most of medium confidence, and handlers in tests are not judged."""

    def report(self, node, message, *, confidence=None, **extra):
        if w.code_context(self.file.relpath) == "example":
            confidence = Confidence.MEDIUM if confidence is None else min(confidence, Confidence.MEDIUM)
        return super().report(node, message, confidence=confidence, **extra)

    def in_tests(self) -> bool:
        return w.code_context(self.file.relpath) == "test"  # routes in tests are fixtures
