"""backendlint: a static analyser for backend code (Python and SQL).

Library use:

    from backendlint import check, load_config
    report = check(["src/"])                       # config found from the first path
    for finding in report.findings: ...
"""
from __future__ import annotations

__version__ = "0.1.0"


def load_config(paths=None, config_file=None):
    from pathlib import Path

    from .config import load

    return load([Path(p) for p in (paths or ["."])], Path(config_file) if config_file else None)


def check(paths=None, config=None):
    """Analyse files or folders; returns an `engine.Report`."""
    from pathlib import Path

    from .engine import check as run

    paths = [Path(p) for p in (paths or ["."])]
    return run(paths, config or load_config(paths))
