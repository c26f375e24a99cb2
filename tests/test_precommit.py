"""The pre-commit hook in .pre-commit-hooks.yaml, run for real by pre-commit: a file with
SQL built from a string fails the hook with the BL101 finding, a clean file passes.

pre-commit pip-installs the repository into a fresh environment, so the module installs
once and runs the hook twice. `pre-commit try-repo` cannot share an install (it always
uses a throw-away store and ignores PRE_COMMIT_HOME), so the test does what try-repo does
in two steps: a `.pre-commit-config.yaml` naming the repository at a commit, run with
`pre-commit run --config` and one PRE_COMMIT_HOME for the module. The repository is a
snapshot of the working tree — every file git tracks or would track (not ignored) —
committed in a temporary repository, so the package tested is the one on disk, new
untracked modules included."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BAD = 'def find(cur, uid):\n    cur.execute("SELECT name FROM t WHERE id = " + uid)\n'
CLEAN = 'def find(cur, uid):\n    cur.execute("SELECT name FROM t WHERE id = %s", (uid,))\n'
SPLIT = 16  # files enough for pre-commit to split them over several processes


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    env.pop("GIT_WORK_TREE", None)
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def _init(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "backendlint tests")
    _git(repo, "config", "user.email", "tests@backendlint.invalid")
    _git(repo, "config", "commit.gpgsign", "false")


def _project_files(root: Path) -> list[Path]:
    """The files of the project as a commit of everything would hold them."""
    if (root / ".git").exists():
        listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        return [root / name for name in listed.split("\0") if name and (root / name).is_file()]
    skip = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".backendlint_cache",
            "build", "dist"}
    return [p for p in root.rglob("*") if p.is_file()
            and not skip.intersection(p.relative_to(root).parts)]


def _snapshot(root: Path, target: Path) -> Path:
    _init(target)
    for path in _project_files(root):
        destination = target / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "--no-verify", "-m", "snapshot")
    return target


@pytest.fixture(scope="module")
def hook_run(tmp_path_factory):
    """Runs the hook on one file of a throw-away repository; every call shares one
    pre-commit home, so the environment is built once."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path_factory.mktemp("precommit")
    snapshot = _snapshot(ROOT, base / "backendlint-snapshot")
    work = base / "work"
    _init(work)
    (work / "bad.py").write_text(BAD, encoding="utf-8")
    (work / "clean.py").write_text(CLEAN, encoding="utf-8")
    for n in range(SPLIT):
        (work / "many").mkdir(exist_ok=True)
        (work / "many" / f"bad_{n:02}.py").write_text(BAD, encoding="utf-8")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "--no-verify", "-m", "init")
    rev = _git(snapshot, "rev-parse", "HEAD").strip()
    config = base / "pre-commit-config.yaml"
    config.write_text(f"repos:\n-   repo: {snapshot.as_posix()}\n    rev: {rev}\n"
                      "    hooks:\n    -   id: backendlint\n", encoding="utf-8")
    env = dict(os.environ, PRE_COMMIT_HOME=str(base / "home"), PRE_COMMIT_COLOR="never",
               NO_COLOR="1")
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "PRE_COMMIT", "VIRTUAL_ENV"):
        env.pop(name, None)

    def run(*names: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--config", str(config), "backendlint",
             "--verbose", "--color", "never", "--files", *names],
            cwd=work, env=env, capture_output=True, text=True, check=False, timeout=900)

    return run


def test_hook_definition():
    import yaml

    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "backendlint")
    assert hook["entry"] == "backendlint check --force-exclude"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "pyi", "sql"]
    assert hook["require_serial"] is False


def test_bad_file_fails_with_the_finding(hook_run):
    result = hook_run("bad.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "backendlint" in output and "Failed" in output, output
    assert "BL101" in output and "bad.py" in output, output


def test_clean_file_passes(hook_run):
    result = hook_run("clean.py")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output and "BL101" not in output, output
    assert "Installing environment" not in output, "the hook environment was built twice"


def test_both_files_in_one_run_report_only_the_bad_one(hook_run):
    result = hook_run("bad.py", "clean.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "bad.py" in output and "clean.py" not in output.split("Failed", 1)[1], output
    assert "Installing environment" not in output, "the hook environment was built twice"


def test_files_split_over_several_processes(hook_run):
    # require_serial is false: pre-commit hands each process a share of the files, and
    # every process must report its own share.
    names = [f"many/bad_{n:02}.py" for n in range(SPLIT)] + ["clean.py"]
    result = hook_run(*names)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for name in names[:-1]:
        assert f"{name}\n" in output, f"{name} missing:\n{output}"
    assert "clean.py\n" not in output, output
    assert output.count("BL101") == SPLIT, output
    if (os.cpu_count() or 1) > 1 and "PRE_COMMIT_NO_CONCURRENCY" not in os.environ:
        assert output.count(" findings in ") >= 2, f"pre-commit did not split the files:\n{output}"
