"""Rule documentation, made from the rule classes: `docs/rules/<ID>.md`, `explain`, and
SARIF rule help all come from here."""
from __future__ import annotations

import inspect

HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead", "Options", "References")


def rule_body(rule) -> str:
    """The rule's docstring, dedented (Markdown with the headings above)."""
    return inspect.cleandoc(rule.__doc__ or "")


def rule_markdown(rule) -> str:
    meta = rule.meta
    facts = [
        f"- **Severity:** {meta.severity.value}",
        f"- **Confidence:** {meta.confidence.value}",
        f"- **Family:** {meta.family}",
    ]
    if meta.cwe:
        facts.append("- **CWE:** " + ", ".join(
            f"[CWE-{n}](https://cwe.mitre.org/data/definitions/{n}.html)" for n in meta.cwe))
    if meta.fixable:
        facts.append("- **Fixable:** yes (`--fix`)")
    options = _options_table(rule)
    body = rule_body(rule)
    if options:
        body = body.replace("## Options\nNone.", "## Options\n" + options).replace(
            "## Options\nNone yet.", "## Options\n" + options)
    return f"# {meta.id} `{meta.name}`\n\n{meta.summary}\n\n" + "\n".join(facts) + "\n\n" + body + "\n"


def _options_table(rule) -> str:
    if not rule.options:
        return ""
    rows = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    for option in rule.options:
        rows.append(f"| `{option.name}` | {option.type.__name__} | `{option.default!r}` | {option.help} |")
    return "\n".join(rows) + f"\n\nSet them under `[tool.backendlint.rules.{rule.meta.id}]`."


def write_rule_docs(folder) -> list[str]:
    """Regenerate `docs/rules/*.md` and an index; returns the files written."""
    from pathlib import Path

    from .registry import all_rules

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rule_id, rule in all_rules().items():
        path = folder / f"{rule_id}.md"
        path.write_text(rule_markdown(rule), encoding="utf-8")
        written.append(str(path))
    return written


def missing_headings(rule) -> list[str]:
    body = rule_body(rule)
    return [h for h in HEADINGS if f"## {h}" not in body]
