"""The pipeline: discover -> read -> prefilter -> parse -> rules -> suppressions -> report.

`analyse_file` is a pure function of one file and the run's `Setup`, so that files can be
analysed independently (workers, cache); `check` drives a whole run."""
from __future__ import annotations

import contextlib
import hashlib
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import discovery, knowledge, suppressions
from .config import Config
from .findings import Finding, Location, Severity
from .registry import all_rules
from .rule import EngineRule, ProjectRule, PythonRule, Rule, SqlRule, TextRule
from .source import DecodeError, SourceFile, decode_python, decode_text, is_binary

INTERNAL_ERROR, PARSE_ERROR, BLANKET_IGNORE, UNUSED_IGNORE = "BL900", "BL901", "BL902", "BL903"


@dataclass
class Setup:
    """What every file's analysis needs to know about the run, built once."""

    config: Config
    active: dict[str, type[Rule]]
    python_rules: list[type[PythonRule]]
    sql_rules: list[type[SqlRule]]
    text_rules: list[type[TextRule]]
    settings: dict[str, dict]
    sinks: object  # python.embedded.SinkMatcher
    python_triggers: tuple[str, ...]
    sql_triggers: tuple[str, ...]
    text_triggers: tuple[str, ...]
    sink_triggers: tuple[str, ...]
    project_rules: list[type[ProjectRule]] = field(default_factory=list)
    extractors: list = field(default_factory=list)  # extract.FactExtractor classes
    extractor_triggers: tuple[str, ...] = ()
    verbose: bool = False

    @classmethod
    def build(cls, config: Config, verbose: bool = False) -> "Setup":
        rules = all_rules()
        active = {rule_id: rules[rule_id] for rule_id in sorted(config.rule_ids())}
        python_rules = [r for r in active.values() if issubclass(r, PythonRule)]
        sql_rules = [r for r in active.values() if issubclass(r, SqlRule)]
        text_rules = [r for r in active.values() if issubclass(r, TextRule)]
        from .python.embedded import SinkMatcher

        knowledge.configure(config.extend_knowledge)
        sinks = knowledge.load("sql_sinks")
        sink_words = {name for entry in sinks.get("method", []) for name in entry.get("names", [])}
        sink_words |= {name.rsplit(".", 1)[-1] for entry in sinks.get("function", [])
                       for name in [entry.get("qualname", "")] + list(entry.get("qualnames", [])) if name}
        from .extract import extractors_for

        project_rules = [r for r in active.values() if issubclass(r, ProjectRule)]
        extractors = extractors_for({kind for rule in project_rules for kind in rule.needs})
        return cls(
            project_rules=project_rules,
            extractors=extractors,
            extractor_triggers=tuple(sorted({w.lower() for e in extractors for w in e.triggers})),
            config=config,
            active=active,
            python_rules=python_rules,
            sql_rules=sql_rules,
            text_rules=text_rules,
            settings={rule_id: config.settings_for(rule) for rule_id, rule in active.items()},
            sinks=SinkMatcher(sinks),
            python_triggers=_words(python_rules),
            sql_triggers=_words(sql_rules),
            text_triggers=_words(text_rules),
            sink_triggers=tuple(sorted(w.lower() for w in sink_words)),
            verbose=verbose,
        )

    def wants(self, rule_id: str) -> bool:
        return rule_id in self.active


def _words(rules) -> tuple[str, ...]:
    return tuple(sorted({word.lower() for rule in rules for word in rule.meta.triggers}))


@dataclass
class FileResult:
    """What analysing one file gives: findings before suppression, the suppression
    comments, and facts. Plain data, so it can cross processes and go in a cache."""

    relpath: str
    findings: list[Finding] = field(default_factory=list)
    suppressions: list = field(default_factory=list)  # suppressions.Suppression
    facts: list = field(default_factory=list)  # facts.Fact
    parsed: bool = False
    notes: list = field(default_factory=list)  # why a file was skipped (shown as notes)


@dataclass
class Report:
    config: Config
    active: dict[str, type[Rule]]
    findings: list[Finding] = field(default_factory=list)  # not suppressed, sorted
    files: int = 0
    parsed: int = 0
    suppressed: int = 0
    notices: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    cache_hits: int = 0

    def failing(self, fail_on: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity >= fail_on]


def check(paths: list[Path], config: Config, verbose: bool = False, jobs: int = 1,
          cache_dir: Path | None = None, progress=None) -> Report:
    """Analyse `paths` (files or folders) under `config`: the library entry point.

    `jobs` > 1 analyses files in that many worker processes; `cache_dir` turns the
    content cache on (the CLI uses `<root>/.backendlint_cache`); `progress(done, total)`
    is called as files complete. The report is the same whatever these are."""
    setup = Setup.build(config, verbose)  # imports the rules: before freezing (below)
    with _gc_tuned():
        return _check(setup, paths, jobs, cache_dir, progress)


@contextlib.contextmanager
def _gc_tuned():
    """Fewer garbage collections during a run. Parsing allocates millions of short-lived
    nodes, and each default collection also scanned every imported module's objects; those
    are frozen out of the scans (and forked workers inherit it). Measured on Django: ~7%
    less time, a few MB more memory per process."""
    import gc

    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), max(threshold[1], 20), threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check(setup: Setup, paths: list[Path], jobs: int, cache_dir: Path | None, progress) -> Report:
    config, verbose = setup.config, setup.verbose
    found = discovery.discover(paths or [Path(".")], config)
    report = Report(config, setup.active, notices=found.notices, missing=found.missing)
    cache = None
    if cache_dir is not None:
        from .cache import Cache, run_key

        cache = Cache(cache_dir, run_key(setup))
    pool = _Pool(setup, jobs, cache, progress)
    results = pool.analyse(found.files, facts_only=False)
    project_findings = _run_project_rules(setup, results, found, pool)
    if cache is not None:
        cache.prune_missing(setup.config.root)
        note = cache.save()
        if note and verbose:
            report.notices.append(note)
    report.cache_hits = cache.hits if cache is not None else 0
    for result in results:
        kept, suppressed = finalize(result, project_findings.get(result.relpath, []), setup)
        report.files += 1
        report.parsed += result.parsed
        report.suppressed += suppressed
        report.findings.extend(kept)
        report.notices.extend(result.notes)
    # Findings in files outside the run's scope are dropped; a project rule's own failure
    # is not about any file and is always shown.
    analysed = {result.relpath for result in results}
    for relpath, items in _unread_file_findings(project_findings, analysed, found, paths, setup):
        kept, suppressed = finalize(FileResult(relpath), items, setup)
        report.suppressed += suppressed
        report.findings.extend(kept)
    failures = [f for path, items in project_findings.items() if path not in analysed
                for f in items if f.rule_id == INTERNAL_ERROR]
    assign_fingerprints(failures)
    report.findings.extend(failures)
    report.findings.sort(key=Finding.sort_key)
    return report


def _run_project_rules(setup: Setup, results: list[FileResult], found, pool) -> dict[str, list[Finding]]:
    """Project rules over the facts of the whole project. When only some files were named
    (pre-commit), the facts of the rest of the project are gathered too, but findings are
    kept for the named files only."""
    if not setup.project_rules:
        return {}
    from .facts import ProjectFacts

    fed = list(results)
    if any(source.explicit for source in found.files):
        named = {source.relpath for source in found.files}
        rest = discovery.discover([setup.config.root], setup.config)
        others = [source for source in rest.files if source.relpath not in named]
        fed.extend(pool.analyse(others, facts_only=True))
    # When no file changed since the last run, neither did the facts: the cached findings
    # of the rules that read nothing but facts are reused (a warm run's biggest cost).
    cache = pool.cache
    key = cache.project_key([result.relpath for result in fed]) if cache is not None else None
    stored = cache.get_project(key, setup.config.root) if key else None
    to_run = [r for r in setup.project_rules if r.reads_project_files or stored is None]
    project = ProjectFacts([fact for result in fed for fact in result.facts]
                           if any(r.needs for r in to_run) else [])
    sources = ProjectSources(setup.config.root)
    findings: list[Finding] = list(stored[0]) if stored else []
    notes: list[str] = list(stored[1]) if stored else []
    reusable_findings: list[Finding] = []
    reusable_notes: list[str] = []
    complete = True
    for rule_cls in to_run:
        own: list[Finding] = []
        before = len(project.notes)
        rule = rule_cls(sources, setup.settings[rule_cls.meta.id], own)
        try:
            rule.check_project(project)
        except Exception as exc:
            where = setup.config.source.name if setup.config.source else "."
            _rule_failed(own, None, setup, rule, exc, Location(where, 1))
            complete = False
        findings.extend(own)
        notes.extend(project.notes[before:])
        if not rule_cls.reads_project_files:
            reusable_findings.extend(own)
            reusable_notes.extend(project.notes[before:])
    if key and stored is None and complete:
        cache.put_project(key, setup.config.root, reusable_findings, reusable_notes)
    # Notes from project rules (why a rule stayed silent): shown with --verbose only.
    if setup.verbose:
        found.notices.extend(note for note in dict.fromkeys(notes))
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.location.path, []).append(finding)
    return by_path


def _unread_file_findings(project_findings: dict[str, list[Finding]], analysed: set[str], found,
                          paths: list[Path], setup: Setup):
    """Project findings in files no run reads (`requirements.txt`, `Pipfile`: where a
    repository rule such as BL601 reports) are kept when the run is not limited to named
    files and the file lies under a checked folder. Files of a kind the run reads but did
    not (excluded, ignored, outside the named folders) stay dropped."""
    if any(source.explicit for source in found.files):
        return []
    root = setup.config.root
    folders = [p.resolve() for p in (paths or [Path(".")]) if p.is_dir()]
    out = []
    for relpath, items in sorted(project_findings.items()):
        if relpath in analysed:
            continue
        path = (root / relpath).resolve()
        if discovery.classify(path) is not None or not path.is_file():
            continue
        if not any(folder == path.parent or folder in path.parents for folder in folders):
            continue
        kept = [f for f in items if f.rule_id != INTERNAL_ERROR]
        if kept:
            out.append((relpath, kept))
    return out


class ProjectSources:
    """Code snippets for project rules, read on demand from the project's files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, SourceFile | None] = {}

    def file(self, relpath: str) -> SourceFile | None:
        if relpath not in self._files:
            path = self.root / relpath
            try:
                data = path.read_bytes()
                text = decode_python(data) if path.suffix in (".py", ".pyi") else decode_text(data)
                self._files[relpath] = SourceFile(path, relpath, text)
            except (OSError, DecodeError):
                self._files[relpath] = None
        return self._files[relpath]

    def snippet(self, location: Location) -> str:
        source = self.file(location.path)
        return source.snippet(location) if source else ""


# -- many files: cache and worker processes -----------------------------------------

# Below this many files to analyse, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 48
# A warm tree with at least this many cached files overlaps their decoding with workers.
WARM_OVERLAP_MIN_HITS = 500
_WORKER_SETUP: Setup | None = None


class _Pool:
    """Analyses lists of files: from the cache where it can, else in this process or in
    worker processes. Results come back in the order of the input, whatever the jobs."""

    def __init__(self, setup: Setup, jobs: int, cache, progress) -> None:
        self.setup, self.jobs, self.cache, self.progress = setup, max(1, jobs), cache, progress
        self._done = 0  # files finished in the current `analyse` call (for progress)

    def analyse(self, sources: list, facts_only: bool) -> list[FileResult]:
        results: list[FileResult | None] = [None] * len(sources)
        valid: list[tuple[int, dict]] = []
        todo: list[int] = []
        for index, source in enumerate(sources):
            entry = self.cache.lookup(source.relpath, source.path, facts_only) if self.cache else None
            if entry is not None:
                valid.append((index, entry))
            else:
                todo.append(index)
        total = len(sources)
        # Workers pay off for many files, or for a few changed files in a warm tree: they
        # analyse those while this process rebuilds the cached results.
        use_workers = self.jobs > 1 and (len(todo) >= PARALLEL_MIN_FILES
                                         or (todo and len(valid) >= WARM_OVERLAP_MIN_HITS))
        with _Workers(self.setup, self.jobs if use_workers else 0) as workers:
            running = workers.start([sources[i] for i in todo], facts_only,
                                    self.cache is not None) if use_workers else None
            self._done = 0
            for index, entry in valid:
                results[index] = self.cache.result_of(entry)
                if results[index] is None:  # damaged: analyse it here
                    results[index] = analyse_file(sources[index], self.setup, facts_only)
                    self.cache.put(sources[index].relpath, sources[index].path, facts_only, results[index])
            self._advance(len(valid), total)
            if running is not None:
                computed = workers.collect(running, lambda n: self._advance(n, total))
            else:
                computed = []
                for index in todo:
                    computed.append((analyse_file(sources[index], self.setup, facts_only), None))
                    self._advance(1, total)
        for index, (result, entry) in zip(todo, computed):
            results[index] = result
            if self.cache is not None and entry is not None:
                self.cache.store_line(sources[index].relpath, facts_only, entry)
            elif self.cache is not None:
                self.cache.put(sources[index].relpath, sources[index].path, facts_only, result)
        return results  # type: ignore[return-value]

    def _advance(self, files: int, total: int) -> None:
        self._done += files
        if self.progress:
            self.progress(self._done, total)


class _Workers:
    """Worker processes for one `_Pool.analyse` call: `start` hands out the files in
    batches and returns at once; `collect` gathers the results in input order."""

    def __init__(self, setup: Setup, jobs: int) -> None:
        self.setup, self.jobs, self.pool = setup, jobs, None

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *exc) -> None:
        global _WORKER_SETUP
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            _WORKER_SETUP = None

    def start(self, sources: list, facts_only: bool, cached: bool) -> list:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _WORKER_SETUP
        # Largest files first, in batches that shrink towards the end: no worker is left
        # with a big file (or a big batch) while the others idle. Results go back to input
        # order in `collect`.
        order = sorted(range(len(sources)), key=lambda i: -_size(sources[i].path))
        batches, at = [], 0
        while at < len(order):
            size = max(1, min(32, (len(order) - at) // (self.jobs * 8)))
            batches.append(order[at:at + size])
            at += size
        self.order = [i for batch in batches for i in batch]
        methods = multiprocessing.get_all_start_methods()
        # fork shares the already imported modules and the built Setup with the workers.
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        _WORKER_SETUP = self.setup
        self.pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(batches)), mp_context=context,
                                        initializer=_init_worker,
                                        initargs=(self.setup.config, self.setup.verbose))
        return [self.pool.submit(_work, [sources[i] for i in batch], facts_only, cached) for batch in batches]

    def collect(self, futures: list, advance) -> list[tuple]:
        """(result, cache entry or None), in the order of the sources given to `start`."""
        done: list[tuple] = []
        for future in futures:
            batch_results = future.result()
            done.extend(batch_results)
            advance(len(batch_results))
        out: list[tuple | None] = [None] * len(done)
        for index, result in zip(self.order, done):
            out[index] = result
        return out  # type: ignore[return-value]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _init_worker(config: Config, verbose: bool) -> None:
    global _WORKER_SETUP
    if _WORKER_SETUP is None:  # spawned, not forked: build the setup here
        _WORKER_SETUP = Setup.build(config, verbose)


def _work(batch: list, facts_only: bool, cached: bool) -> list[tuple]:
    """Analyse a batch; with a cache, also make the entries (hashing and encoding here
    runs in parallel, instead of in the main process after the analysis)."""
    assert _WORKER_SETUP is not None
    out = []
    for source in batch:
        result = analyse_file(source, _WORKER_SETUP, facts_only)
        entry = None
        if cached:
            from .cache import make_line

            entry = make_line(source.path, result)
        out.append((result, entry))
    return out


# -- one file ------------------------------------------------------------------------

def analyse_file(source: discovery.SourcePath, setup: Setup, facts_only: bool = False) -> FileResult:
    """Findings, suppressions and facts of one file. `facts_only` runs the fact
    extractors alone (for files outside the named ones, whose findings are not wanted)."""
    result = FileResult(source.relpath)
    try:
        _analyse(source, setup, result, facts_only)
    except Exception as exc:  # an engine bug must not stop the run
        _engine_finding(result, setup, INTERNAL_ERROR, Location(source.relpath, 1),
                        f"backendlint failed on this file: {type(exc).__name__}: {exc}"
                        + (f"\n{traceback.format_exc()}" if setup.verbose else ""))
    return result


def _analyse(source: discovery.SourcePath, setup: Setup, result: FileResult, facts_only: bool) -> None:
    kind = source.kind
    extractors = [e for e in setup.extractors if kind in e.languages]
    if facts_only:
        rules_for_kind = []
    else:
        rules_for_kind = {discovery.PYTHON: setup.python_rules or setup.sql_rules,
                          discovery.SQL: setup.sql_rules, discovery.CONFIG: setup.text_rules}[kind]
    # Syntax errors are reported in every Python and SQL file while BL901 is selected,
    # so those files are parsed even when no rule could fire on them.
    report_parse_errors = kind != discovery.CONFIG and setup.wants(PARSE_ERROR) and not facts_only
    rules_for_kind = list(rules_for_kind) + extractors
    if not rules_for_kind and not report_parse_errors:
        return
    try:
        size = source.path.stat().st_size
        if size > setup.config.max_file_size:
            # Huge files are nearly always generated or data; reading them would make
            # memory grow with the input. Say so, and move on.
            result.notes.append(f"{source.relpath}: {size / 2**20:.1f} MB is over max-file-size "
                                f"({setup.config.max_file_size / 2**20:.1f} MB); not analysed")
            return
        data = source.path.read_bytes()
    except FileNotFoundError:
        result.notes.append(f"{source.relpath}: vanished during the run; not analysed")
        return
    except OSError as exc:
        _engine_finding(result, setup, PARSE_ERROR, Location(source.relpath, 1),
                        f"cannot read file: {exc.strerror or exc}")
        return
    if is_binary(data):
        _engine_finding(result, setup, PARSE_ERROR, Location(source.relpath, 1),
                        "binary content (NUL bytes); not analysed")
        return
    try:
        text = decode_python(data) if kind == discovery.PYTHON else decode_text(data)
    except DecodeError as exc:
        _engine_finding(result, setup, PARSE_ERROR, Location(source.relpath, 1),
                        f"cannot decode file: {exc}; not analysed")
        return
    words = _Words(text)
    run_rules = bool(rules_for_kind) and _prefilter(text, words, kind, setup)
    if not run_rules and not report_parse_errors:
        return
    result.parsed = run_rules
    run = _Run(setup, result.findings, result.facts, facts_only, words)
    if kind == discovery.PYTHON:
        file = _analyse_python(source, text, run, run_rules)
        result.suppressions = suppressions.find_python(text) if run_rules and not facts_only else []
    elif kind == discovery.CONFIG:
        file = _analyse_text(source, text, run)
    else:
        file = _analyse_sql(source, text, run, run_rules)
        result.suppressions = suppressions.find_sql(text) if run_rules and not facts_only else []
    _redact_secrets(result.findings, file)
    # Blanket ignores are findings whatever else the file holds.
    for suppression in result.suppressions:
        if not suppression.ids:
            _add_engine(result.findings, file, setup, BLANKET_IGNORE, suppression.location(file.relpath),
                        "suppression names no rule, so it suppresses nothing: write "
                        "`backendlint: ignore[BLxxx]`")
    # Helpers cached on the file point back at it (scopes, SQL locators...): without this
    # the cycles keep every file's tree alive until a full garbage collection, which on a
    # large tree was most of the collector's time and hundreds of MB.
    file.__dict__.clear()


def _redact_secrets(findings: list[Finding], file) -> None:
    """Secret rules (BL201) list the secrets they found in `file.redactions` (secret ->
    redacted form); no finding of any rule may show one of them in full."""
    redactions = getattr(file, "redactions", None)
    if not redactions:
        return
    for finding in findings:
        for secret, shown in redactions.items():
            # Quoted forms always; the bare value only when it cannot be an ordinary word.
            bare = len(secret) >= 8 and any(not c.isalpha() for c in secret) and " " not in secret
            for form, replacement in ((f'"{secret}"', f'"{shown}"'), (f"'{secret}'", f"'{shown}'"),
                                      (secret, shown)):
                if form is secret and not bare:
                    continue
                finding.snippet = finding.snippet.replace(form, replacement)
                finding.message = finding.message.replace(form, replacement)


def _prefilter(text: str, words: "_Words", kind: str, setup: Setup) -> bool:
    """Could any active rule fire on this text? Matching is case-insensitive."""
    if kind == discovery.CONFIG:
        return words.any_of(setup.text_triggers)
    if kind == discovery.SQL:
        return words.any_of(setup.sql_triggers + setup.extractor_triggers) \
            or _has_suppression(text)
    if words.any_of(setup.python_triggers + setup.extractor_triggers):
        return True
    if setup.sql_rules and words.any_of(setup.sink_triggers):
        return words.any_of(setup.sql_triggers)
    return _has_suppression(text)


_WORD_RUN = re.compile(r"[a-z0-9_]+")
_PLAIN_WORDS: dict[str, bool] = {}


class _Words:
    """Which trigger words a file contains (case-insensitively). Searching the whole text
    for every absent word of every rule was 2 s of CPU on Django; a word made of letters,
    digits and `_` can only occur inside one such run of the text, so it is looked for in
    the file's distinct runs joined by spaces, a sixth of the text."""

    def __init__(self, text: str) -> None:
        self.lowered = text.lower()
        self._runs: str | None = None

    def any_of(self, words) -> bool:
        lowered, runs = self.lowered, self._runs
        for word in words:
            plain = _PLAIN_WORDS.get(word)
            if plain is None:
                plain = _PLAIN_WORDS[word] = _WORD_RUN.fullmatch(word) is not None
            if not plain:
                if word in lowered:
                    return True
                continue
            if runs is None:
                runs = self.runs()
            if word in runs:
                return True
        return False

    def runs(self) -> str:
        if self._runs is None:
            self._runs = " ".join(set(_WORD_RUN.findall(self.lowered)))
        return self._runs


def _has_suppression(text: str) -> bool:
    # A file with only a suppression comment must still be parsed, to report BL902/BL903.
    return suppressions.MARKER in text


@dataclass
class _Run:
    """One file's analysis: where findings and facts go, and what runs."""

    setup: Setup
    findings: list[Finding]
    facts: list
    facts_only: bool
    words: "_Words"  # the file's text, for the trigger words

    def rules(self, classes, file) -> list:
        if self.facts_only:
            return []
        return [cls(file, self.setup.settings[cls.meta.id], self.findings) for cls in classes
                if self.triggered(cls.meta.triggers)]

    def extractors(self, language: str, file) -> list:
        return [cls(file, self.facts) for cls in self.setup.extractors
                if language in cls.languages and self.triggered(cls.triggers)]

    def triggered(self, words: tuple[str, ...]) -> bool:
        """A rule or extractor runs on a file only when one of its trigger words is in it
        (none declared: always). Per rule, not only per file: most rules are skipped on
        most files of a large tree, which is most of the saving of the prefilter."""
        return not words or self.words.any_of(words)


def _analyse_python(source, text: str, run: _Run, run_rules: bool):
    from .python.context import PythonFile
    from .python.embedded import EmbeddedSql
    from .python.parse import ParseFailure, parse_python
    from .python.walk import build_dispatch, walk

    setup, findings = run.setup, run.findings
    file = PythonFile(source.path, source.relpath, text)
    tree = parse_python(text, source.relpath)
    if isinstance(tree, ParseFailure):
        if not run.facts_only:
            _add_engine(findings, file, setup, PARSE_ERROR,
                        Location(source.relpath, tree.line, tree.column), tree.message)
        return file
    file.tree = tree
    if not run_rules:
        return file
    rules = run.rules(setup.python_rules, file)
    extractors = run.extractors("python", file)
    visitors: list[object] = [file.names]
    # The engine's own visitors go first, so that rules see a node's embedded SQL.
    visitors.append(EmbeddedSql(file, setup.sinks, setup.config.sql_dialect))
    visitors.extend(rules)
    visitors.extend(extractors)
    enter, leave = build_dispatch(visitors)
    failed: set[int] = set()

    def on_error(visitor, exc: BaseException, node) -> None:
        failed.add(id(visitor))
        _rule_failed(findings, file, setup, visitor, exc, file.location(node) if hasattr(
            node, "lineno") else Location(file.relpath, 1))

    walk(tree, file.ancestors, enter, leave, on_error)
    for visitor in rules + extractors:
        if id(visitor) in failed:
            continue
        try:
            visitor.finish()
        except Exception as exc:
            _rule_failed(findings, file, setup, visitor, exc, Location(file.relpath, 1))
    statements = [call.statement for call in getattr(file, "sql_calls", []) if call.statement]
    _run_sql_rules(file, statements, run)
    return file


def _analyse_sql(source, text: str, run: _Run, run_rules: bool):
    from .sql.statements import SqlStatement, parse_statements

    setup = run.setup
    file = SourceFile(source.path, source.relpath, text)
    dialect = setup.config.sql_dialect
    statements = []
    unparsed = []  # fact extractors see these too (tree None), e.g. a migration sqlglot cannot read
    for start, end, tree, error, offsets, tokens in parse_statements(text, dialect):
        chunk = text[start:end]
        whole = file.location_of_offsets(start, start + len(chunk.rstrip()))
        if tree is None:
            if error and error != "empty statement" and not run.facts_only:
                _add_engine(run.findings, file, setup, PARSE_ERROR, Location(
                    file.relpath, whole.line, whole.column),
                    f"SQL statement not parsed ({dialect}): {error}; the rest of the file is still checked")
            if error != "empty statement":
                unparsed.append(SqlStatement(chunk, None, lambda s, e, w=whole: w, whole, error=error,
                                             extra={"tokens": tokens} if tokens else {}))
            continue
        statements.append(SqlStatement(
            chunk, tree, (lambda s, e, at=offsets: file.location_of_offsets(*at(s, e))), whole))
    if run_rules:
        _run_sql_rules(file, statements, run)
        for extractor in run.extractors("sql", file) if unparsed else ():
            if not getattr(extractor, "sees_unparsed", False):
                continue
            for statement in unparsed:
                try:
                    extractor.check(statement)
                except Exception as exc:
                    _rule_failed(run.findings, file, setup, extractor, exc, statement.whole)
                    break
    return file


def _analyse_text(source, text: str, run: _Run):
    file = SourceFile(source.path, source.relpath, text)
    for rule in run.rules(run.setup.text_rules, file):
        try:
            rule.check_text()
        except Exception as exc:
            _rule_failed(run.findings, file, run.setup, rule, exc, Location(file.relpath, 1))
    return file


def _run_sql_rules(file, statements, run: _Run) -> None:
    if not statements:
        return
    for checker in run.rules(run.setup.sql_rules, file) + run.extractors("sql", file):
        for statement in statements:
            try:
                checker.check(statement)
            except Exception as exc:
                _rule_failed(run.findings, file, run.setup, checker, exc, statement.whole)
                break


def _rule_failed(findings, file, setup: Setup, rule, exc: BaseException, where: Location) -> None:
    meta = getattr(rule, "meta", None)
    name = f"{meta.id} ({meta.name})" if meta else type(rule).__name__
    detail = f"\n{''.join(traceback.format_exception(exc))}" if setup.verbose else ""
    _add_engine(findings, file, setup, INTERNAL_ERROR, where,
                f"rule {name} failed: {type(exc).__name__}: {exc}{detail}")


def _add_engine(findings, file, setup: Setup, rule_id: str, where: Location, message: str) -> None:
    """An engine finding (BL900-BL903); `file` gives the snippet and may be None."""
    if not setup.wants(rule_id):
        return
    meta = all_rules()[rule_id].meta
    findings.append(Finding(meta.id, meta.name, meta.severity, meta.confidence, message,
                            where, snippet=file.snippet(where) if file else ""))


def _engine_finding(result: FileResult, setup: Setup, rule_id: str, where: Location, message: str) -> None:
    if setup.wants(rule_id):
        meta = all_rules()[rule_id].meta
        result.findings.append(Finding(meta.id, meta.name, meta.severity, meta.confidence,
                                       message, where))


def finalize(result: FileResult, extra: list[Finding], setup: Setup) -> tuple[list[Finding], int]:
    """Apply suppression comments and per-file-ignores to a file's findings (its own and
    those project rules made in it), report unused suppressions, and fingerprint what is
    left. Returns (kept findings, number suppressed)."""
    findings = _dedupe(result.findings + extra)
    suppressions.apply(findings, result.suppressions)
    ignored_here = _per_file_ignored(result.relpath, setup.config)
    for finding in findings:
        if finding.rule_id in ignored_here:
            finding.suppressed = True
    findings.extend(_unused_suppressions(result, setup))
    assign_fingerprints(findings)
    kept = [f for f in findings if not f.suppressed]
    return kept, len(findings) - len(kept)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, unique = set(), []
    for finding in findings:
        key = (finding.rule_id, finding.location, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def _per_file_ignored(relpath: str, config: Config) -> set[str]:
    if not config.per_file_ignores:
        return set()
    import pathspec

    ids: set[str] = set()
    for pattern, rule_ids in config.per_file_ignores.items():
        if pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(relpath):
            ids.update(rule_ids)
    return ids


def _unused_suppressions(result: FileResult, setup: Setup) -> list[Finding]:
    out: list[Finding] = []
    if not setup.wants(UNUSED_IGNORE):
        return out
    known = all_rules()
    meta = known[UNUSED_IGNORE].meta
    for suppression in result.suppressions:
        for rule_id in suppression.ids:
            if rule_id not in known:
                message = f"suppression names unknown rule {rule_id!r}"
            elif rule_id in setup.active and rule_id not in suppression.used \
                    and not issubclass(known[rule_id], EngineRule):
                message = f"suppression of {rule_id} is unused: nothing here is reported by {rule_id}"
            else:
                continue
            out.append(Finding(meta.id, meta.name, meta.severity, meta.confidence, message,
                               suppression.location(result.relpath), snippet=suppression.source_line))
    return out


def assign_fingerprints(findings: list[Finding]) -> None:
    """A fingerprint that survives lines moving: rule, path, the flagged code with its
    whitespace normalised, and the occurrence index among identical ones."""
    counts: dict[str, int] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        code = " ".join(finding.snippet.split()) or finding.message
        base = f"{finding.rule_id}\0{finding.location.path}\0{code}"
        index = counts.get(base, 0)
        counts[base] = index + 1
        finding.fingerprint = hashlib.sha256(f"{base}\0{index}".encode()).hexdigest()[:32]
