"""Repository-level rules (BL601) and BL305 cases that fixture folders cannot express:
a `.git` marker, a monorepo whose CI lives above the project, source distributions,
findings in files the run does not read (requirements.txt), named-file runs, options."""
from __future__ import annotations

from pathlib import Path

from backendlint.config import Config
from backendlint.engine import check


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _run(root: Path, select: list[str], paths=None, **options):
    config = Config(root=root, select=select)
    if options:
        config.rule_options = {select[0]: {k.replace("_", "-"): v for k, v in options.items()}}
    report = check(paths or [root], config)
    return [(f.rule_id, f.location.path, f.location.line) for f in report.findings]


PYPROJECT = '[project]\nname = "svc"\nversion = "1"\ndependencies = [\n    "flask",\n]\n'
REQUIREMENTS = "# pinned\n\ndjango==5.0.1\ngunicorn==22.0.0\n"


def test_pyproject_without_scanner(tmp_path):
    _write(tmp_path, {"pyproject.toml": PYPROJECT, "app.py": "x = 1\n"})
    assert _run(tmp_path, ["BL601"]) == [("BL601", "pyproject.toml", 4)]


def test_requirements_only_is_reported_in_requirements(tmp_path):
    _write(tmp_path, {"requirements.txt": REQUIREMENTS, "app.py": "x = 1\n"})
    assert _run(tmp_path, ["BL601"]) == [("BL601", "requirements.txt", 1)]


def test_requirements_finding_dropped_for_named_files(tmp_path):
    # pre-commit passes staged files: findings are kept for those only.
    _write(tmp_path, {"requirements.txt": REQUIREMENTS, "app.py": "x = 1\n"})
    assert _run(tmp_path, ["BL601"], paths=[tmp_path / "app.py"]) == []


def test_requirements_finding_dropped_outside_checked_folder(tmp_path):
    _write(tmp_path, {"requirements.txt": REQUIREMENTS, "src/app.py": "x = 1\n"})
    assert _run(tmp_path, ["BL601"], paths=[tmp_path / "src"]) == []


def test_scanners_silence(tmp_path):
    cases = {
        ".github/dependabot.yml": "version: 2\nupdates: []\n",
        ".github/workflows/audit.yml": "jobs:\n  a:\n    steps:\n      - run: pipx run pip-audit\n",
        ".pre-commit-config.yaml": "repos:\n  - repo: https://github.com/pypa/pip-audit\n",
        ".gitlab-ci.yml": "include:\n  - template: Security/Dependency-Scanning.gitlab-ci.yml\n",
        "renovate.json": "{}\n",
        "tox.ini": "[testenv:audit]\ncommands = safety check -r requirements.txt\n",
        "noxfile.py": "def audit(session):\n    session.run('osv-scanner', '-r', '.')\n",
    }
    for index, (name, text) in enumerate(cases.items()):
        root = tmp_path / f"repo{index}"
        _write(root, {"pyproject.toml": PYPROJECT, name: text})
        assert _run(root, ["BL601"]) == [], name


def test_unrelated_words_do_not_count_as_scanners(tmp_path):
    _write(tmp_path, {"pyproject.toml": PYPROJECT,
                      "tox.ini": "[testenv]\npassenv = OBJC_DISABLE_INITIALIZE_FORK_SAFETY\n",
                      ".github/workflows/ci.yml": "name: type safety\njobs: {}\n"})
    assert _run(tmp_path, ["BL601"]) == [("BL601", "pyproject.toml", 4)]


def test_custom_scanner_option(tmp_path):
    _write(tmp_path, {"pyproject.toml": PYPROJECT,
                      ".github/workflows/ci.yml": "steps:\n  - run: acme-depcheck .\n"})
    assert _run(tmp_path, ["BL601"], scanners=["acme-depcheck"]) == []


def test_monorepo_config_at_repository_root(tmp_path):
    (tmp_path / ".git").mkdir()
    _write(tmp_path, {".github/dependabot.yml": "version: 2\n",
                      "services/api/pyproject.toml": PYPROJECT})
    assert _run(tmp_path / "services" / "api", ["BL601"]) == []


def test_repository_root_with_dependencies_in_a_subfolder(tmp_path):
    (tmp_path / ".git").mkdir()
    _write(tmp_path, {"backend/pyproject.toml": PYPROJECT, "README.md": "hi\n"})
    assert _run(tmp_path, ["BL601"]) == [("BL601", "backend/pyproject.toml", 4)]


def test_no_dependencies_no_finding(tmp_path):
    _write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = "1"\n',
                      "requirements.txt": "# nothing yet\n"})
    assert _run(tmp_path, ["BL601"]) == []


def test_not_repository_root_without_dependencies(tmp_path):
    _write(tmp_path, {"pyproject.toml": PYPROJECT, "sub/app.py": "x = 1\n"})
    assert _run(tmp_path / "sub", ["BL601"]) == []


def test_source_distribution_is_not_a_repository(tmp_path):
    _write(tmp_path, {"pyproject.toml": PYPROJECT, "PKG-INFO": "Metadata-Version: 2.1\n"})
    assert _run(tmp_path, ["BL601"]) == []


# -- BL305 -------------------------------------------------------------------------------

FLASK_APP = "from flask import Flask\n\napp = Flask(__name__)\n"
NOSNIFF_HOOK = ("@app.after_request\ndef h(r):\n    r.headers['X-Content-Type-Options'] = 'nosniff'\n"
                "    return r\n")


def test_required_headers_option(tmp_path):
    _write(tmp_path, {"web/app.py": FLASK_APP + NOSNIFF_HOOK})
    assert _run(tmp_path, ["BL305"]) == [("BL305", "web/app.py", 3)]
    assert _run(tmp_path, ["BL305"], required_headers=["nosniff"]) == []


def test_header_middleware_option(tmp_path):
    _write(tmp_path, {"web/app.py": FLASK_APP + "from acme.web import Armor\nArmor(app)\n"})
    assert _run(tmp_path, ["BL305"]) == [("BL305", "web/app.py", 3)]
    assert _run(tmp_path, ["BL305"], header_middleware=["armor"]) == []


def test_django_settings_chain(tmp_path):
    base = ("INSTALLED_APPS = ['django.contrib.auth']\nROOT_URLCONF = 'site.urls'\n"
            "MIDDLEWARE = ['django.middleware.common.CommonMiddleware']\n")
    prod = ("from .common import *\n\nMIDDLEWARE = ['django.middleware.security.SecurityMiddleware',"
            " 'csp.middleware.CSPMiddleware'] + MIDDLEWARE\nMIDDLEWARE.append("
            "'django.middleware.clickjacking.XFrameOptionsMiddleware')\nSECURE_HSTS_SECONDS = 600\n")
    _write(tmp_path, {"site/settings/__init__.py": "", "site/settings/common.py": base,
                      "site/settings/prod.py": prod})
    assert _run(tmp_path, ["BL305"]) == []
    _write(tmp_path, {"site/settings/prod.py": prod.replace("SECURE_HSTS_SECONDS = 600", "SECURE_HSTS_SECONDS = 0")})
    assert _run(tmp_path, ["BL305"]) == [("BL305", "site/settings/prod.py", 3)]


def test_django_dynamic_middleware_is_not_judged(tmp_path):
    settings = ("INSTALLED_APPS = ['django.contrib.auth']\nROOT_URLCONF = 'site.urls'\n"
                "MIDDLEWARE = build_middleware()\n")
    _write(tmp_path, {"site/settings.py": settings})
    assert _run(tmp_path, ["BL305"]) == []


def test_django_split_settings_is_not_judged(tmp_path):
    _write(tmp_path, {
        "site/settings/__init__.py": "from split_settings.tools import include\n\ninclude('components/*.py')\n",
        "site/settings/components/common.py": "INSTALLED_APPS = ['django.contrib.auth']\n"
                                              "ROOT_URLCONF = 'site.urls'\n"
                                              "MIDDLEWARE = ['django.middleware.common.CommonMiddleware']\n"})
    assert _run(tmp_path, ["BL305"]) == []


def test_application_mounted_from_another_module(tmp_path):
    _write(tmp_path, {
        "gateway/__init__.py": "",
        "gateway/admin.py": "from starlette.applications import Starlette\n\napp = Starlette()\n",
        "gateway/main.py": "from fastapi import FastAPI\n\nfrom .admin import app as admin_app\n\n"
                           "app = FastAPI()\napp.mount('/admin', admin_app)\n"})
    assert _run(tmp_path, ["BL305"]) == [("BL305", "gateway/main.py", 5)]


def test_production_settings_inherited_by_staging_are_reported(tmp_path):
    prod = ("INSTALLED_APPS = ['django.contrib.auth']\nROOT_URLCONF = 'site.urls'\n"
            "MIDDLEWARE = ['django.middleware.common.CommonMiddleware']\n")
    _write(tmp_path, {"site/settings/__init__.py": "", "site/settings/production.py": prod,
                      "site/settings/staging.py": "from .production import *\n\nDEBUG = False\n"})
    assert _run(tmp_path, ["BL305"]) == [("BL305", "site/settings/production.py", 3),
                                         ("BL305", "site/settings/staging.py", 1)]
