from ...findings import Confidence, Severity
from ...rule import EngineRule, RuleMeta


class UnusedIgnore(EngineRule):
    """
    ## What it does
    Flags a suppression comment (`# backendlint: ignore[BL101]`, `-- backendlint:
    ignore[...]`, `ignore-file[...]`) that suppresses nothing, or that names an unknown
    rule id. Only rules that ran are judged: ignoring a rule you did not select is not
    reported.

    ## Why is this bad?
    Stale suppressions pile up after code is fixed, and one day hide a new finding on
    the same line.

    ## Example
    ```python
    cur.execute("SELECT name FROM users WHERE id = %s", (uid,))  # backendlint: ignore[BL101]
    ```

    ## Use instead
    Remove the comment, or the id that no longer applies.

    ## Options
    None.

    ## References
    - docs/suppressions.md
    """

    meta = RuleMeta(
        id="BL903", name="unused-ignore", severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="A suppression comment suppresses nothing or names an unknown rule.",
        tags=("engine",),
    )
