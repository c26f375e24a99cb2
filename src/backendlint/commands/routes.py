"""`backendlint routes [PATHS]`: the web routes of the project, as the route model sees
them (methods, full path, handler), for Flask, FastAPI/Starlette, Django and DRF."""
from __future__ import annotations

import json
import sys
from pathlib import Path

NAME = "routes"
HELP = "list the web routes (Flask, FastAPI/Starlette, Django, DRF) with methods and full paths"


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    parser.add_argument("--config", type=Path, help="configuration file")
    parser.add_argument("--output-format", choices=("console", "json"), default="console")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def route_model(paths: list[Path], config):
    """The route model of the files under `paths` (the project's facts, no rules run)."""
    from .. import discovery
    from ..engine import Setup, analyse_file
    from ..extract import extractors_for
    from ..facts import ProjectFacts
    from ..facts.routes import ROUTE_KINDS
    from ..python.routes_model import RouteModel

    setup = Setup.build(config)
    setup.python_rules, setup.sql_rules, setup.text_rules, setup.project_rules = [], [], [], []
    setup.python_triggers = setup.sql_triggers = setup.text_triggers = ()
    setup.extractors = extractors_for(set(ROUTE_KINDS))
    setup.extractor_triggers = tuple(sorted({w.lower() for e in setup.extractors for w in e.triggers}))
    found = discovery.discover(paths or [Path(".")], config)
    facts = []
    for source in found.files:
        if source.kind == discovery.PYTHON:
            facts.extend(analyse_file(source, setup, facts_only=True).facts)
    return RouteModel(ProjectFacts(facts)), found


def run(args) -> int:
    from .. import config as config_module

    config = config_module.load(args.paths, args.config)
    model, found = route_model(args.paths, config)
    for missing in found.missing:
        print(f"backendlint: error: {missing}: no such file or folder", file=sys.stderr)
    if args.output_format == "json":
        sys.stdout.write(json.dumps({"routes": [r.as_dict() for r in model.routes]}, indent=2) + "\n")
    else:
        from rich.table import Table

        from ..report.console import make_console

        table = Table(show_edge=False, header_style="bold")
        for column in ("methods", "path", "handler", "where", "framework"):
            table.add_column(column, overflow="fold")
        for route in model.routes:
            table.add_row(", ".join(route.methods), route.path, route.handler_name,
                          f"{route.location.path}:{route.location.line}", route.framework)
        console = make_console(sys.stdout, args.color)
        if not console.is_terminal:
            console.width = max(console.width, 160)
        console.print(table)
        console.print(f"{len(model.routes)} routes")
    return 2 if found.missing else 0
