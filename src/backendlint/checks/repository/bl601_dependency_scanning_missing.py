from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...findings import Confidence, Location, Severity
from ...rule import Option, ProjectRule, RuleMeta

# Tools and CI features that scan Python dependencies for known vulnerabilities, matched as
# whole words (case-insensitive) in CI, pre-commit, tox/nox and task files.
DEFAULT_SCANNERS = [
    "pip-audit", "pip_audit", "safety check", "safety scan", "pyupio/safety", "safety-action",
    "python-safety", "safety==", "safety>=", "\"safety", "'safety", "osv-scanner", "osv_scanner",
    "snyk",
    "dependency-review-action", "dependency-scanning", "dependency_scanning",
    "dependency-check", "trivy", "grype", "uv-secure", "jake", "ochrona", "whitesource",
    "mend-bolt", "socketdev", "semgrep-supply-chain", "auto-devops", "dependabot",
    "id: safety", "entry: safety", "poetry audit", "poetry-audit", "pipenv check", "ossaudit",
]
_DEPENDABOT = (".github/dependabot.yml", ".github/dependabot.yaml")
_RENOVATE = ("renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json",
             ".renovaterc.json5", ".github/renovate.json", ".github/renovate.json5",
             ".gitlab/renovate.json", ".gitlab/renovate.json5")
# Files (globs, relative to a folder between the project root and the repository root)
# whose text may run a scanner.
_CI_GLOBS = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".github/actions/*/action.yml",
             ".github/actions/*/action.yaml", ".gitlab-ci.yml", ".gitlab-ci.yaml", ".gitlab/*.yml",
             ".gitlab/*/*.yml", ".gitlab/*.yaml", ".pre-commit-config.yaml", ".pre-commit-config.yml",
             ".circleci/config.yml", "azure-pipelines.yml", ".azure-pipelines/*.yml",
             "bitbucket-pipelines.yml", "Jenkinsfile", ".travis.yml", ".drone.yml",
             "cloudbuild.yaml", ".buildkite/*.yml", ".woodpecker.yml", ".woodpecker/*.yml")
# Only in the project itself: task runners and tool configuration.
_PROJECT_GLOBS = ("tox.ini", "noxfile.py", "Makefile", "makefile", "justfile", "Taskfile.yml",
                  "pyproject.toml", "setup.cfg", "requirements*.txt", "requirements/*.txt",
                  "requirements/*.in", "*requirements*.in")
_LOCK_FILES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml")
_SKIP_FOLDERS = {"docs", "doc", "examples", "example", "tests", "test", "node_modules", "venv",
                 "env", "build", "dist", "site-packages", "fixtures", "samples", "benchmarks"}
_MAX_READ = 1_000_000


@dataclass
class _Declaration:
    path: str  # relative to the project root
    line: int
    what: str


@dataclass
class _Repository:
    root: Path
    folders: list[Path] = field(default_factory=list)  # project root up to the repository root


class DependencyScanningMissing(ProjectRule):
    """
    ## What it does
    Flags a repository that declares Python dependencies (`pyproject.toml` with
    dependencies, `requirements*.txt`, `setup.py`/`setup.cfg` with `install_requires`,
    `Pipfile`, or a lock file such as `poetry.lock` or `uv.lock`) while nothing scans them
    for known vulnerabilities:

    - no Dependabot configuration (`.github/dependabot.yml`, whatever ecosystems it lists),
      no Renovate configuration (`renovate.json`, `.renovaterc*`, `.github/renovate.json`),
      no `.snyk`, `.pyup.yml` or `.whitesource` file;
    - no scanner in CI (`.github/workflows/*.yml`, `.gitlab-ci.yml` and its includes,
      CircleCI, Azure Pipelines, Bitbucket, Jenkins, Travis): pip-audit, Safety,
      osv-scanner, Snyk, GitHub's dependency-review action, GitLab Dependency Scanning,
      Trivy, Grype...;
    - no such hook in `.pre-commit-config.yaml`, and no such step in `tox.ini`,
      `noxfile.py`, a `Makefile`, or the development dependencies of `pyproject.toml`
      (`pipenv check` and `poetry audit` count too).

    The finding is reported once per repository, at the file that declares the
    dependencies (the `dependencies` of `pyproject.toml` when there are some), and only
    when the checked project is the repository's root (it holds `.git`) or declares the
    dependencies itself. Configuration is looked for in the project and in every folder
    up to the repository root, so a service in a monorepo sees the repository's
    `.github/`; a repository root whose own folder declares nothing is searched one and
    two folders down. An unpacked source distribution (a `PKG-INFO` file and no `.git`)
    is not a repository, since CI and bot configuration are not shipped in it, and is
    not reported.

    ## Why is this bad?
    Most of the code a service runs is its dependencies, and vulnerabilities are found in
    them every week (CWE-1395, OWASP A06 "Vulnerable and Outdated Components"). Without an
    automated scan nobody learns that a pinned version has a published exploit until it is
    used.

    ## Example
    ```text
    requirements.txt        django==3.2.0
    .github/workflows/ci.yml   (tests only)
    ```

    ## Use instead
    ```yaml
    # .github/dependabot.yml
    version: 2
    updates:
      - package-ecosystem: "pip"
        directory: "/"
        schedule:
          interval: "weekly"
    ```
    or a CI step such as `pipx run pip-audit -r requirements.txt`, or the
    `pypa/gh-action-pip-audit` action, or a `pip-audit` hook in `.pre-commit-config.yaml`.

    ## Options
    `scanners`: words (matched case-insensitively as whole words) that mark a dependency
    scanner in CI, pre-commit, tox, nox and Makefile text. Add your in-house tool's name.

    ## References
    - https://cwe.mitre.org/data/definitions/1395.html
    - https://owasp.org/Top10/A06_2021-Vulnerable_and_Outdated_Components/
    - https://docs.github.com/en/code-security/dependabot/dependabot-version-updates/configuration-options-for-the-dependabot.yml-file
    - https://github.com/pypa/pip-audit
    - https://docs.gitlab.com/ee/user/application_security/dependency_scanning/
    """

    meta = RuleMeta(
        id="BL601", name="dependency-scanning-missing", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="Python dependencies are declared but no vulnerability scanner checks them.",
        cwe=(1395,), tags=("security", "supply-chain", "repository"),
    )
    reads_project_files = True
    options = (
        Option("scanners", list, list(DEFAULT_SCANNERS),
               "Words that mark a dependency scanner in CI, pre-commit, tox, nox or Makefile text."),
    )
    needs = ()

    def check_project(self, facts) -> None:
        root = Path(self.file.root)
        repository = _repository(root)
        is_repo_root = (root / ".git").exists()
        if not is_repo_root and (root / "PKG-INFO").is_file():
            # An unpacked source distribution: its repository's CI and bot configuration
            # are not shipped in it, so there is nothing to judge.
            facts.notes.append("BL601: the project is a source distribution (PKG-INFO), not a "
                               "repository; not checked")
            return
        declarations = _declarations(root, root)
        if not declarations and is_repo_root:  # a monorepo: services one or two levels down
            subfolders = _subfolders(root)
            for sub in subfolders:
                declarations.extend(_declarations(root, sub))
            for sub in subfolders if not declarations else ():
                for inner in _subfolders(sub):
                    declarations.extend(_declarations(root, inner))
        if not declarations:
            return
        found = self._scanner(root, repository)
        if found:
            facts.notes.append(f"BL601: dependencies are scanned ({found})")
            return
        first = declarations[0]
        where = _suggestion(repository)
        files = ", ".join(dict.fromkeys(d.path for d in declarations[:4]))
        self.report_at(
            Location(first.path, first.line),
            f"this repository declares Python dependencies ({files}) but nothing scans them "
            f"for known vulnerabilities: {where}")

    def _scanner(self, root: Path, repository: _Repository) -> str | None:
        for folder in repository.folders:
            for name in _DEPENDABOT:
                if (folder / name).is_file():
                    return name
            for name in _RENOVATE:
                if (folder / name).is_file():
                    return name
            for name in (".snyk", ".pyup.yml", ".pyup.yaml", ".whitesource"):
                if (folder / name).is_file():
                    return name
            package = folder / "package.json"
            if package.is_file() and '"renovate"' in _read(package):
                return "package.json renovate"
        words = [w for w in self.option("scanners") if w.strip()]
        if not words:
            return None
        pattern = re.compile("|".join(_word(w.strip()) for w in words), re.IGNORECASE)
        candidates: list[Path] = []
        for folder in repository.folders:
            for glob in _CI_GLOBS:
                candidates.extend(sorted(folder.glob(glob)))
        for glob in _PROJECT_GLOBS:
            candidates.extend(sorted(root.glob(glob)))
        for path in candidates:
            if not path.is_file():
                continue
            match = pattern.search(_read(path))
            if match:
                return f"{match.group(0)} in {_rel(path, root)}"
        return None


def _word(word: str) -> str:
    """A whole-word pattern: no letter or digit may touch the word where it starts or ends
    with one (`pip-audit` in `gh-action-pip-audit`, but not `safety` in `unsafety`)."""
    left = r"(?<![A-Za-z0-9])" if word[:1].isalnum() else ""
    right = r"(?![A-Za-z0-9])" if word[-1:].isalnum() else ""
    return left + re.escape(word) + right


def _repository(root: Path) -> _Repository:
    """The folders from the project root up to the repository root (the nearest one holding
    `.git`); just the project root when it is in no repository."""
    folders = [root]
    for parent in root.parents:
        if (folders[-1] / ".git").exists():
            break
        folders.append(parent)
    if not (folders[-1] / ".git").exists():
        folders = [root]
    return _Repository(folders[-1], folders)


def _subfolders(root: Path) -> list[Path]:
    try:
        entries = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in entries if not p.name.startswith((".", "_")) and p.name.lower() not in _SKIP_FOLDERS]


def _declarations(root: Path, folder: Path) -> list[_Declaration]:
    """The files of `folder` that declare Python dependencies, best place to report first."""
    out: list[_Declaration] = []
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        line = _pyproject_dependencies(_read(pyproject))
        if line:
            out.append(_Declaration(_rel(pyproject, root), line, "pyproject.toml"))
    for name in ("setup.cfg", "setup.py"):
        path = folder / name
        if path.is_file():
            text = _read(path)
            match = re.search(r"^.*\binstall_requires\b", text, re.MULTILINE)
            if match:
                out.append(_Declaration(_rel(path, root), text.count("\n", 0, match.start()) + 1, name))
    requirements = sorted(folder.glob("requirements*.txt")) + sorted(folder.glob("requirements/*.txt"))
    requirements.sort(key=lambda p: (p.name != "requirements.txt", p.as_posix()))
    for path in requirements:
        if path.is_file() and _first_requirement(_read(path)):
            out.append(_Declaration(_rel(path, root), 1, path.name))
    for name in ("Pipfile",) + _LOCK_FILES:
        path = folder / name
        if path.is_file():
            out.append(_Declaration(_rel(path, root), 1, name))
    return out


def _pyproject_dependencies(text: str) -> int | None:
    """The line to report in a pyproject.toml that declares dependencies, or None."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(text)
    except Exception:
        return None
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    declared = bool(project.get("dependencies")) or bool(project.get("optional-dependencies")) \
        or bool(data.get("dependency-groups"))
    poetry_deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(poetry_deps, dict) and set(poetry_deps) - {"python"}:
        declared = True
    if isinstance(poetry, dict) and any(isinstance(g, dict) and g.get("dependencies")
                                        for g in (poetry.get("group") or {}).values()):
        declared = True
    if not declared:
        return None
    lines = text.splitlines()
    section = ""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header and not stripped.startswith("[["):
            section = f"[{header.group(1)}]"
            if section in ("[tool.poetry.dependencies]", "[dependency-groups]"):
                return number
            continue
        if section == "[project]" and re.match(r"(dependencies|optional-dependencies)\s*=", stripped):
            return number
    for number, line in enumerate(lines, start=1):
        if re.match(r"\[\s*(project|tool\.poetry)\s*\]", line.strip()):
            return number
    return 1


def _first_requirement(text: str) -> int | None:
    """The line of the first requirement (or `-r other.txt` include) of a requirements file."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if stripped and (not stripped.startswith("-") or stripped.startswith(("-r", "-c", "-e"))):
            return number
    return None


def _suggestion(repository: _Repository) -> str:
    if any((folder / ".gitlab-ci.yml").is_file() for folder in repository.folders):
        return ("include GitLab's `Jobs/Dependency-Scanning.gitlab-ci.yml` template or run "
                "`pip-audit` in `.gitlab-ci.yml`")
    if any((folder / ".github").is_dir() for folder in repository.folders) or not any(
            (folder / ".pre-commit-config.yaml").is_file() for folder in repository.folders):
        return ("add `.github/dependabot.yml` (package-ecosystem `pip`), Renovate, or a "
                "`pip-audit` step (`pypa/gh-action-pip-audit`) in `.github/workflows`")
    return "add a `pip-audit` hook to `.pre-commit-config.yaml`, or Dependabot/Renovate"


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(_MAX_READ).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
