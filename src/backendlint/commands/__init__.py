"""Extra subcommands (`backendlint schema`, `backendlint routes`, ...): one module each,
defining NAME, HELP, `add_arguments(parser)` and `run(args) -> int` (an exit code).
`cli.py` finds them here; `check`, `rules` and `explain` live in cli.py itself."""
from __future__ import annotations

import importlib
import pkgutil


def all_commands() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__, __name__ + "."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return modules
