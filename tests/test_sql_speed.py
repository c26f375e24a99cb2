"""SQL files are tokenized once and each statement parsed from its token slice: the results
(trees, node positions, error messages) must be those of parsing each statement alone."""
from __future__ import annotations

from types import SimpleNamespace

from backendlint.sql import statements as st

SQL = """-- a leading comment
select a from t where b = 1;

select * from (values (1)) v;
select from where;  -- broken
WITH RECURSIVE x(id) AS (values (1) UNION ALL SELECT id + 1 FROM x) SELECT * FROM x;
select a from t where b = 1;
"""


def test_same_as_each_statement_alone():
    parsed = list(st.parse_statements(SQL, "postgres"))
    assert [(s, e) for s, e, *_ in parsed] == st.split_statements(SQL, "postgres")
    for start, end, tree, error, offsets, tokens in parsed:
        alone, alone_error = st.parse_one(SQL[start:end], "postgres")
        assert error == alone_error  # "Line N, Col: M" relative to the statement
        assert (tree is None) == (alone is None)
        if tree is None:
            continue
        assert tree.sql() == alone.sql()
        assert tokens[0].start == start
        # Every node maps to the same place in the file, synthetic ones (offset 0) included.
        for node, other in zip(tree.walk(), alone.walk()):
            if node.meta.get("start") is not None:
                assert offsets(node.meta["start"], node.meta["end"]) == (
                    start + other.meta["start"], start + other.meta["end"])


def test_untokenizable_file_is_one_statement():
    [(start, end, tree, error, offsets, tokens)] = st.parse_statements("select 'open", "postgres")
    assert (start, end, tree, tokens) == (0, 12, None, None) and error


def test_compiled_sqlglot_type_error_message(monkeypatch):
    monkeypatch.setattr(st, "_compiled_sqlglot", lambda: True)
    assert st._crash_message(TypeError("x")) == "sqlglot could not parse it (TypeError in compiled sqlglot)"
    assert st._crash_message(KeyError("x")) == "sqlglot failed: KeyError"


def _facts(text: str, embedded: bool = False):
    from backendlint.extract.sql_queries import SqlQueries

    tree, _ = st.parse_one(text, "postgres")
    statement = st.SqlStatement(text, tree, lambda s, e: None, "here", embedded=embedded)
    extractor = SqlQueries.__new__(SqlQueries)
    found = []
    extractor.emit = found.append
    extractor.file = SimpleNamespace()
    extractor.check(statement)
    return found


def test_query_preview_is_the_statement_text():
    [outer, inner] = _facts("select a -- why\n  from t where b in (select c from u where d = 1)")
    assert outer.text == "select a /* why */ from t where b in (select c from u where d = 1)"
    assert inner.text == "SELECT c FROM u WHERE d = 1"  # a nested scope: generated


def test_hole_past_the_preview_is_seen():
    columns = ", ".join(f"column_{n}" for n in range(12))
    text = f"select {columns} from users bl_hole_0"  # the hole (here an alias) is no column
    [fact] = _facts(text, embedded=True)
    assert "bl_hole" not in fact.text and "bl_hole" in fact.mentioned
