#!/usr/bin/env python3
"""Crash-free on real code: run every rule over the sources of popular PyPI projects and
report files, time, internal errors (BL900), parse errors (BL901) and the slowest files.

    python bench/crashfree.py                     # the pinned corpus in bench/crashfree-corpus.txt
    python bench/crashfree.py --only django flask
    python bench/crashfree.py --timeout 20        # seconds per file before it counts as a hang

Sdists are downloaded from PyPI into a cache folder; nothing in them is imported or run.
Target: zero BL900, zero hangs, and every BL901 a genuine syntax error of the input
(Python 2 files, deliberately broken test data). Not part of the test suite."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


class Hang(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE / "crashfree-corpus.txt")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "BENCH_CACHE", Path.home() / ".cache" / "backendlint-bench")) / "crashfree")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--slowest", type=int, default=10)
    args = parser.parse_args()

    from backendlint.config import Config
    from backendlint.discovery import discover
    from backendlint.engine import Setup, analyse_file, finalize

    pins = [line.split("#")[0].strip() for line in args.corpus.read_text().splitlines()]
    pins = [p for p in pins if p and (not args.only or p.split("==")[0] in args.only)]
    totals: Counter = Counter()
    internal, parse_errors, slow = [], [], []
    start_all = time.perf_counter()
    for pin in pins:
        tree = fetch(pin, args.cache)
        config = Config(root=tree, select=["ALL"])
        setup = Setup.build(config)
        try:
            found = discover([tree], config)
        except Exception as exc:  # the engine must not fail here: count it, go on
            internal.append(f"{pin}: discovery failed: {type(exc).__name__}: {exc}")
            totals["BL900"] += 1
            continue
        start = time.perf_counter()
        counts: Counter = Counter()
        for source in found.files:
            began = time.perf_counter()
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(args.timeout)
            try:
                result = analyse_file(source, setup)
                kept, _ = finalize(result, [], setup)
            except Hang:
                counts["hangs"] += 1
                internal.append(f"{pin} {source.relpath}: no result after {args.timeout} s")
                continue
            finally:
                signal.alarm(0)
            elapsed = time.perf_counter() - began
            slow.append((elapsed, f"{pin} {source.relpath}"))
            counts["files"] += 1
            for finding in kept:
                counts[finding.rule_id] += 1
                if finding.rule_id == "BL900":
                    internal.append(f"{pin} {source.relpath}:{finding.location.line}: {finding.message}")
                elif finding.rule_id == "BL901":
                    parse_errors.append(f"{pin} {source.relpath}:{finding.location.line}: {finding.message}")
        seconds = time.perf_counter() - start
        totals.update(counts)
        totals["seconds"] += seconds
        print(f"{pin:34} {counts['files']:6} files {seconds:7.1f} s  BL900 {counts['BL900']:3}  "
              f"BL901 {counts['BL901']:4}  findings {sum(v for k, v in counts.items() if k.startswith('BL')):6}",
              flush=True)
    print(f"\n{len(pins)} projects, {totals['files']} files, {totals['seconds']:.1f} s of analysis "
          f"({time.perf_counter() - start_all:.1f} s with downloads); BL900: {totals['BL900']}, "
          f"hangs: {totals['hangs']}, BL901: {totals['BL901']}")
    by_rule = sorted((k, v) for k, v in totals.items() if k.startswith("BL"))
    print("findings per rule: " + ", ".join(f"{k} {v}" for k, v in by_rule))
    if internal:
        print("\ninternal errors and hangs:")
        print("\n".join(f"  {line}" for line in internal))
    if parse_errors:
        print("\nparse errors (each should be a genuine error of the input):")
        print("\n".join(f"  {line}" for line in parse_errors))
    print(f"\nslowest {args.slowest} files:")
    for elapsed, name in sorted(slow, reverse=True)[: args.slowest]:
        print(f"  {elapsed:6.2f} s  {name}")
    return 1 if internal else 0


def _alarm(signum, frame):
    raise Hang()


def fetch(pin: str, cache: Path) -> Path:
    """The unpacked sdist of `pin`, downloaded once into `cache`."""
    target = cache / pin.replace("==", "-")
    if target.exists():
        return target
    download = cache / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    archive = _archive(download, pin)
    if archive is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                        ":all:", "--ignore-requires-python", pin, "-d", str(download)], check=True)
        archive = _archive(download, pin)
        if archive is None:
            raise SystemExit(f"{pin}: pip downloaded no sdist")
    unpack = cache / (".unpack-" + target.name)
    if archive.suffix == ".zip":
        zipfile.ZipFile(archive).extractall(unpack)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(unpack, filter="data")
    entries = list(unpack.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        entries[0].rename(target)
        unpack.rmdir()
    else:
        unpack.rename(target)
    return target


def _archive(download: Path, pin: str) -> Path | None:
    name, version = pin.split("==")
    stem = f"{name}-{version}".lower().replace("-", "_")
    for path in sorted(download.iterdir()):
        base = path.name.lower().removesuffix(".tar.gz").removesuffix(".zip").replace("-", "_")
        if base == stem:
            return path
    return None


if __name__ == "__main__":
    sys.exit(main())
