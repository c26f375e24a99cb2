from ...findings import Confidence, Severity
from ...rule import EngineRule, RuleMeta


class ParseError(EngineRule):
    """
    ## What it does
    Reports a file, or one SQL statement, that could not be analysed: a Python syntax
    error, a file that is not text or cannot be decoded, a SQL statement sqlglot cannot
    parse in the configured dialect, or Python syntax newer than the interpreter running
    backendlint.

    ## Why is this bad?
    Code that is not analysed can hide any other finding. For SQL, only the one
    statement is skipped; the rest of the file is still checked.

    ## Example
    ```text
    app/views.py:12:5: BL901 syntax error: '(' was never closed
    db/001_init.sql:40:1: BL901 SQL statement not parsed (postgres): Invalid expression
    app/generic.py:3:1: BL901 needs Python >= 3.12 to analyse; run backendlint under that Python
    ```

    ## Use instead
    Fix the syntax error; for SQL, set `sql-dialect` to your database's dialect; for
    newer Python syntax, install backendlint under that Python version.

    ## Options
    None.

    ## References
    - https://sqlglot.com/sqlglot/dialects.html
    """

    meta = RuleMeta(
        id="BL901", name="parse-error", severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="A file or SQL statement could not be parsed, so it was not analysed.",
        tags=("engine",),
    )
