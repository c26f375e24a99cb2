"""The secret and password rules (BL201-BL204): the knowledge bases' examples run through
the matchers, the value checks the rules rely on, the engine hook that gives BL201 both
Python and configuration files, and redaction — no output format may print a planted
secret in full."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backendlint import knowledge
from backendlint.config import Config
from backendlint.discovery import SourcePath, classify
from backendlint.engine import Setup, analyse_file
from backendlint.findings import Confidence
from backendlint.python import secrets_helpers as sh

SECRETS = knowledge.load("secrets")
HASHING = knowledge.load("password_hashing")


def _findings(tmp_path: Path, name: str, text: str, rules: list[str]):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    setup = Setup.build(Config(root=tmp_path, select=rules))
    return analyse_file(SourcePath(name, path, classify(path)), setup).findings


# -- knowledge -------------------------------------------------------------------------

@pytest.mark.parametrize("entry", SECRETS["token"], ids=lambda e: e["name"])
def test_token_format_examples(entry):
    assert entry["match"] and entry["no_match"], entry["name"]
    for example in entry["match"]:
        names = {m.format.name for m in sh.find_tokens(example)}
        assert entry["name"] in names, (entry["name"], example)
    for example in entry["no_match"]:
        names = {m.format.name for m in sh.find_tokens(example)}
        assert entry["name"] not in names, (entry["name"], example)


def test_token_words_are_lowercase_and_in_examples():
    for entry in SECRETS["token"]:
        assert entry["words"], entry["name"]
        for word in entry["words"]:
            assert word == word.lower()
        for example in entry["match"]:
            assert any(w in example.lower() for w in entry["words"] + entry.get("context", [])), example


def test_bl201_triggers_include_every_token_word():
    from backendlint.checks.auth.bl201_hardcoded_secret import HardcodedSecret

    for entry in SECRETS["token"]:
        assert set(entry["words"]) <= set(HardcodedSecret.meta.triggers), entry["name"]


@pytest.mark.parametrize("entry", SECRETS["password_argument"], ids=lambda e: ",".join(
    e.get("qualnames", e.get("methods", [])))[:40])
def test_password_argument_examples(tmp_path, entry):
    for example in entry["match"]:
        assert _findings(tmp_path, "example.py", example, ["BL201"]), example
    for example in entry["no_match"]:
        assert not _findings(tmp_path, "example.py", "import os\n" + example, ["BL201"]), example


_HASHING_ENTRIES = [(table, entry) for table, entries in HASHING.items() for entry in entries
                    if "match" in entry]


@pytest.mark.parametrize("table,entry", _HASHING_ENTRIES,
                         ids=[f"{t}-{i}" for i, (t, _) in enumerate(_HASHING_ENTRIES)])
def test_password_hashing_examples(tmp_path, table, entry):
    for example in entry["match"]:
        found = _findings(tmp_path, "example.py", example, ["BL202"])
        assert any(f.rule_id == "BL202" for f in found), example
    for example in entry["no_match"]:
        found = _findings(tmp_path, "example.py", example, ["BL202"])
        assert not found, (example, [f.message for f in found])


# -- names and values ------------------------------------------------------------------

@pytest.mark.parametrize("name,category", [
    ("SECRET_KEY", sh.KEY), ("password", sh.PASSWORD), ("db_passwd", sh.PASSWORD),
    ("apiKey", sh.KEY), ("client_secret", sh.KEY), ("aws_secret_access_key", sh.KEY),
    ("private_key", sh.KEY), ("access_token", sh.TOKEN), ("MAIL_PASSWORD", sh.PASSWORD),
    ("smtp_pass", sh.PASSWORD),
])
def test_secret_names(name, category):
    found = sh.classify_name(name)
    assert found is not None and found.category == category


@pytest.mark.parametrize("name", [
    "password_hash", "hashed_password", "token_type", "api_key_id", "secret_name",
    "PASSWORD_RESET_TIMEOUT", "has_password", "AWS_ACCESS_KEY_ID", "token_url", "bypass",
    "PASSWORD_HASHERS", "secrets", "password_min_length", "key",
])
def test_fact_names_are_not_secrets(name):
    assert sh.classify_name(name) is None


@pytest.mark.parametrize("value,category,name", [
    ("Bearer", sh.TOKEN, "token"), ("NextToken", sh.TOKEN, "next_token"),
    ("password", sh.PASSWORD, "password"), ("new_password1", sh.PASSWORD, "password"),
    ("", sh.PASSWORD, "password"), ("changeme", sh.KEY, "api_key"),
    ("<your-key>", sh.KEY, "api_key"), ("xxx", sh.KEY, "api_key"), ("${VAR}", sh.KEY, "api_key"),
    ("%(x)s", sh.PASSWORD, "password"), ("your-api-key-here", sh.KEY, "api_key"),
    ("DB_PASSWORD", sh.PASSWORD, "password"), ("Enter your password:", sh.PASSWORD, "password"),
    ("https://example.com/token", sh.TOKEN, "token_endpoint"), ("/etc/keys/jwt.pem", sh.KEY, "private_key"),
    ("X-API-Key", sh.KEY, "api_key_header"), ("abc", sh.PASSWORD, "password"),
])
def test_values_that_are_not_secrets(value, category, name):
    assert sh.judge_value(value, category, name) is None


@pytest.mark.parametrize("value,category", [
    ("hunter2-Prod!", sh.PASSWORD), ("c81f2e0b9d7a44e6b35f0a9e7d2c61b8", sh.KEY),
    ("a1b2c3d4e5f6a7b8c9d0", sh.TOKEN),
])
def test_values_that_are_secrets(value, category):
    assert sh.judge_value(value, category, "x") == Confidence.HIGH


def test_strong_names_take_any_real_value():
    assert sh.judge_value("secret", sh.KEY, "SECRET_KEY", strong=True) == Confidence.MEDIUM
    assert sh.judge_value("changeme", sh.KEY, "SECRET_KEY", strong=True) is None
    assert sh.judge_value("SECRET_KEY", sh.KEY, "SECRET_KEY", strong=True) is None


def test_url_credentials():
    (cred,) = sh.url_credentials("postgresql://app:S3cr3t-pw@db.internal:5432/app")
    assert cred.password == "S3cr3t-pw" and cred.confidence == Confidence.HIGH
    assert not sh.url_credentials("postgresql://scott:tiger@localhost/test")
    assert not sh.url_credentials("postgresql://{user}:{password}@{host}/db")
    assert not sh.url_credentials("postgresql://app@db.internal/app")
    assert not sh.url_credentials("https://example.com/a:b@c")  # no credentials: a path


def test_redacted_never_shows_the_whole_value():
    for value in ("abc", "root", "hunter22", "c81f2e0b9d7a44e6b35f0a9e7d2c61b8"):
        shown = sh.redacted(value)
        assert value not in shown and f"({len(value)} chars)" in shown
    assert sh.redacted("c81f2e0b9d7a44e6").startswith("c81f")


# -- engine: one rule, two kinds of files ----------------------------------------------

def test_bl201_runs_on_python_and_config_files():
    setup = Setup.build(Config(root=Path("."), select=["BL201"]))
    assert [r.meta.id for r in setup.python_rules] == ["BL201"]
    assert [r.meta.id for r in setup.text_rules] == ["BL201"]
    assert "akia" in setup.text_triggers and "ghp_" in setup.python_triggers


def test_prefilter_lets_a_config_file_with_only_a_token_through(tmp_path):
    found = _findings(tmp_path, "deploy.yaml", "image: app\nx: AKIAZZZZABCDEFGH1234\n", ["BL201"])
    assert [(f.location.line, f.location.column) for f in found] == [(2, 4)]


def test_config_findings_are_located_on_the_value(tmp_path):
    env = _findings(tmp_path, ".env", "# comment\nDEBUG=0\nSECRET_KEY=a7f3c91e5b2d48f6a0c3e7b9d1f5a2c8\n",
                    ["BL201"])
    assert [(f.location.line, f.location.column, f.location.end_column) for f in env] == [(3, 12, 44)]
    yaml = _findings(tmp_path, "app.yaml", "db:\n  password: \"Tr0mb0ne-Glacier-88\"\n", ["BL201"])
    assert [(f.location.line, f.location.column) for f in yaml] == [(2, 14)]
    data = '{\n  "service": {\n    "api_key": "9f4b2c7e1a3d8f60b5e2c4a7d9f1e3b6",\n    "api_key_id": "abc"\n  }\n}\n'
    found = _findings(tmp_path, "settings.json", data, ["BL201"])
    assert [(f.location.line, f.location.column) for f in found] == [(3, 17)]
    token = _findings(tmp_path, "ci.json", '{"env": {"T": "ghp_0123456789abcdefghijABCDEFGHIJklmnop"}}', ["BL201"])
    assert [(f.location.line, f.location.column, f.location.end_column) for f in token] == [(1, 16, 56)]


def test_example_config_files_report_tokens_only(tmp_path):
    text = "SECRET_KEY=a7f3c91e5b2d48f6a0c3e7b9d1f5a2c8\nGH=ghp_0123456789abcdefghijABCDEFGHIJklmnop\n"
    found = _findings(tmp_path, ".env.example", text, ["BL201"])
    assert [f.location.line for f in found] == [2]


def test_other_rules_snippets_are_redacted_too(tmp_path):
    code = ("import jwt\n"
            "def issue(user):\n"
            "    return jwt.encode({'sub': user}, 'Zq8-signing-Key-4471', algorithm='HS256')\n")
    from backendlint.registry import all_rules

    rules = ["BL201"] + [r for r in ("BL205",) if r in all_rules()]
    found = _findings(tmp_path, "tokens.py", code, rules)
    assert any(f.rule_id == "BL201" for f in found)
    for finding in found:
        assert "Zq8-signing-Key-4471" not in finding.snippet + finding.message, finding.rule_id


# -- redaction end to end ----------------------------------------------------------------

PLANTED = {
    "py_key": "c81f2e0b9d7a44e6b35f0a9e7d2c61b8",
    "py_password": "Wint3r-Harb0ur-77",
    "py_url_password": "Pr0d-Db-Passw0rd",
    "py_github": "ghp_0123456789abcdefghijABCDEFGHIJklmnop",
    "py_jwt_key": "Zq8-signing-Key-4471",
    "py_split": "Spl1t-Acr0ss-L1nes-Secret-9",
    "env_key": "a7f3c91e5b2d48f6a0c3e7b9d1f5a2c8",
    "env_stripe": "sk_live_0123456789abcdefghijABCD",
    "yaml_password": "Tr0mb0ne-Glacier-88",
    "yaml_slack": "xoxb-0123456789-0123456789-abcdefghijABCDEFGHIJklmn",
    "json_key": "9f4b2c7e1a3d8f60b5e2c4a7d9f1e3b6",
    "json_google": "AIza0123456789abcdefghijABCDEFGHIJklmno",
    "toml_password": "Gl4cier-Tromb0ne-99",
    "ini_password": "Sm7p-R3lay-Passw0rd",
}


def _project(root: Path) -> None:
    p = PLANTED
    (root / "pyproject.toml").write_text("[project]\nname = 'planted'\n", encoding="utf-8")
    (root / "app.py").write_text(
        "import jwt\n"
        "import psycopg2\n"
        f"SECRET_KEY = \"{p['py_key']}\"\n"
        f"DB_PASSWORD = \"{p['py_password']}\"\n"
        f"DATABASE_URL = \"postgresql://app:{p['py_url_password']}@db.prod.internal/app\"\n"
        f"GH = '{p['py_github']}'\n"
        "def issue(user):\n"
        f"    return jwt.encode({{'sub': user}}, '{p['py_jwt_key']}', algorithm='HS256')\n"
        "def connect():\n"
        "    return psycopg2.connect(host='db', user='app',\n"
        f"                            password=('{p['py_split'][:12]}'\n"
        f"                                      '{p['py_split'][12:]}'))\n",
        encoding="utf-8")
    (root / ".env").write_text(f"SECRET_KEY={p['env_key']}\nSTRIPE={p['env_stripe']}\n", encoding="utf-8")
    (root / "config.yaml").write_text(
        f"db:\n  password: {p['yaml_password']}\nslack:\n  bot: \"{p['yaml_slack']}\"\n", encoding="utf-8")
    (root / "settings.json").write_text(json.dumps(
        {"api_key": p["json_key"], "maps": {"key": p["json_google"]}}, indent=2), encoding="utf-8")
    (root / "settings.toml").write_text(f"[db]\npassword = \"{p['toml_password']}\"\n", encoding="utf-8")
    (root / "deploy.ini").write_text(f"[smtp]\npassword = {p['ini_password']}\n", encoding="utf-8")


def _backendlint() -> list[str]:
    folder = Path(sys.executable).parent
    script = folder / "backendlint"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "backendlint"]


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "github"])
def test_no_output_format_prints_a_planted_secret(tmp_path, fmt):
    root = tmp_path / "proj"
    root.mkdir()
    _project(root)
    out_file = tmp_path / f"report.{fmt}"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="250")
    runs = [
        subprocess.run([*_backendlint(), "check", "--no-cache", "--select", "ALL",
                        "--output-format", fmt, "."], cwd=root, env=env, capture_output=True,
                       text=True, timeout=300),
        subprocess.run([*_backendlint(), "check", "--no-cache", "--select", "ALL",
                        "--output-format", fmt, "-o", str(out_file), "."], cwd=root, env=env,
                       capture_output=True, text=True, timeout=300),
    ]
    texts = [r.stdout + r.stderr for r in runs] + [out_file.read_text(encoding="utf-8")]
    assert runs[0].returncode == 1, texts[0]
    everything = "\n".join(texts)
    for label, secret in PLANTED.items():
        assert secret not in everything, f"{label} printed in full ({fmt})"
    # every planted secret was found: its redacted form is in the report
    if fmt in ("console", "json", "sarif"):
        report = texts[0]
        for label in ("app.py", ".env", "config.yaml", "settings.json", "settings.toml", "deploy.ini"):
            assert label in report, (label, report[:2000])
    if fmt == "json":
        data = json.loads(runs[0].stdout)
        items = data["findings"] if isinstance(data, dict) else data
        bl201 = [f for f in items if f["rule_id"] == "BL201"]
        assert len(bl201) >= len(PLANTED), [(f["path"], f["line"]) for f in bl201]
