"""Where a cold run's time goes, per stage and per rule: one process, no cache.

    python bench/rule_costs.py PATH [--top 25]

Wraps every visitor method, `finish` and `check` with a timer (lighter than cProfile,
which inflates small functions several times) and prints seconds per stage and per
rule or extractor. For finding levers, not for the benchmark figures (bench.py)."""
from __future__ import annotations

import argparse
import ast
import collections
import sys
import time
from pathlib import Path

from backendlint import discovery, engine
from backendlint.config import load as load_config
from backendlint.python import walk as walk_module

COSTS: dict[str, float] = collections.defaultdict(float)


def timed(label: str, function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            COSTS[label] += time.perf_counter() - start
    return wrapper


def instrument_dispatch():
    """Time every bound visit_/leave_ method and `finish` by the visitor's class."""
    original = walk_module.build_dispatch

    def build_dispatch(visitors):
        for visitor in visitors:
            name = type(visitor).__name__
            if hasattr(visitor, "finish"):
                visitor.finish = timed(f"{name} finish", visitor.finish)
            if hasattr(visitor, "check"):
                visitor.check = timed(f"{name} check", visitor.check)
        enter, leave = original(visitors)
        for table in (enter, leave):
            for key, handlers in table.items():
                table[key] = [(v, timed(f"{type(v).__name__} visit", m)) for v, m in handlers]
        return enter, leave

    walk_module.build_dispatch = build_dispatch


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    config = load_config([args.path])
    setup = engine.Setup.build(config)
    found = discovery.discover([args.path], config)
    instrument_dispatch()
    from backendlint.python import parse as parse_module
    parse_module.parse_python = timed("stage: parse", parse_module.parse_python)
    engine.walk_time = 0.0
    original_walk = walk_module.walk
    walk_module.walk = timed("stage: walk (with visitors)", original_walk)
    start = time.perf_counter()
    with engine._gc_tuned():  # as in a real run
        for source in found.files:
            engine.analyse_file(source, setup)
    total = time.perf_counter() - start
    visitors = sum(v for k, v in COSTS.items() if not k.startswith("stage:"))
    print(f"{len(found.files)} files, {total:.2f} s in analyse_file")
    for label, seconds in sorted(COSTS.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"{seconds:8.2f} s  {label}")
    print(f"{visitors:8.2f} s  all visitors, finish and check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
