"""Rule documentation, made from the rule classes: `docs/rules/<ID>.md`, the rule index,
`backendlint explain ID` and the SARIF rule help all come from here.

Regenerate the committed pages after adding or changing a rule:

    python -m backendlint.docs            # writes docs/rules/ under the current folder
    python -m backendlint.docs --check    # exit 1 and list what is stale, write nothing
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead", "Options", "References")

# Family key (rule.FAMILIES) -> section title in the index, in id order.
FAMILY_TITLES = {
    "sql": "SQL and data access (BL1xx)",
    "auth": "Authentication, secrets and crypto (BL2xx)",
    "transport": "Transport and web configuration (BL3xx)",
    "api": "API design (BL4xx)",
    "cache-jobs": "Caching and background jobs (BL5xx)",
    "repository": "Repository (BL6xx)",
    "engine": "Engine (BL9xx)",
    "other": "Other",
}
INDEX = "index.md"
# Where the docs are published; links in rule pages are absolute so that they also work in
# `explain` output and in SARIF rule help shown by code-scanning tools.
DOCS_URL = "https://github.com/backendlint/backendlint/blob/main/docs"
REGENERATE = "python -m backendlint.docs docs/rules"
_GENERATED_NOTE = f"<!-- Generated from the rule classes by `{REGENERATE}`; do not edit. -->"
_RULE_FILE = re.compile(r"^BL\d{3}\.md$")
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_EMPTY_OPTIONS = {"none", "none.", "none yet.", "none yet"}


def rule_body(rule) -> str:
    """The rule's docstring, dedented (Markdown with the headings above)."""
    return inspect.cleandoc(rule.__doc__ or "")


def sections(rule) -> list[tuple[str, str]]:
    """The docstring's `## ` sections as (heading, text) pairs, in order. Headings inside
    fenced code blocks are not headings. Text before the first heading is dropped."""
    result: list[tuple[str, list[str]]] = []
    fenced = False
    for line in rule_body(rule).split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            result.append((line[3:].strip(), []))
        elif result:
            result[-1][1].append(line)
    return [(heading, "\n".join(lines).strip()) for heading, lines in result]


def missing_headings(rule) -> list[str]:
    present = {heading for heading, _ in sections(rule)}
    return [h for h in HEADINGS if h not in present]


def doc_problems(rule) -> list[str]:
    """What is wrong with a rule's documentation and metadata (empty when all is well):
    the HEADINGS each once and in order, none empty, a one-line summary and a kebab-case
    name."""
    meta = rule.meta
    problems = []
    found = [heading for heading, _ in sections(rule)]
    ours = [heading for heading in found if heading in HEADINGS]
    missing = [h for h in HEADINGS if h not in found]
    if missing:
        problems.append("missing headings: " + ", ".join(f"## {h}" for h in missing))
    if len(ours) != len(set(ours)):
        problems.append("a heading appears twice")
    elif not missing and ours != list(HEADINGS):
        problems.append("headings out of order: " + " / ".join(ours)
                        + " (want " + " / ".join(HEADINGS) + ")")
    for heading, text in sections(rule):
        if heading in HEADINGS and not text:
            problems.append(f"## {heading} is empty (write 'None.' for no options)")
    if not meta.summary or not meta.summary.strip():
        problems.append("no summary")
    elif "\n" in meta.summary:
        problems.append("summary is not one line")
    if not _KEBAB.match(meta.name or ""):
        problems.append(f"name {meta.name!r} is not kebab-case (like 'sql-string-built')")
    if not re.match(r"^BL\d{3}$", meta.id):
        problems.append(f"id {meta.id!r} is not BL + 3 digits")
    return problems


def rule_markdown(rule) -> str:
    """The whole page for one rule: title, summary, facts, then the docstring sections
    (with the options table filled in from `rule.options`)."""
    meta = rule.meta
    facts = [
        f"- **Severity:** {meta.severity.value}",
        f"- **Confidence:** {meta.confidence.value}",
        f"- **Family:** {meta.family}",
    ]
    if meta.cwe:
        facts.append("- **CWE:** " + ", ".join(_cwe_link(n) for n in meta.cwe))
    if meta.tags:
        facts.append("- **Tags:** " + ", ".join(f"`{tag}`" for tag in meta.tags))
    facts.append("- **Fixable:** " + ("yes (`--fix`)" if meta.fixable else "no"))
    parts = [f"# {meta.id} `{meta.name}`", meta.summary.strip(), "\n".join(facts)]
    options = _options_table(rule)
    found = sections(rule)
    if not found:  # an undocumented rule still gets a page (the docs test flags it)
        body = rule_body(rule)
        if body:
            parts.append(body)
    for heading, text in found:
        if heading == "Options" and options:
            text = _with_options(text, options)
        parts.append(f"## {heading}\n\n{text}" if text else f"## {heading}")
    if heading_of(found, "Options") is None and options:
        parts.append("## Options\n\n" + options)
    if not _is_engine(rule):
        parts.append(_suppress_note(rule))
    return "\n\n".join(part.rstrip() for part in parts) + "\n"


def _with_options(text: str, table: str) -> str:
    """The Options section with the table of `rule.options`: a leading "None." (written
    before the rule had options) gives way to the table; other prose comes first."""
    paragraphs = [part for part in text.split("\n\n") if part.strip()]
    if paragraphs and paragraphs[0].strip().lower() in _EMPTY_OPTIONS:
        return "\n\n".join([table] + paragraphs[1:])
    return "\n\n".join(paragraphs + [table])


def heading_of(found: list[tuple[str, str]], heading: str) -> str | None:
    for name, text in found:
        if name == heading:
            return text
    return None


def _is_engine(rule) -> bool:
    from .rule import EngineRule

    return issubclass(rule, EngineRule)


def _suppress_note(rule) -> str:
    meta = rule.meta
    return ("## Selecting and suppressing\n\n"
            f"Select or ignore this rule by id or name (`--select {meta.id}`, "
            f"`--ignore {meta.name}`, or the same in `[tool.backendlint]`). To accept one "
            "finding, put `# backendlint: ignore[" + meta.id + "] -- reason` on the flagged "
            "line or alone on the line above it (`-- backendlint: ignore[" + meta.id + "]` "
            f"in SQL files). See [suppressions]({DOCS_URL}/suppressions.md).")


def _cwe_link(number: int) -> str:
    return f"[CWE-{number}](https://cwe.mitre.org/data/definitions/{number}.html)"


def _options_table(rule) -> str:
    if not rule.options:
        return ""
    rows = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    for option in rule.options:
        rows.append(f"| `{option.name}` | {_type_label(option.type)} | `{_toml(option.default)}` "
                    f"| {_cell(option.help)} |")
    example = "\n".join(f"{option.name} = {_toml(option.default)}" for option in rule.options)
    return ("\n".join(rows) + "\n\nSet them in `pyproject.toml` (or `.backendlint.toml`, "
            "without the `tool.` prefix):\n\n"
            f"```toml\n[tool.backendlint.rules.{rule.meta.id}]\n{example}\n```")


def _type_label(kind: type) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean",
            list: "list of strings"}.get(kind, kind.__name__)


def _toml(value) -> str:
    """A default value as TOML would spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def index_markdown(rules=None) -> str:
    """`docs/rules/index.md`: every rule in a table per family."""
    from .registry import all_rules

    rules = all_rules() if rules is None else rules
    by_family: dict[str, list] = {}
    for rule_id, rule in sorted(rules.items()):
        by_family.setdefault(rule.meta.family, []).append(rule)
    order = list(FAMILY_TITLES)
    lines = [
        "# Rules", "", _GENERATED_NOTE, "",
        f"backendlint has {len(rules)} rules. Every rule has an id (`BL` and three digits, the "
        "first digit naming the family) and a kebab-case name; both work in `--select`, "
        "`--ignore`, the configuration and `backendlint explain`. Severity says how bad the "
        "problem is when the finding is right; confidence says how sure the rule is that it "
        "is right.", "",
    ]
    for family in sorted(by_family, key=lambda f: (order.index(f) if f in order else len(order), f)):
        lines += [f"## {FAMILY_TITLES.get(family, family)}", "",
                  "| id | name | severity | confidence | CWE | fixable | summary |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for rule in by_family[family]:
            meta = rule.meta
            cwe = ", ".join(_cwe_link(n) for n in meta.cwe) or "–"
            lines.append(f"| [{meta.id}]({meta.id}.md) | `{meta.name}` | {meta.severity.value} "
                         f"| {meta.confidence.value} | {cwe} | {'yes' if meta.fixable else 'no'} "
                         f"| {_cell(meta.summary)} |")
        lines.append("")
    return "\n".join(lines)


def generate(rules=None) -> dict[str, str]:
    """File name -> content of every page in `docs/rules/`."""
    from .registry import all_rules

    rules = all_rules() if rules is None else rules
    pages = {f"{rule_id}.md": rule_markdown(rule) for rule_id, rule in sorted(rules.items())}
    pages[INDEX] = index_markdown(rules)
    pages[OPTIONS] = options_markdown(rules)
    return pages

OPTIONS = "options.md"


def options_markdown(rules) -> str:
    """The configuration reference: every `[tool.backendlint]` key and every rule option,
    generated from the config schema and the rule classes (so it cannot drift)."""
    from .config import _KEYS, KEY_HELP, Config

    config = Config(root=Path("."))
    lines = ["# Configuration reference", "",
             "Generated from the configuration schema and the rule classes by "
             "`python -m backendlint.docs`; do not edit by hand.", "",
             "## `[tool.backendlint]` keys", "",
             "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    kinds = {list: "list of strings", dict: "table", str: "string", bool: "boolean", int: "integer"}
    for key, (kind, attribute) in _KEYS.items():
        value = getattr(config, attribute)
        shown = _cell(_default(value))
        lines.append(f"| `{key}` | {kinds.get(kind, kind.__name__)} | {shown} | {_cell(KEY_HELP.get(key, ''))} |")
    lines += ["", "## Rule options", "",
              "Set under `[tool.backendlint.rules.<ID>]`; an unknown option or a wrong type stops the run "
              "with exit code 2.", ""]
    for rule_id, rule in sorted(rules.items()):
        if not rule.options:
            continue
        lines += [f"### {rule_id} `{rule.meta.name}`", "", "| option | type | default | meaning |",
                  "| --- | --- | --- | --- |"]
        for option in rule.options:
            lines.append(f"| `{option.name}` | {kinds.get(option.type, option.type.__name__)} | "
                         f"{_cell(_default(option.default))} | {_cell(option.help)} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _default(value) -> str:
    """A default as TOML, shortened when it is a long list."""
    if value is None:
        return "none"
    if hasattr(value, "value") and not isinstance(value, (str, int, float, list, dict)):
        value = value.value  # an enum (fail-on)
    if isinstance(value, list) and len(value) > 8:
        return f"`{_toml(value[:8])[:-1]}, ...]` ({len(value)} entries)"
    return f"`{_toml(value)}`"


def stale(folder) -> list[str]:
    """How `folder` differs from freshly generated pages: one line per file that is
    missing, different, or left over from a rule that no longer exists."""
    folder = Path(folder)
    pages = generate()
    problems = []
    for name, text in pages.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: out of date")
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if _RULE_FILE.match(path.name) and path.name not in pages:
                problems.append(f"{path}: no such rule any more")
    return problems


def write_rule_docs(folder) -> list[str]:
    """Regenerate `docs/rules/*.md` and the index in `folder`; pages of rules that no
    longer exist are removed. Returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pages = generate()
    written = []
    for name, text in pages.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
        written.append(str(path))
    for path in sorted(folder.iterdir()):
        if _RULE_FILE.match(path.name) and path.name not in pages:
            path.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m backendlint.docs",
                                     description="Regenerate the rule pages from the rule classes.")
    parser.add_argument("folder", nargs="?", default="docs/rules", type=Path,
                        help="where the pages go (default: docs/rules)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the stale pages if any")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.folder)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"run: {REGENERATE}", file=sys.stderr)
        return 1 if problems else 0
    written = write_rule_docs(args.folder)
    print(f"{len(written)} pages in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
