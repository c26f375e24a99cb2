"""Rule documentation: the committed docs/rules pages match the rule classes, every rule
is documented with the fixed headings, and `explain` / `rules` show them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backendlint import docs
from backendlint.cli import main
from backendlint.findings import Confidence, Severity
from backendlint.registry import all_rules
from backendlint.rule import Option, PythonRule, RuleMeta

ROOT = Path(__file__).resolve().parents[1]
RULE_DOCS = ROOT / "docs" / "rules"
RULES = all_rules()


def test_committed_rule_docs_are_up_to_date():
    problems = [p.replace(f"{ROOT}{os.sep}", "") for p in docs.stale(RULE_DOCS)]
    assert not problems, (
        "docs/rules is stale:\n  " + "\n  ".join(problems)
        + f"\nregenerate it from the repository root with:\n  {docs.REGENERATE}")


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_is_documented(rule_id):
    rule = RULES[rule_id]
    problems = docs.doc_problems(rule)
    assert not problems, f"{rule_id} ({rule.__module__}): " + "; ".join(problems)


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_page_shape(rule_id):
    page = docs.rule_markdown(RULES[rule_id])
    meta = RULES[rule_id].meta
    assert page.startswith(f"# {rule_id} `{meta.name}`\n\n{meta.summary}\n")
    positions = [page.index(f"\n## {heading}\n") for heading in docs.HEADINGS]
    assert positions == sorted(positions)
    assert f"**Severity:** {meta.severity.value}" in page
    assert page.endswith("\n") and not page.endswith("\n\n")


def test_index_lists_every_rule_by_family():
    index = docs.index_markdown()
    for rule_id, rule in RULES.items():
        row = next(line for line in index.splitlines() if line.startswith(f"| [{rule_id}]"))
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        meta = rule.meta
        assert cells[1] == f"`{meta.name}`"
        assert cells[2:4] == [meta.severity.value, meta.confidence.value]
        assert all(f"CWE-{n}" in cells[4] for n in meta.cwe)
        assert cells[5] == ("yes" if meta.fixable else "no")
    assert "## SQL and data access (BL1xx)" in index and "## Engine (BL9xx)" in index
    assert index.index("BL1xx") < index.index("BL9xx")


class _WithOptions(PythonRule):
    """
    ## What it does
    Flags things.

    ## Why is this bad?
    Because.

    ## Example
    ```python
    # ## not a heading inside a code block
    bad()
    ```

    ## Use instead
    ```python
    good()
    ```

    ## Options
    None yet.

    More options can come from `extend-knowledge`.

    ## References
    - nowhere
    """

    meta = RuleMeta(id="BL499", name="made-up-rule", severity=Severity.MEDIUM,
                    confidence=Confidence.LOW, summary="A made-up rule | with a pipe.", cwe=(20, 79))
    options = (Option("max-items", int, 100, "largest page size | allowed"),
               Option("allow", list, ["a"], "names to skip"),
               Option("strict", bool, False, "also flag the doubtful cases"))


def test_options_table_cwe_and_pipes():
    assert docs.doc_problems(_WithOptions) == []
    page = docs.rule_markdown(_WithOptions)
    assert "None yet." not in page
    options = page.split("## Options\n\n", 1)[1].split("\n## ", 1)[0]
    assert options.startswith("| option | type | default | meaning |")
    assert options.rstrip().endswith("More options can come from `extend-knowledge`.")
    assert "| `max-items` | integer | `100` | largest page size \\| allowed |" in page
    assert '| `allow` | list of strings | `["a"]` | names to skip |' in page
    assert "| `strict` | boolean | `false` |" in page
    assert '[tool.backendlint.rules.BL499]\nmax-items = 100\nallow = ["a"]\nstrict = false\n' in page
    assert "[CWE-79](https://cwe.mitre.org/data/definitions/79.html)" in page
    index = docs.index_markdown({"BL499": _WithOptions})
    assert "A made-up rule \\| with a pipe." in index and "## API design (BL4xx)" in index


def test_doc_problems_are_specific():
    class Bad(PythonRule):
        """
        ## Why is this bad?
        x

        ## What it does
        y

        ## Example
        z

        ## Use instead
        w

        ## Options

        ## References
        v
        """

        meta = RuleMeta(id="BL498", name="Bad_Name", severity=Severity.LOW,
                        confidence=Confidence.LOW, summary="")

    problems = " | ".join(docs.doc_problems(Bad))
    assert "out of order" in problems and "## Options is empty" in problems
    assert "no summary" in problems and "kebab-case" in problems

    class Missing(PythonRule):
        """Just prose."""

        meta = RuleMeta(id="BL497", name="fine-name", severity=Severity.LOW,
                        confidence=Confidence.LOW, summary="Fine.")

    assert "missing headings" in docs.doc_problems(Missing)[0]
    assert "Just prose." in docs.rule_markdown(Missing)


def test_write_check_and_orphans(tmp_path):
    folder = tmp_path / "rules"
    assert docs.main([str(folder), "--check"]) == 1
    written = docs.write_rule_docs(folder)
    assert sorted(Path(p).name for p in written) == sorted([f"{i}.md" for i in RULES] + ["index.md", "options.md"])
    assert docs.stale(folder) == []
    (folder / "BL101.md").write_text("edited\n", encoding="utf-8")
    (folder / "BL777.md").write_text("old rule\n", encoding="utf-8")
    (folder / "notes.md").write_text("kept\n", encoding="utf-8")
    problems = docs.stale(folder)
    assert any("BL101.md: out of date" in p for p in problems)
    assert any("BL777.md: no such rule any more" in p for p in problems)
    assert docs.main([str(folder)]) == 0
    assert docs.stale(folder) == [] and not (folder / "BL777.md").exists()
    assert (folder / "notes.md").exists()


def test_python_dash_m_default_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "backendlint.docs"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "docs" / "rules" / "index.md").is_file()
    assert (tmp_path / "docs" / "rules" / "BL101.md").is_file()
    check = subprocess.run([sys.executable, "-m", "backendlint.docs", "--check"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("key", ["BL101", "sql-string-built", "bl101"])
def test_explain_prints_the_docs(key, capsys):
    assert main(["explain", key]) == 0
    out = capsys.readouterr().out
    assert "BL101" in out and "sql-string-built" in out
    for heading in docs.HEADINGS:
        assert heading in out
    assert "cur.execute(" in out


def test_explain_unknown_rule(capsys):
    assert main(["explain", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown rule 'nope'" in err and "backendlint rules" in err
    assert main(["explain", "sql-strng-built"]) == 2
    assert "did you mean 'sql-string-built'?" in capsys.readouterr().err


def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for rule_id, rule in RULES.items():
        assert rule_id in out and rule.meta.name in out, rule_id


# -- the README and the hand-written docs stay in step with the code ----------------------

README = ROOT / "README.md"
HAND_WRITTEN = [README, ROOT / "docs" / "configuration.md", ROOT / "docs" / "suppressions.md"]


def _code_blocks(text: str, language: str) -> list[str]:
    import re

    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_starts_with_the_two_commands_and_matches_ci():
    import shlex

    blocks = _code_blocks(README.read_text(encoding="utf-8"), r"\w*")
    assert blocks[0].strip() == ("python3 -m venv .venv && .venv/bin/pip install . "
                                 "&& .venv/bin/backendlint check fixtures/demo")
    install, test = [part.strip() for part in blocks[1].strip().split("&&")]
    assert install == ".venv/bin/pip install -e '.[test]'"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_pytest = next(line for line in ci.splitlines() if "-m pytest" in line)
    ci_args = shlex.split(ci_pytest)[shlex.split(ci_pytest).index("pytest"):]
    readme_args = shlex.split(test)[shlex.split(test).index("pytest"):]
    assert readme_args == ci_args, f"README runs {readme_args}, .ci/run runs {ci_args}"
    assert "-e '.[test]'" in ci or '-e ".[test]"' in ci


def test_readme_documents_every_cli_option_and_command():
    from backendlint.cli import build_parser

    text = README.read_text(encoding="utf-8")
    subcommands = build_parser()._subparsers._group_actions[0].choices
    missing = [f"backendlint {name}" for name in subcommands if f"backendlint {name}" not in text]
    for action in subcommands["check"]._actions:
        missing += [option for option in action.option_strings
                    if option.startswith("--") and option != "--help" and f"`{option}" not in text]
    assert not missing, f"README.md does not mention: {', '.join(missing)}"


def test_docs_name_every_config_key():
    from backendlint.config import CONFIG_KEYS

    for path in (README, ROOT / "docs" / "configuration.md"):
        text = path.read_text(encoding="utf-8")
        missing = [key for key in CONFIG_KEYS if f"`{key}`" not in text]
        assert not missing, f"{path.relative_to(ROOT)} does not mention: {', '.join(missing)}"


@pytest.mark.parametrize("path", HAND_WRITTEN, ids=lambda p: p.name)
def test_toml_examples_are_valid_configuration(path, tmp_path):
    from backendlint.config import Config, apply_table, tomllib

    for block in _code_blocks(path.read_text(encoding="utf-8"), "toml"):
        data = tomllib.loads(block)
        table = data["tool"]["backendlint"] if "tool" in data else data
        apply_table(Config(root=tmp_path), table, str(tmp_path / "pyproject.toml"))


@pytest.mark.parametrize("path", HAND_WRITTEN + [ROOT / "fixtures" / "demo" / "README.md"]
                         + sorted(RULE_DOCS.glob("*.md")),
                         ids=lambda p: p.name)
def test_relative_links_resolve(path):
    import re

    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{path.relative_to(ROOT)}: broken link {target}"


def test_readme_yaml_snippets():
    import yaml

    blocks = [yaml.safe_load(b) for b in _code_blocks(README.read_text(encoding="utf-8"), "yaml")]
    precommit = next(b for b in blocks if "repos" in b)
    assert precommit["repos"][0]["hooks"][0]["id"] == "backendlint"
    hook_ids = [h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]
    assert precommit["repos"][0]["hooks"][0]["id"] in hook_ids
    workflow = next(b for b in blocks if "jobs" in b)
    job = next(iter(workflow["jobs"].values()))
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    run = " ".join(step.get("run", "") for step in steps)
    assert "backendlint check --output-format sarif -o results.sarif" in run
    upload = next(step for step in steps if "upload-sarif" in step.get("uses", ""))
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert upload["with"]["sarif_file"] == "results.sarif"
