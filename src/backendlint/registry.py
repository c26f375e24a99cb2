"""Finds every rule class under `backendlint.checks` (no hand-kept list) and resolves
selectors (`BL101`, a prefix like `BL1`, a rule name, `ALL`) to rule ids."""
from __future__ import annotations

import difflib
import os
import importlib
import pkgutil
from functools import lru_cache

from .rule import Rule


class SelectorError(ValueError):
    pass


@lru_cache(maxsize=1)
def all_rules() -> dict[str, type[Rule]]:
    """Rule id -> class, sorted by id."""
    from . import checks

    found: dict[str, type[Rule]] = {}
    for module_info in pkgutil.walk_packages(checks.__path__, checks.__name__ + "."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Rule) and "meta" in vars(value)
                    and value.__module__ == module.__name__):
                rule_id = value.meta.id
                if rule_id in found:
                    raise RuntimeError(f"rule id {rule_id} defined twice: "
                                       f"{found[rule_id].__module__} and {module.__name__}")
                found[rule_id] = value
    return dict(sorted(found.items()))


def by_name() -> dict[str, str]:
    return {cls.meta.name: rule_id for rule_id, cls in all_rules().items()}


def lookup(id_or_name: str) -> type[Rule] | None:
    rules = all_rules()
    key = id_or_name.strip()
    if key.upper() in rules:
        return rules[key.upper()]
    rule_id = by_name().get(key.lower())
    return rules[rule_id] if rule_id else None


def expand(selector: str) -> set[str]:
    """The rule ids a selector names. Raises SelectorError with a suggestion."""
    rules = all_rules()
    key = selector.strip()
    if key.upper() == "ALL":
        return set(rules)
    upper = key.upper()
    if upper.startswith("BL") and upper[2:].isdigit():
        matched = {rule_id for rule_id in rules if rule_id.startswith(upper)}
        if matched:
            return matched
    rule_id = by_name().get(key.lower())
    if rule_id:
        return {rule_id}
    raise SelectorError(f"unknown rule selector {selector!r}{suggest(key, list(rules) + list(by_name()))}")


def suggest(word: str, candidates: list[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or ''. Ties in similarity go to the
    longer common prefix (`BL1O1` means BL101, not BL211), then to the first in order."""
    key = word.lower()
    best, best_score = None, None
    for candidate in sorted(candidates):
        other = candidate.lower()
        ratio = difflib.SequenceMatcher(None, key, other).ratio()
        if ratio < 0.5:
            continue
        prefix = len(os.path.commonprefix([key, other]))
        score = (round(ratio, 6), prefix)
        if best_score is None or score > best_score:
            best, best_score = candidate, score
    return f" (did you mean {best!r}?)" if best else ""


def resolve_selection(select: list[str] | None, extend_select: list[str], ignore: list[str]) -> set[str]:
    chosen = set(all_rules()) if select is None else set().union(*(expand(s) for s in select))
    for selector in extend_select:
        chosen |= expand(selector)
    for selector in ignore:
        chosen -= expand(selector)
    return chosen
