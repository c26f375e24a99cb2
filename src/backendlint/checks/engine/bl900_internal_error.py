from ...findings import Confidence, Severity
from ...rule import EngineRule, RuleMeta


class InternalError(EngineRule):
    """
    ## What it does
    Reports that a rule failed with an unexpected error on this file. The other rules
    still ran, and the rest of the project was still checked.

    ## Why is this bad?
    It is a bug in backendlint, not in your code: the failed rule may have missed
    findings in this file. The message names the rule and the error.

    ## Example
    ```text
    app/models.py:1:1: BL900 rule BL101 (sql-string-built) failed: KeyError: 'x'
    ```

    ## Use instead
    Please report it with the file (or a reduced copy) and `backendlint --version`.
    Run with `--verbose` to see the traceback.

    ## Options
    None.

    ## References
    - backendlint issue tracker
    """

    meta = RuleMeta(
        id="BL900", name="internal-error", severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="A rule failed with an internal error on this file.", tags=("engine",),
    )
