"""The content cache: per-file analysis results (findings before suppression, suppression
comments, facts) kept between runs in `.backendlint_cache/` at the project root.

A file's entry is reused when its size and modification time, or else its content hash,
are unchanged; the whole cache is keyed by the tool's own code, the knowledge bases and
the effective configuration, so any change there starts afresh. It is JSON, never
pickle: a cache folder committed by an untrusted pull request must not be able to run
code. A corrupt or half-written cache is ignored and rebuilt; writes are atomic, so two
concurrent runs cannot leave a broken file (the last one to finish wins)."""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from . import __version__

CACHE_DIR_NAME = ".backendlint_cache"
# 2: JSON Lines, a header then one line per file (`"key"<TAB>entry`): an edit rewrites the
# other files' lines as read instead of encoding the whole cache again.
FORMAT = 2


def default_dir(root: Path) -> Path:
    return root / CACHE_DIR_NAME


def _tool_fingerprint() -> str:
    """The tool's version and the state of its own code and knowledge files, so that a
    development checkout never serves results computed by older rules."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    from .knowledge import rules_dir

    for folder, pattern in ((package, "*.py"), (rules_dir(), "*.toml")):
        for path in sorted(folder.rglob(pattern)):
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def run_key(setup) -> str:
    """Everything besides a file's content that can change its analysis."""
    config = setup.config
    extra_knowledge = []
    for name in config.extend_knowledge:
        try:
            extra_knowledge.append(hashlib.sha256(Path(name).read_bytes()).hexdigest())
        except OSError:
            extra_knowledge.append(f"missing:{name}")
    material = {
        "format": FORMAT,
        "tool": _tool_fingerprint(),
        "rules": sorted(setup.active),
        "settings": {k: v for k, v in sorted(setup.settings.items())},
        "dialect": config.sql_dialect,
        "knowledge": extra_knowledge,
        "verbose": setup.verbose,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:24]


class Cache:
    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.path = folder / f"results-{key}.json"
        self.entries: dict[str, dict] = {}  # entries decoded so far (or written by this run)
        self._lines: dict[str, str] = {}  # key -> its line as read, while the entry is unchanged
        self._summaries: dict[str, dict] = {}  # key -> stamp and hashes of lines made by workers
        self.project: dict | None = None  # the project rules' findings (see get_project)
        self._checked: set[str] = set()  # files whose entry this run found valid or wrote
        self.hits = 0
        self._dirty = False
        self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").split("\n")
            header = json.loads(lines[0])
        except (OSError, ValueError):
            return  # missing, truncated or foreign: start afresh
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            return
        self.project = header.get("project")
        for line in lines[1:]:
            key_text, tab, _ = line.partition("\t")  # a JSON string holds no raw tab
            if not tab:
                continue
            try:
                key = json.loads(key_text)
            except ValueError:
                continue
            if isinstance(key, str):
                self._lines[key] = line

    def _get(self, key: str) -> dict | None:
        """The entry under `key`, decoded from its line on first use (a damaged line is
        forgotten: a miss)."""
        entry = self.entries.get(key)
        if entry is None and key in self._lines:
            try:
                entry = json.loads(self._lines[key].partition("\t")[2])
            except ValueError:
                entry = None
            if not isinstance(entry, dict):
                del self._lines[key]
                return None
            self.entries[key] = entry
        return entry

    def _changed(self, key: str) -> None:
        self._lines.pop(key, None)
        self._summaries.pop(key, None)
        self._dirty = True

    @staticmethod
    def stamp(path: Path) -> tuple[int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return stat.st_size, stat.st_mtime_ns

    def lookup(self, relpath: str, path: Path, facts_only: bool) -> dict | None:
        """The file's entry while it is still valid (same size and time, or same content);
        cheap: nothing is decoded yet (see `result_of`)."""
        key = _entry_key(relpath, facts_only)
        entry = self._get(key)
        if entry is None and facts_only:
            # A full analysis carries the same facts: a warm cache serves pre-commit runs,
            # which want facts only from the files that were not named.
            key = _entry_key(relpath, False)
            entry = self._get(key)
        stamp = self.stamp(path)
        if not isinstance(entry, dict) or stamp is None:
            return None
        if tuple(entry.get("stamp", ())) != stamp:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                return None
            if digest != entry.get("sha256"):
                return None
            entry["stamp"] = list(stamp)  # touched but unchanged: remember the new time
            self._changed(key)
        self._checked.add(relpath)
        return entry

    def result_of(self, entry: dict):
        """The FileResult of a valid entry, or None when it cannot be rebuilt."""
        from .engine import FileResult

        try:
            result = decode(entry["result"])
        except Exception:  # a damaged entry is a miss, never an error
            return None
        if not isinstance(result, FileResult):
            return None
        self.hits += 1
        return result

    def put(self, relpath: str, path: Path, facts_only: bool, result) -> None:
        self.store_line(relpath, facts_only, make_line(path, result))

    def store_line(self, relpath: str, facts_only: bool, made: tuple[dict, str] | None) -> None:
        """Keep an entry made by `make_line` (in a worker, or by `put`): filed as its text,
        which is what `save` writes, with its summary for `project_key`."""
        if made is None:
            return
        summary, payload = made
        key = _entry_key(relpath, facts_only)
        self.entries.pop(key, None)
        self._lines[key] = json.dumps(key) + "\t" + payload
        self._summaries[key] = summary
        self._checked.add(relpath)
        self._dirty = True

    def project_key(self, relpaths: list[str]) -> str | None:
        """A digest of the facts of every file the project rules read, or None when one
        of them has no entry (then nothing is reused). Facts, not content: most edits
        (a comment, a function body below the last model) leave them unchanged."""
        digest = hashlib.sha256()
        for relpath in sorted(set(relpaths)):
            entry = self._entry(relpath)
            if entry is None or not isinstance(entry.get("facts"), str):
                return None
            digest.update(f"{relpath}\0{entry['facts']}\n".encode())
        return digest.hexdigest()

    def get_project(self, key: str, root: Path):
        """(findings, notes) of the project rules computed from the same facts, or None.
        The files the findings point into must be unchanged too: their code frames are
        cut from them."""
        stored = self.project
        if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("files"), dict):
            return None
        if any(self._content_digest(root, relpath) != digest for relpath, digest in stored["files"].items()):
            return None
        try:
            findings, notes = decode(stored["findings"]), stored["notes"]
        except Exception:  # a damaged entry is a miss
            return None
        if not isinstance(findings, list) or not isinstance(notes, list):
            return None
        return findings, [str(note) for note in notes]

    def put_project(self, key: str, root: Path, findings: list, notes: list[str]) -> None:
        files = {f.location.path: self._content_digest(root, f.location.path) for f in findings}
        self.project = {"key": key, "files": files, "findings": encode(findings), "notes": list(notes)}
        self._dirty = True

    def _entry(self, relpath: str) -> dict | None:
        """The file's entry, or just its summary (stamp, hashes) when a worker made it."""
        for key in (_entry_key(relpath, False), _entry_key(relpath, True)):
            entry = self._summaries.get(key) or self._get(key)
            if entry is not None:
                return entry
        return None

    def _content_digest(self, root: Path, relpath: str) -> str:
        entry = self._entry(relpath) if relpath in self._checked else None  # hashed this run
        if entry is not None and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
        try:  # a file no run reads (a project finding's requirements.txt, say)
            return hashlib.sha256((root / relpath).read_bytes()).hexdigest()
        except OSError:
            return "missing"

    def prune_missing(self, root: Path) -> None:
        """Forget files that are gone, so the cache does not grow forever."""
        for key in list(self.entries.keys() | self._lines.keys()):
            if not (root / key.split("\0", 1)[-1]).exists():
                self.entries.pop(key, None)
                self._changed(key)

    def save(self) -> str | None:
        """Write atomically; returns a note when the cache could not be written."""
        if not self._dirty:
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by backendlint: the cache is never committed.\n*\n")
            handle, temp = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=self.folder)
            # json.dumps, not json.dump: dump streams through the pure-Python encoder,
            # ten times slower. Unchanged entries are written back as they were read.
            lines = [json.dumps({"format": FORMAT, "project": self.project}, separators=(",", ":"))]
            for key in sorted(self.entries.keys() | self._lines.keys()):
                line = self._lines.get(key)
                if line is None:
                    line = json.dumps(key) + "\t" + json.dumps(self.entries[key], separators=(",", ":"))
                lines.append(line)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write("\n".join(lines) + "\n")
            os.replace(temp, self.path)
            for old in self.folder.glob("results-*.json"):
                if old != self.path:  # results of another configuration or tool version
                    old.unlink(missing_ok=True)
        except OSError as exc:
            return f"cache not written ({self.folder}): {exc.strerror or exc}"
        return None


def make_entry(path: Path, result) -> dict | None:
    """The cache entry of a file's result: its stamp and content hash (what `lookup`
    checks), a digest of its facts (what `project_key` reads) and the encoded result.
    Workers make these next to the analysis, so the main process only files them. None
    when the file cannot be read any more."""
    stamp = Cache.stamp(path)
    if stamp is None:
        return None
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    encoded = encode(result)
    # (no sort_keys: encoded dataclasses list their fields in declaration order)
    facts = hashlib.sha256(json.dumps(encoded["facts"]).encode()).hexdigest()
    return {"stamp": list(stamp), "sha256": digest, "facts": facts, "result": encoded}


def make_line(path: Path, result) -> tuple[dict, str] | None:
    """`make_entry` as (summary, JSON text): what a worker sends back for `store_line`."""
    entry = make_entry(path, result)
    if entry is None:
        return None
    summary = {k: entry[k] for k in ("stamp", "sha256", "facts")}
    return summary, json.dumps(entry, separators=(",", ":"))


def _entry_key(relpath: str, facts_only: bool) -> str:
    return ("facts\0" if facts_only else "full\0") + relpath


def clean(folder: Path) -> bool:
    import shutil

    if not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


# -- JSON encoding of results ----------------------------------------------------------
# Dataclasses become {"@": "module:Class", ...fields}; enums {"@enum": ..., "value": ...};
# tuples and sets are tagged so facts (frozen, hashable) come back equal. Only classes
# of backendlint itself are ever rebuilt.

def encode(value: Any) -> Any:
    cls = value.__class__
    if cls is str or cls is int or cls is bool or cls is float or value is None:
        return value
    if cls is list:
        return [encode(v) for v in value]
    shape = _SHAPES.get(cls)
    if shape is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        shape = _SHAPES[cls] = (f"{cls.__module__}:{cls.__qualname__}",
                                tuple(item.name for item in dataclasses.fields(cls)))
    if shape is not None:
        out = {"@": shape[0]}
        for name in shape[1]:
            out[name] = encode(getattr(value, name))
        return out
    if isinstance(value, enum.Enum):
        return {"@enum": f"{cls.__module__}:{cls.__qualname__}", "value": value.value}
    if isinstance(value, tuple):
        return {"@tuple": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"@set": sorted((encode(v) for v in value), key=repr)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"@dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


# Per dataclass: its tag and field names, looked up once (encoding runs per object).
_SHAPES: dict[type, tuple[str, tuple[str, ...]]] = {}


def decode(value: Any) -> Any:
    if value.__class__ is list:
        return [decode(v) for v in value]
    if value.__class__ is not dict:
        return value
    if "@" in value:
        cls, init_fields, late_fields = _class_info(value["@"], "dataclass")
        obj = cls(**{k: decode(v) for k, v in value.items() if k in init_fields})
        for name in late_fields:  # fields set after __init__ (init=False)
            if name in value:
                object.__setattr__(obj, name, decode(value[name]))
        return obj
    if "@enum" in value:
        return _class_info(value["@enum"], "enum")[0](value["value"])
    if "@tuple" in value:
        return tuple([decode(v) for v in value["@tuple"]])
    if "@set" in value:
        return {decode(v) for v in value["@set"]}
    if "@dict" in value:
        return {decode(k): decode(v) for k, v in value["@dict"]}
    raise ValueError("unknown cache value")


_CLASS_INFO: dict[tuple[str, str], tuple] = {}


def _class_info(name: str, kind: str) -> tuple:
    """(class, its init fields, its non-init fields), looked up once per class name: a
    warm run rebuilds ~40,000 objects on Django, and the lookups were half of it."""
    info = _CLASS_INFO.get((name, kind))
    if info is None:
        cls = _backendlint_class(name)
        if kind == "dataclass" and dataclasses.is_dataclass(cls) and isinstance(cls, type):
            fields = dataclasses.fields(cls)
            info = (cls, frozenset(f.name for f in fields if f.init),
                    tuple(f.name for f in fields if not f.init))
        elif kind == "enum" and isinstance(cls, type) and issubclass(cls, enum.Enum):
            info = (cls, frozenset(), ())
        else:
            raise ValueError(f"not a {kind}: {name}")
        _CLASS_INFO[name, kind] = info
    return info


def _backendlint_class(name: str):
    module_name, _, qualname = name.partition(":")
    if module_name != "backendlint" and not module_name.startswith("backendlint."):
        raise ValueError(f"refusing to rebuild {name}")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
