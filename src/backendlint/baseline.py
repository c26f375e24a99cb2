"""Baselines: adopt backendlint on legacy code by recording today's findings, then failing
only on new ones.

Findings are matched by fingerprint: rule, path, the flagged code with its whitespace
normalised, and the occurrence index among identical ones (see engine.assign_fingerprints)
— never the line number, so code moving up or down does not resurrect a finding, while a
second identical finding is new. The file is sorted JSON with one entry per line group,
so it diffs well in review and shrinks as findings are fixed (`--show-stale`)."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 1


class BaselineError(Exception):
    pass


@dataclass
class Baseline:
    entries: dict[str, dict] = field(default_factory=dict)  # fingerprint -> entry

    @classmethod
    def read(cls, path: Path) -> "Baseline":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(f"{path}: no such baseline file (write one with --write-baseline)") from None
        except (OSError, ValueError) as exc:
            raise BaselineError(f"{path}: not a backendlint baseline: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("findings"), list):
            raise BaselineError(f"{path}: not a backendlint baseline (format {FORMAT} expected)")
        entries = {}
        for entry in data["findings"]:
            if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str):
                entries[entry["fingerprint"]] = entry
        return cls(entries)

    @classmethod
    def of(cls, findings) -> "Baseline":
        return cls({f.fingerprint: _entry(f) for f in findings})

    def write(self, path: Path) -> None:
        entries = sorted(self.entries.values(), key=lambda e: (e["path"], e["rule_id"], e["code"], e["fingerprint"]))
        text = json.dumps({"format": FORMAT, "tool": "backendlint", "findings": entries},
                          indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".baseline-", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)

    def split(self, findings) -> tuple[list, list, list[dict]]:
        """(new findings, known findings, stale entries that matched nothing)."""
        new, known, seen = [], [], set()
        for finding in findings:
            if finding.fingerprint in self.entries:
                known.append(finding)
                seen.add(finding.fingerprint)
            else:
                new.append(finding)
        stale = [e for fp, e in sorted(self.entries.items()) if fp not in seen]
        return new, known, stale


def _entry(finding) -> dict:
    # The snippet is what the rule showed (secrets arrive redacted); one line is enough
    # for a reviewer to recognise the finding.
    code = " ".join(finding.snippet.split("\n", 1)[0].split())[:160]
    return {"fingerprint": finding.fingerprint, "rule_id": finding.rule_id,
            "path": finding.location.path, "code": code}
