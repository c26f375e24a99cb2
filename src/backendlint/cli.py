"""Command line: `backendlint check|rules|explain`. Exit codes: 0 clean, 1 findings at or
above --fail-on, 2 usage, configuration or internal error."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with a one-line message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"backendlint: error: {message}\n")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="backendlint", description="Static analysis for backend code: "
                     "SQL, auth, secrets, transport, API design and caching.")
    parser.add_argument("--version", action="version", version=f"backendlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="check files and folders (default: .)")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    check.add_argument("--select", type=_csv, help="rules to run: ids, id prefixes (BL1), names or ALL")
    check.add_argument("--extend-select", type=_csv, default=[], help="rules to add to the selection")
    check.add_argument("--ignore", type=_csv, default=[], help="rules to leave out")
    check.add_argument("--config", type=Path, help="configuration file (pyproject.toml or .backendlint.toml)")
    check.add_argument("--output-format", choices=("console", "sarif", "json", "github"),
                       default="console")
    check.add_argument("-o", "--output-file", type=Path,
                       help="write the report here (the console summary still goes to stderr)")
    check.add_argument("--fail-on", choices=("low", "medium", "high", "critical"),
                       help="lowest severity that makes the exit code 1 (default: low)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    check.add_argument("--statistics", action="store_true", help="show counts per rule and files parsed")
    check.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    check.add_argument("--force-exclude", action="store_true",
                       help="apply excludes to files named on the command line too (for pre-commit)")
    check.add_argument("--sql-dialect", help="SQL dialect for sqlglot (default: postgres)")
    check.add_argument("--baseline", type=Path, metavar="FILE",
                       help="report only findings not recorded in this baseline file")
    check.add_argument("--write-baseline", type=Path, metavar="FILE",
                       help="record the current findings as the baseline and exit 0")
    check.add_argument("--show-stale", action="store_true",
                       help="list baseline entries that no longer match a finding")
    check.add_argument("--diff", nargs="?", const="", default=None, metavar="REV",
                       help="report only findings on lines changed since REV (default: the "
                            "merge base with the default branch, else HEAD); needs git")
    check.add_argument("--fix", action="store_true",
                       help="apply the safe fixes of fixable rules, then report what is left")
    check.add_argument("--diff-fix", "--dry-run", dest="diff_fix", action="store_true",
                       help="show the fixes as a unified diff without writing anything")
    check.add_argument("-j", "--jobs", type=_positive_int, default=None,
                       help="worker processes (default: the number of CPUs)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    check.add_argument("--cache-dir", type=Path,
                       help="cache folder (default: .backendlint_cache in the project root)")
    check.add_argument("-v", "--verbose", action="store_true", help="tracebacks and notes")

    clean = commands.add_parser("clean", help="delete the cache")
    clean.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    clean.add_argument("--cache-dir", type=Path)
    commands.add_parser("rules", help="list the rules")
    explain = commands.add_parser("explain", help="show a rule's documentation")
    explain.add_argument("rule", help="rule id or name, e.g. BL101 or sql-string-built")

    from .commands import all_commands

    for command in all_commands():
        sub = commands.add_parser(command.NAME, help=command.HELP)
        sub.set_defaults(command_module=command)
        command.add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors, --help, --version: return, don't exit
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    verbose = getattr(args, "verbose", False)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "rules":
            return _rules()
        if args.command == "clean":
            return _clean(args)
        if args.command == "explain":
            return _explain(args.rule)
        if getattr(args, "command_module", None) is not None:
            return args.command_module.run(args)
    except KeyboardInterrupt:
        print("backendlint: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # configuration and usage errors are expected; bugs are not
        from .baseline import BaselineError
        from .changed_lines import DiffError
        from .config import ConfigError
        from .knowledge import KnowledgeError
        from .registry import SelectorError

        if isinstance(exc, (ConfigError, SelectorError, KnowledgeError, BaselineError, DiffError)):
            print(f"backendlint: error: {exc}", file=sys.stderr)
        else:
            print(f"backendlint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            if verbose:
                import traceback

                traceback.print_exc()
            else:
                print("run with --verbose for the traceback", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR


def _check(args) -> int:
    from . import config as config_module
    from .engine import check
    from .findings import Severity
    from .registry import expand
    from .report import console as console_report
    from .report import render

    config = config_module.load(args.paths, args.config)
    for selectors in (args.select or [], args.extend_select, args.ignore):
        for selector in selectors:
            expand(selector)  # raises SelectorError naming the bad one
    if args.select is not None:
        config.select = args.select
        config.extend_select = []
    config.extend_select = config.extend_select + args.extend_select
    config.ignore = config.ignore + args.ignore
    if args.fail_on:
        config.fail_on = Severity.parse(args.fail_on)
    if args.sql_dialect:
        config.sql_dialect = config_module.validate_dialect(args.sql_dialect, "--sql-dialect")
    config.force_exclude = args.force_exclude

    import os

    from .cache import default_dir

    cache_dir = None if args.no_cache else (args.cache_dir or default_dir(config.root))
    jobs = args.jobs or os.cpu_count() or 1
    with _progress(args) as progress:
        report = check(args.paths, config, verbose=args.verbose, jobs=jobs, cache_dir=cache_dir,
                       progress=progress)
    if args.fix or args.diff_fix:
        from . import fixes

        outcome = fixes.apply(report, dry_run=args.diff_fix)
        for error in outcome.errors:
            print(f"backendlint: {error}", file=sys.stderr)
        if args.diff_fix:
            sys.stdout.write("".join(outcome.diffs))
            return EXIT_CLEAN if not outcome.errors else EXIT_ERROR
        if outcome.fixed:
            print(f"backendlint: fixed {sum(outcome.fixed.values())} findings in "
                  f"{len(outcome.fixed)} files", file=sys.stderr)
            report = check(args.paths, config, verbose=args.verbose, jobs=jobs, cache_dir=cache_dir)
    for missing in report.missing:
        print(f"backendlint: error: {missing}: no such file or folder", file=sys.stderr)
    if args.write_baseline is not None:
        from .baseline import Baseline

        Baseline.of(report.findings).write(args.write_baseline)
        print(f"backendlint: wrote {len(report.findings)} findings to baseline {args.write_baseline}",
              file=sys.stderr)
        return EXIT_ERROR if report.missing else EXIT_CLEAN
    _narrow(report, args, config)

    fmt = args.output_format
    if fmt == "console" and args.output_file is None:
        console_report.render(report, console_report.make_console(sys.stdout, args.color),
                              statistics=args.statistics, quiet=args.quiet)
    else:
        text = render(fmt, report) if fmt != "console" else _console_text(report, args)
        if args.output_file is not None:
            _write(args.output_file, text)
            # The people watching the run still see what happened.
            console_report.render(report, console_report.make_console(sys.stderr, args.color),
                                  statistics=args.statistics, quiet=True)
        else:
            sys.stdout.write(text)
            if args.statistics:
                console_report.render(report, console_report.make_console(sys.stderr, args.color),
                                      statistics=True, quiet=True)
    if report.missing:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if report.failing(config.fail_on) else EXIT_CLEAN


class _progress:
    """A progress bar on stderr for long runs, only when stderr is a terminal."""

    MIN_FILES = 200

    def __init__(self, args) -> None:
        self.enabled = sys.stderr.isatty() and not args.quiet and args.color != "never"
        self.bar = self.task = None

    def __enter__(self):
        return self.update if self.enabled else None

    def update(self, done: int, total: int) -> None:
        if total < self.MIN_FILES:
            return
        if self.bar is None:
            from rich.progress import Progress

            from .report.console import make_console

            self.bar = Progress(console=make_console(sys.stderr), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("checking", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _clean(args) -> int:
    from . import config as config_module
    from .cache import clean, default_dir

    config = config_module.load(args.paths)
    folder = args.cache_dir or default_dir(config.root)
    print(f"removed {folder}" if clean(folder) else f"no cache at {folder}")
    return EXIT_CLEAN


def _narrow(report, args, config) -> None:
    """Keep only new findings (--baseline) on changed lines (--diff). Project rules and
    fingerprints already saw the whole project."""
    baseline_path = args.baseline or config.baseline
    if baseline_path is not None:
        from .baseline import Baseline

        new, known, stale = Baseline.read(Path(baseline_path)).split(report.findings)
        report.findings = new
        report.notices.append(f"{len(known)} findings in the baseline {baseline_path} not shown")
        if args.show_stale:
            for entry in stale:
                report.notices.append(f"stale baseline entry (fixed or gone): {entry.get('path')} "
                                      f"{entry.get('rule_id')} {entry.get('code', '')}")
            if not stale:
                report.notices.append("no stale baseline entries")
    if args.diff is not None:
        from .changed_lines import changed_lines, on_changed_line

        rev, changed = changed_lines(config.root, args.diff or None)
        before = len(report.findings)
        report.findings = [f for f in report.findings if on_changed_line(f, changed)]
        report.notices.append(f"--diff {rev}: {before - len(report.findings)} findings on unchanged lines not shown")


def _console_text(report, args) -> str:
    import io

    from .report import console as console_report

    buffer = io.StringIO()
    console_report.render(report, console_report.make_console(buffer, "never"),
                          statistics=args.statistics, quiet=args.quiet)
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        from .config import ConfigError

        raise ConfigError(f"{path}: cannot write output: {exc.strerror}") from None


def _rules() -> int:
    from rich.table import Table

    from .registry import all_rules
    from .report.console import make_console

    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "name", "severity", "confidence", "family", "fixable"):
        table.add_column(column)
    for rule_id, rule in all_rules().items():
        meta = rule.meta
        table.add_row(rule_id, meta.name, meta.severity.value, meta.confidence.value, meta.family,
                      "yes" if meta.fixable else "")
    console = make_console()
    if not console.is_terminal:  # piped or captured: never cut a rule name short
        console.width = max(console.width, 160)
    console.print(table)
    return EXIT_CLEAN


def _explain(key: str) -> int:
    from rich.markdown import Markdown

    from .docs import rule_markdown
    from .registry import all_rules, lookup, suggest
    from .report.console import make_console

    rule = lookup(key)
    if rule is None:
        rules = all_rules()
        hint = suggest(key, list(rules) + [r.meta.name for r in rules.values()])
        print(f"backendlint: error: unknown rule {key!r}"
              f"{hint or ' (run `backendlint rules` to list them)'}", file=sys.stderr)
        return EXIT_ERROR
    make_console().print(Markdown(rule_markdown(rule)))
    return EXIT_CLEAN
