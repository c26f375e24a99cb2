"""String rebuilding (python.strings + python.dataflow): what a sink's SQL argument is
rebuilt to, as text with `{}` for each non-constant part."""
from __future__ import annotations

import ast
import textwrap

import pytest

from backendlint.python.context import PythonFile
from backendlint.python.parse import parse_python
from backendlint.python.strings import StringResolver


def rebuild(code: str, target: str = "q"):
    """Rebuild the argument of the last `sink(...)` call in `code` (or the last use of the
    name `target`); returns (text with {} holes, Built)."""
    code = textwrap.dedent(code)
    file = PythonFile(None, "example.py", code)
    file.tree = parse_python(code, "example.py")
    for node in ast.walk(file.tree):
        if isinstance(node, ast.Import):
            file.names.visit_Import(node)
        elif isinstance(node, ast.ImportFrom):
            file.names.visit_ImportFrom(node)
    scope, query = None, None
    stack = [(file.tree, None)]
    while stack:
        node, fn = stack.pop()
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            if isinstance(child, ast.Call) and getattr(child.func, "id", None) == "sink":
                if query is None or child.lineno > query.lineno:
                    scope, query = fn, child.args[0]
            stack.append((child, inner))
    assert query is not None, "no sink(...) call in the example"
    built = StringResolver(file).resolve(query, scope)
    return built.text(lambda i, hole: "{}"), built


def text(code: str) -> str:
    return rebuild(code)[0]


def test_literal_and_concatenation():
    assert text("def f(uid):\n    sink('SELECT a FROM t WHERE id = ' + uid)") == "SELECT a FROM t WHERE id = {}"


def test_fstring_format_percent():
    assert text("def f(x):\n    sink(f'SELECT {x}')") == "SELECT {}"
    assert text("def f(x):\n    sink('SELECT {}'.format(x))") == "SELECT {}"
    assert text("def f(x):\n    sink('SELECT %s FROM t' % x)") == "SELECT {} FROM t"
    assert text("def f(x):\n    sink('SELECT %(a)s' % {'a': x})") == "SELECT {}"


def test_numbers_are_constant():
    _, built = rebuild("def f(n):\n    sink(f'SELECT a FROM t LIMIT {int(n)} OFFSET {n:d}')")
    assert built.is_constant
    _, built = rebuild("def f(n):\n    sink('SELECT a FROM t LIMIT %d' % n)")
    assert built.is_constant


def test_module_constants_and_class_attributes():
    code = """
        TABLE = "users"
        COLUMNS = ", ".join(["id", "email"])
        class Repo:
            BASE = f"SELECT {COLUMNS} FROM {TABLE}"
            def get(self):
                sink(self.BASE + " WHERE id = %s")
        """
    built_text, built = rebuild(code)
    assert built.is_constant
    assert built_text == "SELECT id, email FROM users WHERE id = %s"


def test_reassignment_is_flow_sensitive():
    code = """
        def f(uid):
            q = "SELECT a FROM t WHERE id = " + uid
            q = "SELECT a FROM t WHERE id = %s"
            sink(q)
        """
    assert rebuild(code)[1].is_constant


def test_branches_keep_the_built_variant():
    code = """
        def f(uid, flag):
            q = "SELECT a FROM t"
            if flag:
                q = "SELECT a FROM t WHERE id = " + uid
            sink(q)
        """
    assert text(code) == "SELECT a FROM t WHERE id = {}"


def test_constant_condition_makes_a_branch_dead():
    code = """
        def f(param):
            num = 86
            if (7 * 42) - num > 200:
                bar = "safe"
            else:
                bar = param
            sink(f"SELECT a FROM t WHERE b = '{bar}'")
        """
    assert rebuild(code)[1].is_constant
    code = code.replace("> 200", "< 200")
    assert text(code) == "SELECT a FROM t WHERE b = '{}'"


def test_augmented_assignment_in_a_loop():
    code = """
        def f(names):
            q = "SELECT id FROM t WHERE 1 = 1"
            for name in names:
                q += " OR name = '" + name + "'"
            sink(q)
        """
    assert text(code).startswith("SELECT id FROM t WHERE 1 = 1 OR name = '{}'")


def test_placeholder_lists_stay_constant():
    for expr in ('",".join("?" * len(ids))', '", ".join(["%s"] * len(ids))',
                 '", ".join("%s" for _ in ids)', '",".join(["?"] * n)',
                 '", ".join(f"${i + 1}" for i in range(len(ids)))'):
        code = f"def f(ids, n):\n    p = {expr}\n    sink(f'SELECT a FROM t WHERE id IN ({{p}})')"
        assert rebuild(code)[1].is_constant, expr


def test_join_of_values_is_a_hole():
    code = "def f(names):\n    sink('SELECT a FROM t WHERE n IN (' + ', '.join(names) + ')')"
    assert text(code) == "SELECT a FROM t WHERE n IN ({})"


def test_containers_with_constant_keys():
    code = """
        def f(param):
            m = {}
            m["a"] = "safe"
            m["b"] = param
            bar = m["a"]
            sink("SELECT x FROM t WHERE y = '" + bar + "'")
        """
    assert rebuild(code)[1].is_constant
    assert not rebuild(code.replace('m["a"]\n', 'm["b"]\n'))[1].is_constant


def test_list_operations():
    code = """
        def f(param):
            values = ["safe", param, "moresafe"]
            values.pop(0)
            bar = values[1]
            sink("SELECT x FROM t WHERE y = '" + bar + "'")
        """
    assert rebuild(code)[1].is_constant
    assert not rebuild(code.replace("values[1]", "values[0]"))[1].is_constant


def test_helper_function_returning_built_sql():
    code = """
        def build(name):
            return "SELECT id FROM users WHERE name = '" + name + "'"

        def view(param):
            sink(build(param))
        """
    assert text(code) == "SELECT id FROM users WHERE name = '{}'"
    safe = code.replace("build(param)", "build('bob')")
    assert rebuild(safe)[1].is_constant


def test_allow_list_check_marks_the_value():
    code = """
        ALLOWED = {"a", "b"}
        def f(col):
            if col not in ALLOWED:
                raise ValueError(col)
            sink(f"SELECT id FROM t ORDER BY {col}")
        """
    (hole,) = rebuild(code)[1].built_holes
    assert hole.checked


def test_origin_is_recorded():
    code = """
        from flask import request
        def view():
            uid = request.args.get("uid")
            sink("SELECT a FROM t WHERE id = " + uid)
        """
    (hole,) = rebuild(code)[1].built_holes
    assert "request data" in hole.origin and "`uid` from line 4" in hole.origin


def test_ten_thousand_term_chain_does_not_recurse():
    chain = "q = 'SELECT a FROM t WHERE b = ' " + " + uid" * 10_000
    built_text, built = rebuild("def f(uid):\n    " + chain + "\n    sink(q)\n")
    assert len(built.built_holes) == 10_000
    assert built_text.startswith("SELECT a FROM t WHERE b = {}{}")


def test_ten_thousand_augmented_assignments():
    body = "\n".join("    q += ' AND b = ' + uid" for _ in range(10_000))
    code = f"def f(uid):\n    q = 'SELECT a FROM t WHERE 1 = 1'\n{body}\n    sink(q)\n"
    built = rebuild(code)[1]
    assert 500 <= len(built.built_holes) <= 10_000  # growth stops at a bound, quickly


def test_deeply_nested_calls_degrade_to_unknown():
    code = "def f(x):\n    sink(" + "str(" * 180 + "x" + ")" * 180 + ")\n"
    _, built = rebuild(code)
    assert not built.is_constant


def test_deep_subscripts_and_attributes():
    code = "def f(x):\n    sink('SELECT a FROM t WHERE b = ' + x" + "[0]" * 5000 + ".y" * 5000 + ")\n"
    built_text, built = rebuild(code)
    assert built_text == "SELECT a FROM t WHERE b = {}"


def test_deep_right_nested_concatenation():
    inner = "uid"
    for _ in range(180):
        inner = f"('a' + {inner})"
    _, built = rebuild(f"def f(uid):\n    sink('SELECT a FROM t WHERE b = ' + {inner})\n")
    assert not built.is_constant


def test_deeply_nested_blocks():
    body, indent = [], "    "
    for i in range(90):
        body.append(f"{indent}if x{i}:")
        indent += "    "
    body.append(f"{indent}sink('SELECT a FROM t WHERE b = ' + x0)")
    _, built = rebuild("def f(x0):\n" + "\n".join(body) + "\n")
    assert not built.is_constant


# -- where a value lands (sql.placement) ---------------------------------------------

@pytest.mark.parametrize("sql, expected", [
    ("SELECT a FROM t WHERE id = bl_hole_0", "value"),
    ("SELECT a FROM t WHERE name = 'bl_hole_0'", "value"),
    ("SELECT a FROM t WHERE note LIKE '%bl_hole_0%'", "value"),
    ("SELECT a FROM t LIMIT bl_hole_0", "value"),
    ("INSERT INTO t (a, b) VALUES (bl_hole_0, 'x')", "value"),
    ("SELECT a FROM t WHERE id IN (bl_hole_0)", "value"),
    ("SELECT price * bl_hole_0 FROM t", "value"),
    ("SELECT a FROM bl_hole_0", "identifier"),
    ("SELECT a FROM t ORDER BY bl_hole_0", "identifier"),
    ("SELECT bl_hole_0 FROM t", "identifier"),
    ("SELECT a FROM logs_bl_hole_0", "identifier"),
    ("SELECT a FROM t WHERE bl_hole_0", "fragment"),
    ("SELECT a FROM t WHERE x = 1 AND bl_hole_0", "fragment"),
])
def test_placement(sql, expected):
    from backendlint.sql import placement
    from backendlint.sql.statements import parse_one

    tree, _ = parse_one(sql, "postgres")
    assert tree is not None
    in_strings = placement.markers_in_strings(sql, "bl_hole_", "postgres")
    found = placement.VALUE if "bl_hole_0" in in_strings else placement.placement(tree, "bl_hole_0")
    assert found == expected


def test_placement_without_a_tree():
    from backendlint.sql import placement

    assert placement.placement_without_tree(
        "SELECT id FROM t ORDER BY created bl_hole_0", "bl_hole_0", "postgres") == placement.KEYWORD
    assert placement.placement_without_tree(
        "SELECT {{ x }} FROM t WHERE a = bl_hole_0 {{", "bl_hole_0", "postgres") == placement.VALUE


def test_markers_in_strings_survive_normalisation():
    from backendlint.sql import placement

    sql = "SELECT id FROM t WHERE due < now() - interval 'bl_hole_0 days' AND a = bl_hole_1"
    assert placement.markers_in_strings(sql, "bl_hole_", "postgres") == {"bl_hole_0"}
