"""The engine's shortcuts (per-rule trigger words, the node index) skip work, never findings."""
from __future__ import annotations

from pathlib import Path

from backendlint import engine
from backendlint.config import Config
from backendlint.extract import all_extractors
from backendlint.registry import all_rules
from helpers import VULNERABLE, write


def test_trigger_words_are_lower_case():
    # Files are matched lower-cased; an upper-case trigger word would never match.
    for rule in all_rules().values():
        assert all(w == w.lower() for w in rule.meta.triggers), rule.meta.id
    for extractor in all_extractors():
        assert all(w == w.lower() for w in extractor.triggers), extractor.__name__


def test_rules_run_only_on_files_with_their_trigger_words(tmp_path, monkeypatch):
    root = write(tmp_path, {"db.py": VULNERABLE, "tls.py": "import requests\nrequests.get(u, verify=False)\n"})
    created: dict[str, list[str]] = {}
    original = engine._Run.rules

    def rules(self, classes, file):
        made = original(self, classes, file)
        created.setdefault(Path(file.relpath).name, []).extend(r.meta.id for r in made)
        return made

    monkeypatch.setattr(engine._Run, "rules", rules)
    report = engine.check([root], Config(root=root))
    found = {(Path(f.location.path).name, f.rule_id) for f in report.findings}
    assert ("db.py", "BL101") in found and ("tls.py", "BL301") in found
    # BL301's words (verify, ssl, ...) are not in db.py, BL101's (execute, sql, ...) not in tls.py.
    assert "BL301" not in created["db.py"] and "BL101" in created["db.py"]
    assert "BL101" not in created["tls.py"] and "BL301" in created["tls.py"]


def test_trigger_word_search_matches_plain_substring_search():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("abcjwt_01 .:/({é\n\tKEY"))
    texts = st.text(alphabet=alphabet, max_size=80)
    words = st.lists(st.text(alphabet=st.sampled_from(list("abcjwt_01.:/({")), min_size=1, max_size=5),
                     max_size=6)

    @settings(max_examples=400, deadline=None)
    @given(texts, words)
    def same(text, wanted):
        assert engine._Words(text).any_of(wanted) == any(w in text.lower() for w in wanted)

    same()


def test_files_without_sink_names_are_skipped_but_odd_spellings_are_not(tmp_path):
    from backendlint import knowledge
    from backendlint.python.embedded import SinkMatcher

    matcher = SinkMatcher(knowledge.load("sql_sinks"))
    assert not matcher.may_hold_sinks("def f(x):\n    return x.strip()\n")
    # A sink name split from its receiver by blanks, a line continuation or a comment.
    assert matcher.may_hold_sinks("cur . execute(q)\n")
    assert matcher.may_hold_sinks("cur.\\\n    execute(q)\n")
    assert matcher.may_hold_sinks("(cur.  # run it\n    execute(q))\n")
    # Function sinks under another name: the import still spells the qualified name.
    assert matcher.may_hold_sinks("from sqlalchemy import text as T\nT(q)\n")
    # Python reads identifiers NFKC-normalised: full-width letters are the same name.
    assert matcher.may_hold_sinks("cur.\uff45\uff58\uff45\uff43\uff55\uff54\uff45(q)\n")
    # Comment and continuation runs that made an earlier pattern backtrack exponentially
    # (this call would not return): no timing, a hang is the failure.
    assert not matcher.may_hold_sinks(".  " + "#" * 20_000 + "\n" + ". \\\n" * 2_000)


def test_aliased_function_sink_is_still_found(tmp_path):
    root = write(tmp_path, {"q.py": "from sqlalchemy import text as T\n\n\ndef f(conn, name):\n"
                                     "    return conn.execute(T(f\"SELECT id FROM users WHERE name = '{name}'\"))\n"})
    report = engine.check([root], Config(root=root))
    assert "BL101" in {f.rule_id for f in report.findings}
