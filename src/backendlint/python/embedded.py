"""Finds the calls that run SQL (sinks, from the `sql_sinks` knowledge base), rebuilds
the SQL string each one receives, and turns it into a `SqlStatement` located in the
Python file. Runs inside the shared walk; the SQL rules and BL101 read its results.

How sure we are that a call runs SQL depends on its receiver:
- `function` sinks are known by qualified name through the imports (`sqlalchemy.text`);
- a method sink on a receiver whose value is known to be a database handle (the result
  of `sqlite3.connect()`, `.cursor()`, `with conn.cursor() as cur`, an annotated
  parameter, `django.db.connection`...) is `known`;
- on a receiver with a conventional name (`cur`, `cursor`, `conn`, `db`, `session`...)
  it is `conventional`;
- on anything else it is `unknown`: the string must then read as SQL *and* parse with
  sqlglot, and findings on it are capped at medium confidence."""
from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass, field

from ..findings import Confidence, Location
from ..sql.statements import SqlStatement, looks_like_sql, parse_one
from .strings import Built, Hole, Piece, StringResolver

HOLE_MARK = "bl_hole_"
KNOWN, CONVENTIONAL, UNKNOWN = "known", "conventional", "unknown"

# Wrappers that make an SQL fragment (an expression, a WHERE condition) a statement that
# sqlglot can parse, so that the position of an interpolated value can be told.
_FRAGMENT_WRAPPERS = {
    "expression": ("SELECT ", " FROM bl_fragment"),
    "where": ("SELECT 1 FROM bl_fragment WHERE ", ""),
    "order": ("SELECT 1 FROM bl_fragment ORDER BY ", ""),
    "table": ("SELECT 1 FROM ", ""),
}


@dataclass
class SinkCall:
    call: ast.Call
    query: ast.AST  # the argument holding the SQL
    api: str
    built: Built
    statement: SqlStatement | None  # None when the string does not read as SQL
    receiver: str = KNOWN  # known | conventional | unknown (see the module docstring)
    # For sinks that take an SQL fragment (`literal_column`, `QuerySet.extra(where=...)`):
    # the fragment wrapped into a statement, for judging where values land. Not a real
    # statement, so the SQL rules do not see it.
    fragment: SqlStatement | None = None
    entry: dict = field(default_factory=dict, repr=False)

    @property
    def sql_text(self) -> str:
        return self.statement.text if self.statement else ""

    @property
    def judged(self) -> SqlStatement | None:
        """What BL101 reads: the statement, or the wrapped fragment."""
        return self.statement or self.fragment


class SinkMatcher:
    def __init__(self, knowledge: dict[str, list[dict]]):
        self.methods: dict[str, list[dict]] = {}
        self.functions: dict[str, dict] = {}
        self._function_ids: set[int] = set()
        for entry in knowledge.get("method", []):
            for name in entry.get("names", []):
                self.methods.setdefault(name, []).append(entry)
        for entry in knowledge.get("function", []):
            self._function_ids.add(id(entry))
            for name in _qualnames(entry):
                self.functions[name] = entry
        receivers = {"qualnames": set(), "methods": set(), "names": set()}
        for entry in knowledge.get("receiver", []):
            for key in receivers:
                receivers[key].update(entry.get(key, []))
        self.receivers = receivers
        self.conventional = re.compile(
            r"^_*(?:\w+_)?(?:%s)\d*$" % "|".join(sorted(map(re.escape, receivers["names"])) or ["cursor"]),
            re.I)
        # What the source of a sink call must hold: a method sink's name written after a
        # `.` (only blanks, line continuations and comments may come between); or both the
        # first and the last part of a function sink's qualified name (each is written
        # out, in the call or in the import). Files without any of them hold no sink.
        self._function_leaves = {name.rsplit(".", 1)[-1] for name in self.functions}
        leaves_by_head: dict[str, set[str]] = {}
        for name in self.functions:
            leaves_by_head.setdefault(name.split(".", 1)[0], set()).add(name.rsplit(".", 1)[-1])
        # (one way only to match any text between: a comment runs to its line's end, and
        # no blank starts one; an ambiguous pattern backtracks exponentially on `#####`)
        self._method_words = re.compile(r"\.(?:[\s\\]|#[^\n]*\n)*\b(?:%s)\b" % _alternatives(self.methods)) \
            if self.methods else None
        # (plain substring tests: a regex starting with `\b` scans far slower)
        self._function_words = sorted((head, tuple(sorted(leaves))) for head, leaves in leaves_by_head.items())
        words = set(self.methods) | self._function_leaves
        self._substrings = re.compile(_alternatives(words)) if words else None
        self.safe_calls: set[str] = set()
        for entry in knowledge.get("safe", []):
            self.safe_calls.update(entry.get("names", []))
            self.safe_calls.update(entry.get("qualnames", []))
            receivers.setdefault("safe_attributes", set()).update(entry.get("attributes", []))

    def may_hold_sinks(self, text: str) -> bool:
        """False when no call in this source can be a sink."""
        if self._substrings is None:
            return False
        if text.isascii():
            if self._method_words is not None and self._method_words.search(text):
                return True
            return any(head in text and any(leaf in text for leaf in leaves)
                       for head, leaves in self._function_words)
        # Python reads identifiers NFKC-normalised (`ｅｘｅｃｕｔｅ` is `execute`); in the
        # normalised text a name is still there, though maybe not between word boundaries.
        return self._substrings.search(unicodedata.normalize("NFKC", text)) is not None

    def match(self, call: ast.Call, qualname) -> tuple[dict, ast.AST] | None:
        """(knowledge entry, SQL argument) when `call` is a sink called with its SQL."""
        found = self.match_all(call, qualname)
        return found[0] if found else None

    def match_all(self, call: ast.Call, qualname) -> list[tuple[dict, ast.AST]]:
        """Every (entry, SQL argument) of the call: several for sinks taking a list of
        fragments (`QuerySet.extra(where=[...], select={...})`)."""
        entries: list[dict] = []
        func = call.func
        is_attribute = func.__class__ is ast.Attribute
        # `a.b.c(...)` can only be a function sink when `c` ends one's qualname.
        if self.functions and (not is_attribute or func.attr in self._function_leaves):
            name = qualname(func)
            if name is not None and name in self.functions:
                entries.append(self.functions[name])
        if not entries and is_attribute:
            entries = self.methods.get(func.attr, [])
        found: list[tuple[dict, ast.AST]] = []
        for entry in entries:
            found.extend((entry, query) for query in _arguments(call, entry))
            if found and not entry.get("each"):
                break
        return found

    def receiver_kind(self, call: ast.Call, entry: dict, value_of) -> str:
        """known / conventional / unknown for the sink's receiver (see module docstring)."""
        if id(entry) in self._function_ids:
            return KNOWN
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if receiver is None:
            return KNOWN
        value = value_of(receiver)
        if getattr(value, "kind", None) == "db":
            return KNOWN
        name = _last_name(receiver)
        wanted = entry.get("receivers", ())
        if name and name in wanted:
            return KNOWN
        if wanted and getattr(value, "kind", None) == "instance" and value.node is not None:
            # `self.raw(...)` inside `class BookManager(models.Manager)`
            bases = {_last_name(base) for base in getattr(value.node, "bases", [])}
            if bases & set(wanted):
                return KNOWN
        if name and self.conventional.match(name):
            return CONVENTIONAL
        return UNKNOWN


def _alternatives(words) -> str:
    return "|".join(sorted(map(re.escape, words)))


def _qualnames(entry: dict) -> list[str]:
    names = list(entry.get("qualnames", []))
    if entry.get("qualname"):
        names.insert(0, entry["qualname"])
    return names


def _last_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _last_name(node.value)
    if isinstance(node, ast.Await):
        return _last_name(node.value)
    return None


def _arguments(call: ast.Call, entry: dict) -> list[ast.AST]:
    found: list[ast.AST] = []
    position = entry.get("argument", 0)
    if position is not None and position >= 0 and len(call.args) > position \
            and not any(isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        found.append(call.args[position])
    else:
        for keyword in call.keywords:
            if keyword.arg in entry.get("keywords", ()):
                found.append(keyword.value)
    if not entry.get("each"):
        return found[:1]
    out: list[ast.AST] = []
    for value in found:
        if isinstance(value, (ast.List, ast.Tuple)):
            out.extend(e for e in value.elts if not isinstance(e, ast.Starred))
        elif isinstance(value, ast.Dict):
            out.extend(value.values)
        else:
            out.append(value)
    return out


class EmbeddedSql:
    """Engine visitor: fills `file.sql_calls` during the walk."""

    def __init__(self, file, matcher: SinkMatcher, dialect: str):
        self.file = file
        self.matcher = matcher
        self.dialect = dialect
        self.resolver = StringResolver(file, matcher.safe_calls, matcher.receivers)
        self._wrapper_map: dict | None = None
        self._matches: dict[int, list] = {}
        # Most files name no sink at all: skip them whole (and spare the node index).
        self._active = matcher.may_hold_sinks(file.text)
        file.sql_calls = []

    def visit_Call(self, node: ast.Call) -> None:
        if not self._active:
            return
        found = self._match(node)
        if not found and not self._wrappers():
            return  # most calls: neither a sink nor a call of this module's sink wrappers
        scope = self.file.enclosing_function()
        if not found:
            wrapped = self._wrapper_call(node, scope)
            if wrapped is None:
                return
            found, receiver = wrapped
        else:
            receiver = self.matcher.receiver_kind(
                node, found[0][0], lambda expr: self.resolver.value(expr, scope))
        for entry, query in found:
            built = self.resolver.resolve(query, scope)
            statement, fragment = self._statement(query, built, entry, receiver)
            self.file.sql_calls.append(SinkCall(node, query, entry.get("api", ""), built, statement,
                                                receiver, fragment, entry))

    # -- wrappers: functions of this module that pass a parameter to a sink as its SQL --
    def _wrapper_call(self, node: ast.Call, scope):
        """`query_db(f"... {x}")` where `def query_db(query, args=()): cur.execute(query, args)`
        is in this module: the call is judged like the sink inside."""
        func = node.func
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return None
        wrappers = self._wrappers()
        if not wrappers:
            return None
        target = self.resolver.interpreter.function_called(node, scope)
        if target is None or id(target) not in wrappers:
            return None
        index, name, entry, receiver = wrappers[id(target)]
        args = list(node.args)
        if isinstance(func, ast.Attribute) and target.args.args and target.args.args[0].arg in ("self", "cls"):
            index -= 1
        query = None
        if 0 <= index < len(args) and not any(isinstance(a, ast.Starred) for a in args[:index + 1]):
            query = args[index]
        for keyword in node.keywords:
            if keyword.arg == name:
                query = keyword.value
        if query is None:
            return None
        wrapped = dict(entry)
        wrapped["api"] = f"`{target.name}()`, which passes it to {entry.get('api', 'a SQL sink')}"
        return [(wrapped, query)], receiver

    def _wrappers(self) -> dict:
        if self._wrapper_map is not None:
            return self._wrapper_map
        self._wrapper_map = {}
        if self.file.tree is None:
            return self._wrapper_map
        # One pass over the module's shared node list: sink calls whose SQL is a bare name
        # may pass a parameter of their function through.
        for node in self.file.of_type(ast.Call):
            found = self._match(node)
            if not found or not isinstance(found[0][1], ast.Name):
                continue
            fn = self._function_of(node)
            if fn is not None and id(fn) not in self._wrapper_map:
                self._check_wrapper(node, fn)
        return self._wrapper_map

    def _match(self, call: ast.Call) -> list:
        key = id(call)
        if key not in self._matches:
            self._matches[key] = self.matcher.match_all(call, self.file.qualname)
        return self._matches[key]

    def _function_of(self, node: ast.AST):
        """The innermost function around `node` (lambdas are not functions here)."""
        current = self.file.parent(node)
        while current is not None:
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return current
            current = self.file.parent(current)
        return None

    def _check_wrapper(self, call: ast.Call, fn) -> None:
        found = self._match(call)
        if not found:
            return
        entry, query = found[0]
        if not isinstance(query, ast.Name):
            return
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        if query.id not in params:
            return
        built = self.resolver.resolve(query, fn)
        if not built.is_opaque or not built.parts[0].origin.startswith(f"parameter `{query.id}` of"):
            return
        receiver = self.matcher.receiver_kind(call, entry, lambda expr: self.resolver.value(expr, fn))
        self._wrapper_map[id(fn)] = (params.index(query.id), query.id, entry, receiver)

    def _statement(self, query: ast.AST, built: Built, entry: dict, receiver: str):
        if not built.parts or built.is_opaque:
            return None, None
        text = built.text(hole_marker)
        if not text.strip():
            return None, None
        whole = self.file.location(query)
        wrapper = _FRAGMENT_WRAPPERS.get(entry.get("fragment", ""))
        starts_with_hole = isinstance(built.parts[0], Hole)
        sqlish = looks_like_sql(text)
        tree, error = (parse_one(text, self.dialect) if sqlish or starts_with_hole else (None, ""))
        if tree is None and not sqlish:
            if wrapper is not None:
                return None, self._fragment(text, wrapper, whole)
            # `f"{base} WHERE id = {uid}"`: judged from its text when the receiver is sure.
            if not starts_with_hole or receiver == UNKNOWN or not _SQL_WORDS.search(text):
                return None, None
        if tree is None and receiver == UNKNOWN:
            return None, None  # an unknown receiver must be given SQL that parses
        locate = _literal_mapper(self.file, built, whole)
        cap = None
        if tree is None:
            # SQL that sqlglot could not read is judged from its text alone: less certain.
            cap = Confidence.MEDIUM
        elif receiver == UNKNOWN:
            cap = Confidence.MEDIUM
        return SqlStatement(text, tree, locate, whole, embedded=True, confidence_cap=cap,
                            error=error, extra={"dialect": self.dialect}), None


    def _fragment(self, text: str, wrapper: tuple[str, str], whole: Location):
        prefix, suffix = wrapper
        tree, error = parse_one(prefix + text + suffix, self.dialect)
        if tree is None:
            return None
        return SqlStatement(prefix + text + suffix, tree, lambda s, e: whole, whole, embedded=True,
                            error=error, extra={"fragment_offset": len(prefix), "dialect": self.dialect})


_SQL_WORDS = re.compile(r"\b(?:WHERE|FROM|SET|VALUES|ORDER\s+BY|GROUP\s+BY|LIMIT|JOIN)\b", re.I)


def hole_marker(index: int, hole: Hole) -> str:
    return f"{HOLE_MARK}{index}"


def _literal_mapper(file, built: Built, whole: Location):
    """Map offsets in the SQL back into the Python source when the SQL is one plain string
    literal whose source text equals its value (no escapes, no implicit concatenation);
    otherwise every offset maps to the whole expression."""
    fallback = lambda start, end: whole  # noqa: E731
    if len(built.parts) != 1 or not isinstance(built.parts[0], Piece):
        return fallback
    node = built.parts[0].node
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
        return fallback
    segment = file.source_segment(node)
    prefix_len = len(segment) - len(segment.lstrip("rRbBuU"))
    body = segment[prefix_len:]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if not quote or body[len(quote):len(body) - len(quote)] != node.value:
        return fallback
    literal = file.location(node)
    start_line, start_col = literal.line, literal.column + prefix_len + len(quote)

    def position(offset: int) -> tuple[int, int]:
        before = node.value[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return start_line, start_col + len(before)
        return start_line + newlines, len(before) - before.rfind("\n")

    def locate(start: int, end: int) -> Location:
        line, col = position(start)
        end_line, end_col = position(end)
        return Location(literal.path, line, col, end_line, end_col)

    return locate
