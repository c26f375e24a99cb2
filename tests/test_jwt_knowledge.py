"""The JWT knowledge base (rules/jwt.toml): every entry's `match` examples must be recognised
as that entry by `backendlint.python.jwt_helpers`, its `no_match` examples must not; and the
static duration / claims evaluation the JWT rules rely on."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backendlint import knowledge
from backendlint.python import jwt_helpers as jh
from backendlint.python.context import PythonFile
from backendlint.python.walk import build_dispatch, walk

BASE = knowledge.load("jwt")
CALL_TABLES = ("encode", "decode", "unverified", "token_factory", "jwt_class", "lifetime_argument")


def _file(code: str) -> PythonFile:
    file = PythonFile(Path("example.py"), "example.py", code)
    file.tree = ast.parse(code)
    enter, leave = build_dispatch([file.names])
    walk(file.tree, file.ancestors, enter, leave, lambda *a: None)
    return file


def _recognised(code: str) -> list[jh.JwtCall]:
    file = _file(code)
    return [jc for node in ast.walk(file.tree) if isinstance(node, ast.Call)
            for jc in [jh.classify_call(file, node)] if jc is not None]


def _settings(code: str) -> set[str]:
    names = set(jh.jwt_knowledge().settings)
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Constant) and node.value in names:
            found.add(node.value)
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(node.id)
        elif isinstance(node, ast.keyword) and node.arg in names:
            found.add(node.arg)
    return found


CASES = [(table, index, entry) for table in CALL_TABLES
         for index, entry in enumerate(BASE.get(table, []))]
SETTING_CASES = list(enumerate(BASE.get("lifetime_setting", [])))


def test_every_entry_has_examples():
    for table, entries in BASE.items():
        for entry in entries:
            assert entry.get("match"), f"[[{table}]] {entry} has no match examples"
            assert entry.get("no_match"), f"[[{table}]] {entry} has no no_match examples"


@pytest.mark.parametrize("table,index,entry", CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_call_entry_examples(table, index, entry):
    for code in entry["match"]:
        found = _recognised(code)
        assert any(jc.table == table and jc.api.entry is entry for jc in found) or any(
            jc.table == table and jc.library == entry.get("library") for jc in found), \
            f"[[{table}]] #{index}: not recognised:\n{code}"
    for code in entry["no_match"]:
        found = [jc for jc in _recognised(code) if jc.api.entry is entry]
        assert not found, f"[[{table}]] #{index}: recognised but should not be:\n{code}"


@pytest.mark.parametrize("index,entry", SETTING_CASES)
def test_setting_entry_examples(index, entry):
    for code in entry["match"]:
        assert _settings(code) & set(entry["names"]), f"setting not found in:\n{code}"
    for code in entry["no_match"]:
        assert not _settings(code) & set(entry["names"]), f"setting found in:\n{code}"


def test_libraries_are_told_apart():
    pyjwt = _recognised("import jwt\njwt.decode(t, k, algorithms=['HS256'])")
    jose = _recognised("from jose import jwt\njwt.decode(t, k, algorithms=['HS256'])")
    authlib = _recognised("from authlib.jose import jwt\njwt.decode(t, k)")
    assert [jc.library for jc in pyjwt] == ["PyJWT"]
    assert [jc.library for jc in jose] == ["python-jose"]
    assert [jc.library for jc in authlib] == ["authlib"]


def test_unimported_jwt_is_unresolved():
    found = _recognised("def f(jwt, t):\n    return jwt.encode({'a': 1}, 'k')\n")
    assert [jc.library for jc in found] == [jh.UNRESOLVED]
    assert _recognised("def f(codec, t):\n    return codec.encode(t)\n") == []


def _duration(expr: str, prelude: str = "from datetime import timedelta\n") -> float | None:
    file = _file(prelude + f"VALUE = {expr}\n")
    value = file.tree.body[-1].value
    return jh.TimeEvaluator(file).duration(value, None).seconds


@pytest.mark.parametrize("expr,seconds", [
    ("timedelta(days=7)", 7 * 86400),
    ("timedelta(hours=1, minutes=30)", 5400),
    ("timedelta(0, 900)", 900),
    ("timedelta(minutes=60 * 24 * 8)", 8 * 86400),
    ("2 * timedelta(hours=3)", 6 * 3600),
    ("3600", 3600),
    ("timedelta(minutes=EXPIRE)", None),
])
def test_durations(expr, seconds):
    assert _duration(expr) == seconds


def _expiry(expr: str) -> float | None:
    code = ("import time\nfrom datetime import datetime, timedelta, timezone\n"
            "MINUTES = 30\n" f"def f():\n    now = datetime.now(timezone.utc)\n    return {expr}\n")
    file = _file(code)
    function = file.tree.body[-1]
    value = function.body[-1].value
    return jh.TimeEvaluator(file, now=1_700_000_000).expiry(value, function).seconds


@pytest.mark.parametrize("expr,seconds", [
    ("datetime.utcnow() + timedelta(days=1)", 86400),
    ("now + timedelta(minutes=MINUTES)", 1800),
    ("int(time.time()) + 3600", 3600),
    ("int((now + timedelta(hours=2)).timestamp())", 7200),
    ("1_700_000_600", 600),
    ("time.time() - 10", -10),
    ("other + timedelta(days=1)", None),
])
def test_expiry(expr, seconds):
    result = _expiry(expr)
    assert result == seconds


def _claims(body: str):
    code = "def f(user, data):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    file = _file(code)
    function = file.tree.body[0]
    ret = function.body[-1]
    return jh.ClaimsEvaluator(file).evaluate(ret.value, function, ret.lineno)


def test_claims_literal_and_mutations():
    claims = _claims("p = {'sub': user.id}\np['exp'] = 1\nreturn p")
    assert claims.complete and claims.has("exp")
    claims = _claims("p = {'sub': user.id}\nreturn p")
    assert claims.complete and not claims.has("exp")
    claims = _claims("p = dict(sub=user.id)\np.update(exp=2)\nreturn p")
    assert claims.has("exp")
    claims = _claims("p = {'sub': user.id}\nenrich(p)\nreturn p")
    assert not claims.complete
    claims = _claims("p = data.copy()\nreturn p")
    assert not claims.complete and claims.parameter is not None
    claims = _claims("return {**data, 'exp': 3}")
    assert claims.has("exp")


# -- rule options, through the engine ---------------------------------------------------

def _findings(tmp_path, code: str, rule: str, options: dict | None = None):
    from backendlint.config import Config
    from backendlint.discovery import SourcePath
    from backendlint.engine import Setup, analyse_file

    path = tmp_path / "service.py"
    path.write_text(code, encoding="utf-8")
    config = Config(root=tmp_path, select=[rule], rule_options={rule: options or {}})
    return analyse_file(SourcePath("service.py", path, "python"), Setup.build(config)).findings


WEEK_TOKEN = ("import jwt\nfrom datetime import datetime, timedelta\n"
              "def issue(u):\n"
              "    return jwt.encode({'sub': u, 'exp': datetime.utcnow() + timedelta(days=7)}, 'k')\n")


def test_max_access_minutes_option(tmp_path):
    assert len(_findings(tmp_path, WEEK_TOKEN, "BL206")) == 1
    assert _findings(tmp_path, WEEK_TOKEN, "BL206", {"max-access-minutes": 7 * 24 * 60}) == []


def test_max_refresh_days_option(tmp_path):
    code = WEEK_TOKEN.replace("'sub': u", "'sub': u, 'type': 'refresh'")
    assert _findings(tmp_path, code, "BL206") == []
    assert len(_findings(tmp_path, code, "BL206", {"max-refresh-days": 3})) == 1


def test_redacting_functions_option(tmp_path):
    code = ("import logging\nlog = logging.getLogger(__name__)\n"
            "def f(password):\n    log.info('pw %s', shorten(password))\n"
            "    log.info('pw %s', password)\n")
    # An unknown function of the secret is not judged; the bare secret is.
    assert [f.location.line for f in _findings(tmp_path, code, "BL210")] == [5]
    code = code.replace("shorten(password)", "password")
    assert len(_findings(tmp_path, code, "BL210")) == 2


def test_redacting_functions_option_silences(tmp_path):
    code = ("import logging\nlog = logging.getLogger(__name__)\n"
            "def f(pw):\n    log.info('login', password=scramble(pw))\n")
    assert len(_findings(tmp_path, code, "BL210")) == 1
    assert _findings(tmp_path, code, "BL210", {"redacting-functions": ["scramble"]}) == []


def test_cookie_name_patterns_option(tmp_path):
    code = "def view(resp, v):\n    resp.set_cookie('wallet_key', v)\n"
    assert _findings(tmp_path, code, "BL208") == []
    assert len(_findings(tmp_path, code, "BL208", {"cookie-name-patterns": ["wallet"]})) == 1
