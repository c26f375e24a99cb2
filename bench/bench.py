#!/usr/bin/env python3
"""Speed and memory of backendlint against its peers, measured as ratios in one run.

Downloads pinned corpora from PyPI into a cache folder (sdists only; nothing is run or
imported from them), then times whole processes, alternating tools run by run, and
prints medians, ratios against the goals of the speed issue, and peak memory (the sum
over the whole process tree, sampled every 20 ms).

    python bench/bench.py                 # everything, 5 rounds
    python bench/bench.py --rounds 3 --only django
    PEERS_BIN=/path/to/venv/bin python bench/bench.py   # where bandit/ruff/semgrep/sqlfluff live

Not part of the test suite: timings belong here, never in unit tests."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

CORPORA = {  # name: (PyPI requirement, folder inside the sdist to scan)
    "django": ("django==6.1.3", "."),  # the whole sdist, tests included: 2,912 files
    "sqlalchemy": ("sqlalchemy==2.1.9", "lib/sqlalchemy"),
    "flask": ("flask==3.1.3", "src/flask"),
    "fastapi": ("fastapi==0.165.0", "fastapi"),
    "requests": ("requests==2.34.2", "src/requests"),
    "pglast": ("pglast==8.8", "."),  # PostgreSQL's regression SQL, as shipped in its sdist
}
SEMGREP_RULES = """rules:
  - id: sql-fstring
    languages: [python]
    severity: ERROR
    message: SQL built with an f-string
    pattern: |
      $CUR.execute(f"...")
  - id: sql-concat
    languages: [python]
    severity: ERROR
    message: SQL built with concatenation
    pattern: |
      $CUR.execute("..." + $X)
  - id: jwt-decode-no-verify
    languages: [python]
    severity: ERROR
    message: unverified JWT
    pattern: |
      jwt.decode(..., options={"verify_signature": False}, ...)
  - id: requests-verify-false
    languages: [python]
    severity: ERROR
    message: TLS verification off
    pattern: |
      requests.$M(..., verify=False, ...)
  - id: debug-true
    languages: [python]
    severity: WARNING
    message: debug on
    pattern: |
      $APP.run(..., debug=True, ...)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "BENCH_CACHE", Path.home() / ".cache" / "backendlint-bench")))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=sorted(CORPORA), action="append")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--sqlfluff-timeout", type=int, default=900)
    args = parser.parse_args()

    here = Path(sys.executable).parent
    backendlint = shutil.which("backendlint", path=str(here)) or shutil.which("backendlint")
    if not backendlint:
        sys.exit("backendlint is not installed next to this Python")
    peers_bin = os.environ.get("PEERS_BIN", "")
    peer = {name: shutil.which(name, path=peers_bin or None) or shutil.which(name)
            for name in ("bandit", "ruff", "semgrep", "sqlfluff")}
    if args.skip_peers:
        peer = dict.fromkeys(peer)
    names = args.only or ["django", "sqlalchemy", "flask", "fastapi", "requests", "pglast"]
    trees = {name: fetch(name, args.cache) for name in names}
    print(machine())
    python = Path(backendlint).with_name("python")
    print(f"sqlglot: {sqlglot_build(str(python) if python.exists() else sys.executable)}")
    print(f"backendlint: {version([backendlint, '--version'])}; peers: " + ", ".join(
        f"{k} {version([v, '--version']) if v else 'not installed'}" for k, v in peer.items()))
    print()
    warm_up(backendlint)

    rows: list[tuple[str, str, float, int]] = []
    work = Path(tempfile.mkdtemp(prefix="backendlint-bench-"))
    try:
        for name in names:
            if name == "pglast":
                rows += bench_sql(trees[name], backendlint, peer["sqlfluff"], args, work)
            else:
                rows += bench_python(name, trees[name], backendlint, peer, args, work)
        rows += bench_startup(backendlint, args.rounds)
        rows += bench_big_file(backendlint, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    goals(rows)
    if FAILED:
        print("\nruns that failed (their times are not measurements): "
              + ", ".join(f"{name} exit {code}" for name, code in sorted(FAILED.items())))
    return 0


# -- corpora -------------------------------------------------------------------------

def fetch(name: str, cache: Path) -> Path:
    requirement, inner = CORPORA[name]
    target = cache / requirement.replace("==", "-")
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        download = cache / "downloads"
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--ignore-requires-python", requirement,
                        "-d", str(download)], check=True)
        base = requirement.split("==")[0].replace("-", "_").lower()
        archive = next(p for p in download.iterdir()
                       if p.name.lower().replace("-", "_").startswith(base + "_" + requirement.split("==")[1]))
        unpacked = cache / (".unpack-" + name)
        shutil.rmtree(unpacked, ignore_errors=True)
        if archive.suffix == ".zip":
            zipfile.ZipFile(archive).extractall(unpacked)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        (top,) = list(unpacked.iterdir())
        shutil.move(str(top), str(target))
        shutil.rmtree(unpacked, ignore_errors=True)
    path = target / inner
    return path if path.exists() else target


# -- measuring -------------------------------------------------------------------------

FAILED: dict[str, int] = {}  # command name -> exit code of a run that failed


# Tools run as installed: with their bytecode. A checkout installed in editable mode has
# none until a run writes it, and PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI
# images) would make every run recompile backendlint's modules (0.12 s of `rules`).
RUN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def warm_up(backendlint: str) -> None:
    """One run over the bundled demo (Python and SQL) writes backendlint's bytecode."""
    demo = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
    for command in ([backendlint, "rules"], [backendlint, "check", str(demo), "--no-cache", "-q"]):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=RUN_ENV)


def run(command: list[str], cwd: Path | None = None, timeout: int = 1800) -> tuple[float, int]:
    """(wall seconds, peak resident memory of the whole process tree in bytes); a run that
    exits with 2 or more (a tool error, not findings) is recorded in FAILED."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=RUN_ENV)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(process.pid))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        stop.set()
        return float("inf"), peak[0]
    elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    if process.returncode not in (0, 1):
        FAILED[Path(command[0]).name] = process.returncode
    return elapsed, peak[0]


def tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants. Walks the tree through
    /proc/PID/task/TID/children (a few reads per sample); scanning all of /proc every
    20 ms cost ~4% of a core, which a tool using every core pays and a one-core tool
    (whose spare core absorbs it) does not."""
    if not _HAS_CHILDREN_FILES:
        return _tree_rss_by_scan(root)
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * page
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


_HAS_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def _tree_rss_by_scan(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def alternate(commands: dict[str, tuple[list[str], Path | None, callable]], rounds: int):
    """Run each command `rounds` times, interleaved (A B C A B C ...); medians."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    peaks: dict[str, int] = {k: 0 for k in commands}
    for _ in range(rounds):
        for label, (command, cwd, before) in commands.items():
            if before:
                before()
            elapsed, peak = run(command, cwd)
            times[label].append(elapsed)
            peaks[label] = max(peaks[label], peak)
    return {k: (statistics.median(v), peaks[k]) for k, v in times.items()}


def bench_python(name, tree, backendlint, peer, args, work):
    copy = work / name
    shutil.copytree(tree, copy)
    files = sum(1 for _ in copy.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in copy.rglob("*.py"))
    cache_dir = work / f"{name}-cache"
    target = next(iter(sorted(copy.rglob("*.py"), key=lambda p: -p.stat().st_size)))
    original = target.read_bytes()
    counter = [0]

    def clear_cache():
        shutil.rmtree(cache_dir, ignore_errors=True)

    def edit_one():
        counter[0] += 1
        target.write_bytes(original + f"\n# edit {counter[0]}\n".encode())

    base = [backendlint, "check", ".", "--exit-zero", "-q", "--cache-dir", str(cache_dir)]
    commands = {"backendlint cold": (base, copy, clear_cache)}
    if peer["bandit"]:
        commands["bandit"] = ([peer["bandit"], "-r", ".", "-q", "-f", "json", "-o", os.devnull], copy, None)
    if peer["ruff"]:
        commands["ruff --select S (no cache)"] = ([peer["ruff"], "check", ".", "--select", "S", "--no-cache",
                                                  "--exit-zero", "--quiet"], copy, None)
    if peer["semgrep"]:
        rules = work / "semgrep.yml"
        rules.write_text(SEMGREP_RULES)
        commands["semgrep (5 rules)"] = ([peer["semgrep"], "scan", "--config", str(rules), "--metrics=off",
                                         "--quiet", "--disable-version-check", "."], copy, None)
    print(f"{name}: {files} files, {lines} lines; {args.rounds} rounds")
    results = alternate(commands, args.rounds)
    # Warm, then one edited file against a warm cache.
    subprocess.run(base, cwd=copy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=RUN_ENV)
    results.update(alternate({"backendlint warm": (base, copy, None)}, args.rounds))
    results.update(alternate({"backendlint one file edited": (base, copy, edit_one)}, args.rounds))
    if peer["ruff"]:
        ruff_warm = [peer["ruff"], "check", ".", "--select", "S", "--exit-zero", "--quiet"]
        subprocess.run(ruff_warm, cwd=copy, stdout=subprocess.DEVNULL, env=RUN_ENV)
        results.update(alternate({"ruff --select S (warm)": (ruff_warm, copy, None)}, args.rounds))
    target.write_bytes(original)
    if name == "django":
        double = work / "django-x2"
        shutil.copytree(copy, double / "a", ignore=shutil.ignore_patterns(".ruff_cache"))
        shutil.copytree(copy, double / "b", ignore=shutil.ignore_patterns(".ruff_cache"))
        results.update(alternate({"backendlint cold, tree twice": (
            [backendlint, "check", ".", "--exit-zero", "-q", "--no-cache"], double, None)}, max(1, args.rounds // 2)))
        results.update(alternate({"backendlint cold, no cache": (
            [backendlint, "check", ".", "--exit-zero", "-q", "--no-cache"], copy, None)}, max(1, args.rounds // 2)))
        shutil.rmtree(double, ignore_errors=True)
    rows = []
    for label, (median, peak) in results.items():
        print(f"  {label:34} {median:8.2f} s   {peak / 2**20:7.0f} MB")
        rows.append((name, label, median, peak))
    return rows


def bench_sql(tree, backendlint, sqlfluff, args, work):
    files = sorted(p for p in tree.rglob("*.sql"))
    folder = work / "sql"
    folder.mkdir()
    for index, path in enumerate(files):
        shutil.copy(path, folder / f"{index:04}_{path.name}")
    lines = sum(p.read_bytes().count(b"\n") for p in folder.glob("*.sql"))
    print(f"pglast SQL: {len(files)} files, {lines} lines")
    commands = {"backendlint sql": ([backendlint, "check", ".", "--exit-zero", "-q", "--no-cache"], folder, None)}
    results = alternate(commands, args.rounds)
    if sqlfluff:
        elapsed, peak = run([sqlfluff, "lint", "--dialect", "postgres", "--processes", "2", "."],
                            folder, timeout=args.sqlfluff_timeout)
        results["sqlfluff lint (1 run)"] = (elapsed, peak)
    rows = []
    for label, (median, peak) in results.items():
        print(f"  {label:34} {median:8.2f} s   {peak / 2**20:7.0f} MB")
        rows.append(("pglast", label, median, peak))
    return rows


def bench_startup(backendlint, rounds):
    rows = []
    for label, command in (("--version", [backendlint, "--version"]), ("rules", [backendlint, "rules"])):
        median, peak = alternate({label: (command, None, None)}, max(rounds, 5))[label]
        print(f"startup {label:26} {median:8.3f} s")
        rows.append(("startup", label, median, peak))
    return rows


def bench_big_file(backendlint, work):
    folder = work / "big"
    folder.mkdir()
    chunk = '''
def handler_{i}(cur, request, uid):
    query = "SELECT id, name FROM users WHERE id = " + uid
    cur.execute(query)
    cur.execute("SELECT * FROM orders WHERE user_id = %s", (uid,))
    token = request.headers.get("Authorization")
    if token == "x":
        return [row for row in cur.fetchall()]
    return None

'''
    text = "".join(chunk.format(i=i) for i in range(5_000))
    (folder / "generated.py").write_text(text)
    lines = text.count("\n")
    elapsed, peak = run([backendlint, "check", ".", "--exit-zero", "-q", "--no-cache"], folder)
    print(f"one generated file, {lines} lines: {elapsed:.2f} s, {peak / 2**20:.0f} MB")
    return [("big-file", f"{lines} lines", elapsed, peak)]


def goals(rows) -> None:
    value = {(corpus, label): seconds for corpus, label, seconds, _ in rows}
    peak = {(corpus, label): mem for corpus, label, _, mem in rows}
    checks = []
    cold = value.get(("django", "backendlint cold"))
    if cold:
        for peer_label, limit in (("bandit", 0.20), ("semgrep (5 rules)", 0.5)):
            if ("django", peer_label) in value:
                checks.append((f"cold / {peer_label}", cold / value["django", peer_label], limit))
        warm = value.get(("django", "backendlint warm"))
        ruff = value.get(("django", "ruff --select S (no cache)"))
        if warm and ruff:
            checks.append(("warm / ruff cold", warm / ruff, 3.0))
        edited = value.get(("django", "backendlint one file edited"))
        if warm and edited:
            checks.append(("one file edited / warm", edited / warm, 1.5))
        twice = value.get(("django", "backendlint cold, tree twice"))
        single = value.get(("django", "backendlint cold, no cache"))
        if twice and single:
            checks.append(("tree twice / once (cold)", twice / single, 2.2))
        checks.append(("peak memory, cold (MB)", peak["django", "backendlint cold"] / 2**20, 400))
    sql = value.get(("pglast", "backendlint sql"))
    fluff = value.get(("pglast", "sqlfluff lint (1 run)"))
    if sql and fluff:
        checks.append(("sql / sqlfluff", sql / fluff, 0.05))
    for (corpus, label), seconds in value.items():
        if corpus == "startup":
            checks.append((f"startup {label} (s)", seconds, 0.3))
        if corpus == "big-file":
            checks.append((f"one {label} file (s)", seconds, 10.0))
    print("goal                              measured    limit   met")
    for label, measured, limit in checks:
        print(f"{label:32} {measured:9.3f} {limit:8.2f}   {'yes' if measured <= limit else 'NO'}")


def sqlglot_build(python: str) -> str:
    """Which sqlglot the measured backendlint imports: sqlglotc (compiled) or pure Python."""
    code = "import sqlglot, sqlglot.parser as p; print(sqlglot.__version__, p.__file__.endswith('.py'))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if len(out) != 2:
        return "unknown"
    return f"{out[0]} ({'pure Python' if out[1] == 'True' else 'compiled: sqlglotc active'})"


def machine() -> str:
    import platform

    cpu = "unknown cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
            f"{mem:.0f} GiB; Python {platform.python_version()}")


def version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.splitlines()[0] if out else "?"


if __name__ == "__main__":
    sys.exit(main())
