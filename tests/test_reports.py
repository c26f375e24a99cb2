"""The machine-readable reports (SARIF, JSON, GitHub annotations), built from real runs
of the engine over small temporary projects."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from backendlint import __version__
from backendlint.cli import main
from backendlint.config import Config
from backendlint.engine import Report, assign_fingerprints, check
from backendlint.findings import Confidence, Finding, Location, Severity
from backendlint.registry import all_rules
from backendlint.report import render
from backendlint.report import github as github_report
from backendlint.report import sarif as sarif_report

SHARED_SARIF = Path(__file__).resolve().parents[1].parent / "shared" / "sarif"

# One f-string query: BL101 (critical, CWE-89) and BL102 (low, not a security rule).
QUERY = 'cur.execute(f"SELECT * FROM t WHERE id = {uid}")'
DB_PY = f"def load(cur, uid):\n    {QUERY}\n"


def project(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` under `root`; a `.backendlint.toml` pins the project root there."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".backendlint.toml").write_text("", encoding="utf-8")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


# Pinned, so rules added later cannot change what these tests expect.
SELECT = ["BL101", "BL102", "BL9"]


def run(root: Path, select: list[str] | None = SELECT) -> Report:
    return check([root], Config(root=root.resolve(), select=select))


def sarif_of(root: Path) -> dict:
    return json.loads(render("sarif", run(root)))


def validate(path: Path) -> subprocess.CompletedProcess:
    script = SHARED_SARIF / "validate_sarif.py"
    if not script.is_file():
        pytest.skip(f"shared SARIF validator not found at {script}")
    pytest.importorskip("jsonschema")
    return subprocess.run([sys.executable, str(script), "--strict", str(path)],
                          capture_output=True, text=True)


def results_by_rule(log: dict) -> dict[str, dict]:
    return {result["ruleId"]: result for result in log["runs"][0]["results"]}


# -- SARIF ---------------------------------------------------------------------------------

def test_sarif_passes_the_strict_validator(tmp_path):
    root = project(tmp_path / "proj", {
        "app/db.py": DB_PY,
        "my app/quer\u00e9s.py": DB_PY,  # a space and non-ASCII in the path
        "legacy/blob.py": b"import x\0\0\0",  # BL901 without an engine fingerprint
    })
    out = tmp_path / "results.sarif"
    out.write_text(render("sarif", run(root)), encoding="utf-8")
    completed = validate(out)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "OK (0 errors, 0 warnings)" in completed.stdout


def test_sarif_with_every_rule_passes_the_strict_validator(tmp_path):
    # Every rule in the registry gets a descriptor: their docs, tags and levels must all
    # be acceptable to GitHub, including rules added after this test was written.
    root = project(tmp_path / "proj", {"app/db.py": DB_PY, "q.sql": "SELECT * FROM orders;\n"})
    report = run(root, select=None)
    out = tmp_path / "all.sarif"
    out.write_text(render("sarif", report), encoding="utf-8")
    log = json.loads(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == list(all_rules())
    completed = validate(out)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_sarif_without_findings_passes_the_strict_validator(tmp_path):
    root = project(tmp_path / "clean", {"ok.py": "def f(cur):\n    cur.execute('SELECT 1')\n"})
    report = run(root)
    assert report.findings == []
    out = tmp_path / "clean.sarif"
    out.write_text(render("sarif", report), encoding="utf-8")
    log = json.loads(out.read_text(encoding="utf-8"))
    assert log["runs"][0]["results"] == []
    completed = validate(out)
    assert completed.returncode == 0, completed.stdout


def test_sarif_driver_and_rule_descriptors(tmp_path):
    report = run(project(tmp_path / "p", {"db.py": DB_PY}))
    log = json.loads(render("sarif", report))
    assert log["version"] == "2.1.0" and log["$schema"].startswith("https://")
    run_ = log["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "backendlint"
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")
    # One descriptor per active rule, in id order.
    assert [rule["id"] for rule in driver["rules"]] == sorted(report.active)
    rules = {rule["id"]: rule for rule in driver["rules"]}

    bl101 = rules["BL101"]
    assert bl101["name"] == "sql-string-built"
    assert bl101["shortDescription"]["text"] == report.active["BL101"].meta.summary
    assert bl101["fullDescription"]["text"] and len(bl101["fullDescription"]["text"]) <= 1024
    assert bl101["help"]["markdown"].startswith("# BL101")
    assert bl101["help"]["text"]
    assert bl101["helpUri"] == "https://github.com/backendlint/backendlint/blob/main/docs/rules/BL101.md"
    assert bl101["defaultConfiguration"]["level"] == "error"
    props = bl101["properties"]
    assert props["tags"][:2] == ["security", "external/cwe/cwe-89"]
    assert props["precision"] == "high"
    assert props["problem.severity"] == "error"
    assert props["security-severity"] == "9.5"

    # select-star is not a security rule: no security tag, so no security-severity.
    bl102 = rules["BL102"]
    assert bl102["defaultConfiguration"]["level"] == "note"
    assert "security" not in bl102["properties"]["tags"]
    assert "security-severity" not in bl102["properties"]
    assert bl102["properties"]["problem.severity"] == "recommendation"

    for rule in driver["rules"]:
        assert len(rule["properties"]["tags"]) <= 10


def test_sarif_results(tmp_path):
    report = run(project(tmp_path / "p", {"db.py": DB_PY}))
    log = json.loads(render("sarif", report))
    run_ = log["runs"][0]
    assert run_["columnKind"] == "unicodeCodePoints"
    assert run_["invocations"] == [{"executionSuccessful": True}]
    rule_ids = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    results = results_by_rule(log)
    assert set(results) == {"BL101", "BL102"}
    for rule_id, result in results.items():
        assert rule_ids[result["ruleIndex"]] == rule_id
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "db.py", "uriBaseId": "%SRCROOT%"}
        region = physical["region"]
        assert region["startLine"] == 2 and region["endLine"] == 2
        assert region["endColumn"] > region["startColumn"]
        # The whole line goes in contextRegion; the region itself carries no snippet.
        assert "snippet" not in region
        assert physical["contextRegion"]["snippet"]["text"] == f"    {QUERY}"
        finding = next(f for f in report.findings if f.rule_id == rule_id)
        assert result["partialFingerprints"]["backendlintFingerprint/v1"] == finding.fingerprint
        assert result["partialFingerprints"]["primaryLocationLineHash"] == finding.fingerprint
        assert result["properties"]["confidence"] == finding.confidence.value
    assert results["BL101"]["level"] == "error"
    assert results["BL102"]["level"] == "note"


def test_sarif_columns_count_characters_not_bytes(tmp_path):
    line = f'    label = "caf\u00e9 \u00e9t\u00e9 \U0001F600"; {QUERY}'
    root = project(tmp_path / "p", {"db.py": f"def load(cur, uid):\n{line}\n"})
    region = results_by_rule(sarif_of(root))["BL101"]["locations"][0]["physicalLocation"]["region"]
    start = line.index('f"') + 1  # 1-based, in code points
    assert region["startColumn"] == start
    assert region["endColumn"] == line.index(")", start) + 1  # exclusive end
    # Sanity: in UTF-8 bytes the column would be larger.
    assert len(line[: start - 1].encode()) + 1 > start


def test_sarif_uris_are_percent_encoded_and_resolve(tmp_path):
    root = project(tmp_path / "root dir \u00e9", {"my app/quer\u00e9s #1.py": DB_PY})
    log = sarif_of(root)
    base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    assert "root%20dir%20%C3%A9/" in base
    uri = results_by_rule(log)["BL101"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/quer%C3%A9s%20%231.py"
    # Resolving the relative URI against the base gives back the real file.
    resolved = urljoin(base, uri)
    assert Path(unquote(urlsplit(resolved).path)) == (root / "my app/quer\u00e9s #1.py").resolve()


def test_relative_uri_encoding():
    assert sarif_report.relative_uri("a b/c\u00e9.py") == "a%20b/c%C3%A9.py"
    # A ':' in the first segment would otherwise read as a URI scheme ("c:" or "http:").
    assert sarif_report.relative_uri("c:weird/x.py") == "c%3Aweird/x.py"
    assert sarif_report.relative_uri("100%/q?#.sql") == "100%25/q%3F%23.sql"


def test_sarif_fingerprint_for_a_finding_the_engine_did_not_fingerprint(tmp_path):
    root = project(tmp_path / "p", {"blob.py": b"import x\0\0"})
    results = results_by_rule(sarif_of(root))
    assert results["BL901"]["partialFingerprints"]["backendlintFingerprint/v1"]


def test_sarif_reports_missing_paths_as_unsuccessful(tmp_path):
    root = project(tmp_path / "p", {"db.py": DB_PY})
    report = check([root, root / "nope.py"], Config(root=root.resolve(), select=SELECT))
    assert report.missing
    invocation = json.loads(render("sarif", report))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"


def test_sarif_describes_rules_of_findings_outside_the_selection(tmp_path):
    report = run(project(tmp_path / "p", {"db.py": DB_PY}))
    report.active = {}  # e.g. a library user filtering findings after the run
    log = json.loads(render("sarif", report))
    rule_ids = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert rule_ids == ["BL101", "BL102"]
    for result in log["runs"][0]["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]


# -- every format --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["sarif", "json", "github"])
def test_output_is_deterministic(tmp_path, fmt):
    root = project(tmp_path / "p", {"a.py": DB_PY, "b/c.py": DB_PY + DB_PY.replace("load", "again"),
                                    "q.sql": "SELECT * FROM orders;\n"})
    first, second = render(fmt, run(root)), render(fmt, run(root))
    assert first and first == second
    assert first.endswith("\n")


def test_fingerprints_survive_lines_inserted_above(tmp_path):
    root = project(tmp_path / "p", {"db.py": DB_PY})
    before = results_by_rule(sarif_of(root))
    (root / "db.py").write_text("import os\n\n\n" + DB_PY, encoding="utf-8")
    after = results_by_rule(sarif_of(root))
    for rule_id in ("BL101", "BL102"):
        old, new = before[rule_id], after[rule_id]
        assert new["locations"][0]["physicalLocation"]["region"]["startLine"] == \
            old["locations"][0]["physicalLocation"]["region"]["startLine"] + 3
        assert new["partialFingerprints"] == old["partialFingerprints"]


# -- JSON ----------------------------------------------------------------------------------

def test_json_shape(tmp_path):
    root = project(tmp_path / "p", {"z.py": DB_PY, "caf\u00e9/a.py": DB_PY,
                                    "skipped.py": "x = 1\n"})
    report = run(root)
    text = render("json", report)
    assert text.endswith("}\n")
    assert "caf\u00e9/a.py" in text  # ensure_ascii=False: paths stay readable
    data = json.loads(text)
    assert list(data) == ["version", "tool", "root", "summary", "findings"]
    assert data["version"] == 1
    assert data["tool"] == {"name": "backendlint", "version": __version__}
    assert data["root"] == str(root.resolve())
    assert data["summary"] == {
        "files": report.files,
        "parsed": report.parsed,
        "findings": 4,
        "suppressed": 0,
        "by_severity": {"critical": 2, "high": 0, "medium": 0, "low": 2},
    }
    findings = data["findings"]
    assert [(f["path"], f["rule_id"]) for f in findings] == [
        ("caf\u00e9/a.py", "BL101"), ("caf\u00e9/a.py", "BL102"), ("z.py", "BL101"), ("z.py", "BL102")]
    assert set(findings[0]) == {"rule_id", "rule_name", "severity", "confidence", "path", "line",
                                "column", "end_line", "end_column", "message", "fingerprint"}
    assert findings[0]["severity"] == "critical" and findings[0]["line"] == 2
    assert all(f["fingerprint"] for f in findings)


def test_json_counts_suppressed_findings(tmp_path):
    suppressed = DB_PY.replace(QUERY, QUERY + "  # backendlint: ignore[BL102]")
    data = json.loads(render("json", run(project(tmp_path / "p", {"db.py": suppressed}))))
    assert data["summary"]["suppressed"] == 1
    assert [f["rule_id"] for f in data["findings"]] == ["BL101"]


# -- GitHub annotations --------------------------------------------------------------------

def test_github_annotations_from_a_run(tmp_path):
    text = render("github", run(project(tmp_path / "p", {"db.py": DB_PY})))
    lines = text.splitlines()
    assert len(lines) == 2
    col = DB_PY.splitlines()[1].index('f"') + 1
    assert lines[0].startswith(f"::error file=db.py,line=2,col={col},endLine=2,endColumn=")
    assert ",title=BL101 sql-string-built::SQL built with f-string" in lines[0]
    assert lines[1].startswith("::notice file=db.py,line=2,")
    assert ",title=BL102 select-star::" in lines[1]


def _finding(severity=Severity.HIGH, path="a.py", message="m", **loc) -> Finding:
    location = Location(path, loc.get("line", 3), loc.get("column", 5), loc.get("end_line", 3),
                        loc.get("end_column", 9))
    return Finding("BL999", "made-up", severity, Confidence.HIGH, message, location)


def test_github_escaping():
    finding = _finding(Severity.MEDIUM, path="dir, with: odd%chars/a.py",
                       message="100% wrong:\r\nsee, here::done")
    line = github_report.annotation(finding)
    assert line == ("::warning file=dir%2C with%3A odd%25chars/a.py,line=3,col=5,endLine=3,"
                    "endColumn=9,title=BL999 made-up::100%25 wrong:%0D%0Asee, here::done")
    assert "\n" not in line and "\r" not in line
    assert github_report.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    # '%' is escaped first: an existing escape sequence is not left to be decoded.
    assert github_report.escape_data("%0A") == "%250A"


def test_github_levels_and_multiline_spans():
    assert github_report.annotation(_finding(Severity.CRITICAL)).startswith("::error ")
    assert github_report.annotation(_finding(Severity.HIGH)).startswith("::error ")
    assert github_report.annotation(_finding(Severity.LOW)).startswith("::notice ")
    # Columns only make sense on one line; a multi-line span keeps its lines.
    line = github_report.annotation(_finding(line=3, end_line=6, end_column=2))
    assert line.startswith("::error file=a.py,line=3,endLine=6,title=BL999 made-up::")


# -- the CLI -------------------------------------------------------------------------------

def test_cli_writes_sarif_file_and_prints_summary_on_stderr(tmp_path, capsys):
    root = project(tmp_path / "p", {"db.py": DB_PY})
    out = tmp_path / "out" / "results.sarif"
    code = main(["check", str(root), "--select", ",".join(SELECT), "--output-format", "sarif",
                 "-o", str(out), "--color", "never"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "2 findings" in captured.err
    log = json.loads(out.read_text(encoding="utf-8"))
    assert set(results_by_rule(log)) == {"BL101", "BL102"}


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_cli_prints_format_on_stdout(tmp_path, capsys, fmt):
    root = project(tmp_path / "p", {"db.py": DB_PY})
    code = main(["check", str(root), "--select", ",".join(SELECT), "--output-format", fmt])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == render(fmt, run(root))


# -- secrets -------------------------------------------------------------------------------

def test_redacted_snippet_is_all_any_report_shows(tmp_path):
    """A secret rule hands the engine a redacted snippet; no report may go back to the
    source for the full value."""
    from backendlint.report import console as console_report
    from backendlint.rule import RuleMeta, TextRule
    from backendlint.source import SourceFile

    secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
    text = f"# settings\nSTRIPE_KEY={secret}\n"
    root = project(tmp_path / "p", {".env": text})

    class FakeSecretRule(TextRule):  # stands in for the real secret rules
        meta = RuleMeta(id="BL299", name="fake-secret", severity=Severity.HIGH,
                        confidence=Confidence.HIGH, summary="A hard-coded secret.",
                        cwe=(798,), tags=("security",))

        def check_text(self):
            start = self.file.text.index(secret)
            self.report_span(start, start + len(secret), "hard-coded Stripe key",
                             snippet=f"STRIPE_KEY={secret[:8]}****")

    findings: list[Finding] = []
    FakeSecretRule(SourceFile(root / ".env", ".env", text), {}, findings).check_text()
    assign_fingerprints(findings)
    report = Report(Config(root=root.resolve()), {"BL299": FakeSecretRule}, findings, files=1, parsed=1)

    outputs = {fmt: render(fmt, report) for fmt in ("sarif", "json", "github")}
    buffer = io.StringIO()
    console_report.render(report, console_report.make_console(buffer, "never"))
    outputs["console"] = buffer.getvalue()
    for fmt, output in outputs.items():
        assert secret not in output, fmt
    assert "sk_live_****" in outputs["console"]
    context = json.loads(outputs["sarif"])["runs"][0]["results"][0]["locations"][0][
        "physicalLocation"]["contextRegion"]
    assert context["snippet"]["text"] == "STRIPE_KEY=sk_live_****"
