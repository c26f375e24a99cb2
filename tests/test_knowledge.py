"""Every entry of the `sql_sinks` knowledge base carries match / no-match examples; each is
run here through the same code the engine uses (matcher, receiver classification, string
rebuilding), so the knowledge file cannot drift from what the analyser does."""
from __future__ import annotations

import ast
import textwrap

import pytest

from backendlint import knowledge
from backendlint.python.context import PythonFile
from backendlint.python.embedded import KNOWN, EmbeddedSql, SinkMatcher
from backendlint.python.walk import build_dispatch, walk

SINKS = knowledge.load("sql_sinks")
MATCHER = SinkMatcher(SINKS)


def _entries(table: str):
    return [pytest.param(entry, id=f"{table}-{i}-{entry.get('api') or entry.get('names', ['?'])[0]}")
            for i, entry in enumerate(SINKS.get(table, []))]


def analyse(code: str):
    """The `PythonFile` after the engine's embedded-SQL visitor has walked `code`."""
    code = textwrap.dedent(code)
    file = PythonFile(None, "example.py", code)
    file.tree = ast.parse(code)
    visitors = [file.names, EmbeddedSql(file, MATCHER, "postgres")]
    enter, leave = build_dispatch(visitors)

    def on_error(visitor, exc, node):
        raise exc

    walk(file.tree, file.ancestors, enter, leave, on_error)
    return file


def matched_entries(code: str):
    file = PythonFile(None, "example.py", code)
    file.tree = ast.parse(code)
    for node in ast.walk(file.tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            getattr(file.names, f"visit_{type(node).__name__}")(node)
    found = []
    for node in ast.walk(file.tree):
        if isinstance(node, ast.Call):
            found.extend(entry for entry, _ in MATCHER.match_all(node, file.qualname))
    return found


@pytest.mark.parametrize("entry", _entries("method") + _entries("function"))
def test_sink_examples(entry):
    assert entry.get("match"), "every sink entry needs match examples"
    assert entry.get("no_match"), "every sink entry needs no_match examples"
    assert entry.get("api"), "every sink entry needs an api label"
    for example in entry["match"]:
        assert any(found is entry for found in matched_entries(example)), \
            f"not matched as {entry.get('api')}: {example!r}"
    for example in entry["no_match"]:
        assert not matched_entries(example), f"wrongly matched as a sink: {example!r}"


@pytest.mark.parametrize("entry", _entries("receiver"))
def test_receiver_examples(entry):
    for example in entry["match"]:
        calls = analyse(example).sql_calls
        assert calls and calls[-1].receiver == KNOWN, f"receiver not known in: {example!r}"
    for example in entry["no_match"]:
        calls = analyse(example).sql_calls
        assert calls and calls[-1].receiver != KNOWN, f"receiver wrongly known in: {example!r}"


@pytest.mark.parametrize("entry", _entries("safe"))
def test_safe_examples(entry):
    for example in entry["match"]:
        calls = analyse(example).sql_calls
        assert calls and not any(c.built.built_holes for c in calls), \
            f"unsafe SQL built in: {example!r}"
    for example in entry["no_match"]:
        calls = analyse(example).sql_calls
        assert calls and any(c.built.built_holes for c in calls), f"no SQL built in: {example!r}"


def test_every_table_is_known():
    assert set(SINKS) <= {"method", "function", "receiver", "safe"}


def test_conventional_receiver_names():
    file = analyse("""
        def f(cursor, self, job, db_conn, conn2):
            cursor.execute(q)
            self._cr.execute(q)
            self.session.execute(q)
            job.execute(q)
            db_conn.execute(q)
            conn2.execute(q)
            self.client.execute(q)
        """)
    kinds = [call.receiver for call in file.sql_calls]
    assert kinds == ["conventional", "conventional", "conventional", "unknown",
                     "conventional", "conventional", "unknown"]


def test_fragment_sinks_are_not_statements():
    file = analyse("""
        from sqlalchemy import literal_column
        def f(col):
            return literal_column(f"{col} + 1")
        """)
    (call,) = file.sql_calls
    assert call.statement is None and call.fragment is not None


def test_extend_knowledge_adds_a_sink(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(textwrap.dedent("""
        [[sql_sinks.method]]
        names = ["run_query"]
        argument = 0
        api = "in-house helper"
        match = ["db.run_query(q)"]
        no_match = ["db.query(q)"]
        """))
    merged = knowledge.load("sql_sinks", (str(extra),))
    matcher = SinkMatcher(merged)
    call = ast.parse("db.run_query(q)").body[0].value
    assert matcher.match(call, lambda n: None)[0]["api"] == "in-house helper"


def _bl101(tmp_path, code: str, **options):
    from backendlint.config import Config
    from backendlint.discovery import SourcePath
    from backendlint.engine import Setup, analyse_file

    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    config = Config(root=tmp_path, select=["BL101"], rule_options={"BL101": options})
    return analyse_file(SourcePath("mod.py", path, "python"), Setup.build(config)).findings


def test_safe_functions_option(tmp_path):
    code = """
        from myapp.db import clean_name
        def f(cur, table):
            cur.execute(f"SELECT id FROM {clean_name(table)}")
            name = clean_name(table)
            cur.execute("SELECT id FROM " + name)
        """
    assert len(_bl101(tmp_path, code)) == 2
    assert _bl101(tmp_path, code, **{"safe-functions": ["myapp.db.clean_name"]}) == []
    assert _bl101(tmp_path, code, **{"safe-functions": ["clean_name"]}) == []


def test_unknown_receivers_option(tmp_path):
    code = """
        def f(client, name):
            client.execute(f"SELECT id FROM users WHERE name = '{name}'")
        """
    (finding,) = _bl101(tmp_path, code)
    assert finding.confidence.value == "medium"
    assert _bl101(tmp_path, code, **{"report-unknown-receivers": False}) == []


def test_extend_knowledge_sink_is_used_by_the_engine(tmp_path):
    from backendlint.config import Config
    from backendlint.discovery import SourcePath
    from backendlint.engine import Setup, analyse_file

    (tmp_path / "sinks.toml").write_text(textwrap.dedent("""
        [[sql_sinks.method]]
        names = ["run_query"]
        argument = 0
        api = "in-house helper"
        match = ["db.run_query(q)"]
        no_match = ["db.query(q)"]
        """))
    path = tmp_path / "mod.py"
    path.write_text("def f(db, name):\n    db.run_query(f\"SELECT id FROM t WHERE n = '{name}'\")\n")
    config = Config(root=tmp_path, select=["BL101"], extend_knowledge=[str(tmp_path / "sinks.toml")])
    findings = analyse_file(SourcePath("mod.py", path, "python"), Setup.build(config)).findings
    assert [f.rule_id for f in findings] == ["BL101"]
