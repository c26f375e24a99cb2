from ...findings import Confidence, Severity
from ...rule import EngineRule, RuleMeta


class BlanketIgnore(EngineRule):
    """
    ## What it does
    Flags a suppression comment that names no rule: `# backendlint: ignore` without
    `[BL...]`. Such a comment suppresses nothing.

    ## Why is this bad?
    A blanket ignore would hide every present and future finding on the line, including
    ones nobody reviewed. backendlint asks you to name what you accept.

    ## Example
    ```python
    cur.execute(f"SELECT name FROM users WHERE id = {uid}")  # backendlint: ignore
    ```

    ## Use instead
    ```python
    cur.execute(f"SELECT name FROM t WHERE id = {ID}")  # backendlint: ignore[BL101] -- ID is a constant
    ```

    ## Options
    None.

    ## References
    - docs/suppressions.md
    """

    meta = RuleMeta(
        id="BL902", name="blanket-ignore", severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="A suppression comment names no rule id.", tags=("engine",),
    )
