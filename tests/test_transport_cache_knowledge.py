"""The transport, cache and job knowledge bases (rules/http_clients.toml,
rules/cache_clients.toml, rules/task_queues.toml): every entry's `match` examples are
recognised as that entry and its `no_match` examples are not; plus the helpers the
BL301-BL304 and BL501-BL504 rules share, and BL301's configuration-file side."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backendlint import knowledge
from backendlint.config import Config
from backendlint.discovery import SourcePath, classify
from backendlint.engine import Setup, analyse_file
from backendlint.python import cache_clients, calls, http_clients, settings_modules, tasks
from backendlint.python.calls import parse_example


def _entries(base: str, tables: tuple[str, ...]):
    kb = knowledge.load(base)
    out = []
    for table in tables:
        for index, entry in enumerate(kb.get(table, [])):
            label = entry.get("library") or entry.get("framework") or entry.get("kind", "")
            out.append(pytest.param(table, entry, id=f"{table}[{index}]-{label}"))
    return out


def _calls(file):
    return [node for node in ast.walk(file.tree) if isinstance(node, ast.Call)]


def _scope_of(file, call):
    for node in ast.walk(file.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                n is call for n in ast.walk(node)):
            return node
    return None


# -- http_clients ---------------------------------------------------------------------------

def _http_hits(file, table: str, entry: dict) -> bool:
    if table == "insecure_attribute":
        for node in ast.walk(file.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if http_clients.insecure_assignment(file, target, node.value) is entry:
                        return True
        return False
    return any(api.entry is entry for call in _calls(file)
               for api in http_clients.candidates(file, call))


@pytest.mark.parametrize("table,entry", _entries("http_clients", ("function", "method",
                                                                  "insecure_attribute")))
def test_http_client_examples(table, entry):
    assert entry.get("match"), "every entry needs match examples"
    assert entry.get("no_match"), "every entry needs no_match examples"
    for example in entry["match"]:
        assert _http_hits(parse_example(example), table, entry), f"not recognised:\n{example}"
    for example in entry["no_match"]:
        assert not _http_hits(parse_example(example), table, entry), f"wrongly recognised:\n{example}"


# -- cache_clients --------------------------------------------------------------------------

def _cache_last(file):
    """The kind and table of the module's last recognised cache call (or its client)."""
    found = None
    index = cache_clients.ReceiverIndex(file)
    for call in _calls(file):
        method = cache_clients.classify_method(file, call, index, _scope_of(file, call))
        if method is not None:
            found = (method.receiver.kind, method.table, call.func.attr)
    return found


@pytest.mark.parametrize("table,entry", _entries("cache_clients", ("client", "write", "delete",
                                                                   "expire")))
def test_cache_client_examples(table, entry):
    assert entry.get("match") and entry.get("no_match")
    for example in entry["match"]:
        found = _cache_last(parse_example(example))
        assert found is not None, f"not recognised:\n{example}"
        kind, found_table, name = found
        assert kind == entry["kind"], f"{example}: kind {kind}"
        if table != "client":
            assert found_table == table and name in entry["names"], f"{example}: {found}"
    for example in entry["no_match"]:
        found = _cache_last(parse_example(example))
        if table == "client":
            assert found is None or found[0] != entry["kind"], f"wrongly recognised:\n{example}"
        else:
            assert found is None or found[1] != table or found[2] not in entry["names"], \
                f"wrongly recognised:\n{example}"


# -- task_queues ----------------------------------------------------------------------------

def _first_function(file):
    return next(node for node in ast.walk(file.tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _task_hits(file, table: str, entry: dict) -> bool:
    if table in ("task_decorator", "enqueue"):
        return any(job.framework == entry["framework"] and (
            (table == "enqueue") == (job.enqueue is not None)) for job in tasks.find_jobs(file))
    function = _first_function(file)
    if table == "io":
        return any(e.kind == entry["kind"] for e in tasks.io_evidence(file, function))
    if table == "non_idempotent":
        return any(e.kind == entry["kind"] for e in tasks.non_idempotent_writes(file, function))
    if table == "guard":
        return bool(tasks.idempotency_guards(file, function))
    raise AssertionError(table)


@pytest.mark.parametrize("table,entry", _entries("task_queues", ("task_decorator", "enqueue", "io",
                                                                 "non_idempotent", "guard")))
def test_task_queue_examples(table, entry):
    assert entry.get("match") and entry.get("no_match")
    for example in entry["match"]:
        assert _task_hits(parse_example(example), table, entry), f"not recognised:\n{example}"
    for example in entry["no_match"]:
        assert not _task_hits(parse_example(example), table, entry), f"wrongly recognised:\n{example}"


def test_knowledge_tables_are_known():
    expected = {
        "http_clients": {"function", "method", "insecure_attribute"},
        "cache_clients": {"client", "write", "delete", "expire"},
        "task_queues": {"task_decorator", "enqueue", "io", "non_idempotent", "guard"},
    }
    for base, tables in expected.items():
        assert set(knowledge.load(base)) == tables, base


# -- helpers ---------------------------------------------------------------------------------

def test_string_pieces_and_prefix():
    def expr(text):
        return ast.parse(text, mode="eval").body

    assert calls.constant_prefix(expr('f"http://api.x.com/{v}"')) == "http://api.x.com/"
    assert calls.constant_prefix(expr('"http://" + host')) == "http://"
    assert calls.constant_prefix(expr('host + "/x"')) is None
    assert calls.constant_text(expr('"user:%s:*" % uid')) == "user::*"
    assert calls.constant_text(expr('"user:{}:*".format(uid)')) == "user::*"
    assert calls.constant(expr('[1, "a", None, -2]')) == [1, "a", None, -2]
    assert calls.constant(expr("x")) is calls.MISSING


@pytest.mark.parametrize("path,dev", [
    ("mysite/settings/dev.py", True), ("settings/local.py", True), ("conftest.py", True),
    ("app/tests/test_views.py", True), ("local_settings.py", True),
    ("mysite/settings/production.py", False), ("mysite/settings.py", False),
    ("app/views.py", False), ("mysite/settings/base.py", False), ("latest.py", False),
])
def test_dev_paths(path, dev):
    assert settings_modules.is_dev_or_test(path) is dev


# -- BL301 on configuration files ------------------------------------------------------------

def _run(tmp_path: Path, name: str, text: str, rule: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    setup = Setup.build(Config(root=tmp_path, select=[rule]))
    return analyse_file(SourcePath(name, path, classify(path)), setup).findings


@pytest.mark.parametrize("name,text,lines", [
    (".env", "DEBUG=0\nPYTHONHTTPSVERIFY=0\nOTHER=1\n", [2]),
    (".env", "export PYTHONHTTPSVERIFY=0\n", [1]),
    (".env", "PYTHONHTTPSVERIFY=1\n", []),
    (".env", "# PYTHONHTTPSVERIFY=0 would be bad\n", []),
    ("docker-compose.yml", "services:\n  web:\n    environment:\n      PYTHONHTTPSVERIFY: \"0\"\n", [4]),
    ("docker-compose.yml", "services:\n  web:\n    environment:\n      - PYTHONHTTPSVERIFY=0\n", [4]),
    ("docker-compose.yml", "services:\n  web:\n    environment:\n      PYTHONHTTPSVERIFY: \"1\"\n", []),
])
def test_bl301_config_files(tmp_path, name, text, lines):
    findings = _run(tmp_path, name, text, "BL301")
    assert sorted(f.location.line for f in findings if f.rule_id == "BL301") == lines
