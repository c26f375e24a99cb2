from __future__ import annotations

import ast
from dataclasses import dataclass

from ...findings import Confidence, Severity
from ...python import handlers as hd
from ...rule import Option, PythonRule, RuleMeta

# Calls that open a new database or cache connection (or a client holding its own pool),
# by qualified name as the module's imports resolve them.
CONNECT_APIS = {
    "psycopg2.connect": "psycopg2", "psycopg.connect": "psycopg",
    "psycopg.Connection.connect": "psycopg", "psycopg.AsyncConnection.connect": "psycopg",
    "sqlite3.connect": "sqlite3", "sqlite3.dbapi2.connect": "sqlite3",
    "aiosqlite.connect": "aiosqlite",
    "asyncpg.connect": "asyncpg", "pymysql.connect": "PyMySQL", "pymysql.Connect": "PyMySQL",
    "MySQLdb.connect": "mysqlclient", "mysql.connector.connect": "mysql-connector",
    "aiomysql.connect": "aiomysql", "pyodbc.connect": "pyodbc", "pymssql.connect": "pymssql",
    "oracledb.connect": "oracledb", "cx_Oracle.connect": "cx_Oracle",
    "sqlalchemy.create_engine": "create_engine", "sqlmodel.create_engine": "create_engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "create_async_engine",
    "pymongo.MongoClient": "MongoClient", "motor.motor_asyncio.AsyncIOMotorClient": "Motor",
    "redis.Redis": "redis", "redis.StrictRedis": "redis", "redis.from_url": "redis",
    "redis.Redis.from_url": "redis", "redis.StrictRedis.from_url": "redis",
    "redis.client.Redis": "redis", "redis.asyncio.Redis": "redis", "redis.asyncio.from_url": "redis",
    "redis.asyncio.Redis.from_url": "redis", "redis.asyncio.StrictRedis": "redis",
    "aioredis.from_url": "aioredis", "aioredis.Redis": "aioredis",
}
# Functions that set an application up: a connection made there is made once.
_SETUP_NAMES = {"__init__", "__enter__", "__aenter__", "__post_init__", "setup", "setUp",
                "startup", "on_startup", "lifespan", "create_app", "make_app", "init_app",
                "init_db", "initialize", "initialise", "configure", "main", "run", "cli",
                "connect", "open", "get_engine", "create_engine", "make_engine", "build_engine",
                "get_pool", "create_pool", "init_pool", "ready", "on_event", "setup_module"}
_SETUP_WORDS = {"startup", "lifespan", "setup", "init", "initialize", "migrate", "migration",
                "seed", "bootstrap", "install", "fixture", "command", "cli", "script", "test"}
_MEMO_DECORATORS = {"lru_cache", "cache", "cached_property", "cached", "memoize", "memoized",
                    "singleton", "fixture", "on_event", "asynccontextmanager", "contextmanager",
                    "on_startup", "before_first_request", "before_serving", "listens_for"}
_MEMO_HOLDERS = {"state", "config", "extensions", "app", "application", "settings"}


@dataclass
class _Connect:
    call: ast.Call
    api: str
    function: ast.AST | None
    loop: ast.AST | None
    parent: ast.AST | None  # the node holding the call


class ConnectionPerRequest(PythonRule):
    """
    ## What it does
    Flags a database or cache connection opened where it is opened again and again:

    - in a **request handler** (a Flask / FastAPI / Starlette route function, a Django or
      DRF view, a method of a view class, a function registered with `Route(...)` or
      `add_url_rule`), in a FastAPI dependency (`Depends(get_db)`) or a `before_request` /
      middleware hook — so once per request (closures inside an app factory count as the
      handlers they are);
    - in a **loop** over items (`for`, comprehensions) — so once per item;
    - in a **helper** of the same module that a handler, a dependency or a loop calls
      (directly or through up to three calls of the module), or a method that the other
      methods of its class call for each query.

    With the `connection-factories` option (on by default) it also reports, with low
    confidence, a module-level accessor named like `get_db_connection`, `get_conn`,
    `open_db`, `get_redis` that returns (or yields) a new connection on every call
    (`def get_db_connection(): return psycopg2.connect(DSN)`), when nothing in its module
    calls it (callers are then request handlers of other modules, as a rule) and the module
    is not a script.

    Connections are recognised by the call that opens them: `psycopg2.connect`,
    `psycopg.connect`, `sqlite3.connect`, `aiosqlite.connect`, `asyncpg.connect`,
    `pymysql.connect`, `MySQLdb.connect`, `mysql.connector.connect`, `aiomysql.connect`,
    `pyodbc.connect`, `oracledb.connect`, SQLAlchemy's `create_engine` /
    `create_async_engine`, `pymongo.MongoClient`, Motor's client, and redis clients
    (`redis.Redis(...)`, `redis.from_url(...)`, their asyncio forms, aioredis). The
    `connect-functions` option adds more (qualified names).

    It stays silent for application-level setup and reuse:
    - module-level code, `__init__`, app factories and startup hooks (`create_app`,
      `lifespan`, `startup`, `init_db`, ...), functions decorated with `lru_cache` /
      `cache` / `cached_property` or a context-manager / startup decorator;
    - a connection stored for reuse: in a module global (`global _pool`), on `self` /
      `cls`, on `app.state` / `app.config` / `app.extensions`; a redis client built on a
      shared `connection_pool=`; pools themselves (`psycopg_pool`, `asyncpg.create_pool`,
      `SimpleConnectionPool`) and Django's own connection handling (`django.db.connection`);
    - SQLite kept in Flask's `g` for the request (Flask's documented pattern: a local file,
      no server round trip), and `sqlite3.connect(":memory:")`;
    - a loop whose items are the databases themselves (the connect arguments use the loop
      variable), `while` loops (reconnect and retry loops) and `range(...)` loops;
    - tests, migrations, `scripts/`, `bin/`, management commands, click / typer / Flask CLI
      commands, code under `if __name__ == "__main__":` and what only it calls.

    ## Why is this bad?
    Opening a connection costs a TCP (and often TLS) handshake, authentication and a new
    server process or session: typically several milliseconds, more than the query itself.
    Doing it per request or per item multiplies latency, and under load exhausts the
    database's connection limit (`too many connections`). An application-level pool or
    engine reuses a few connections for every request.

    ## Example
    ```python
    @app.get("/orders/<int:order_id>")
    def get_order(order_id):
        conn = psycopg2.connect(DATABASE_URL)
        ...
    ```

    ## Use instead
    ```python
    pool = psycopg_pool.ConnectionPool(DATABASE_URL)   # once, at module level / startup

    @app.get("/orders/<int:order_id>")
    def get_order(order_id):
        with pool.connection() as conn:
            ...
    ```

    ## Options
    - `connect-functions` (list of strings, default `[]`): more qualified names of calls
      that open a connection (`mydb.connect`).
    - `connection-factories` (true or false, default `true`): report module-level functions
      that return a new connection on every call, even when no caller is in sight.

    ## References
    - https://www.psycopg.org/psycopg3/docs/advanced/pool.html
    - https://magicstack.github.io/asyncpg/current/usage.html#connection-pools
    - https://docs.sqlalchemy.org/en/20/core/pooling.html
    - https://redis.readthedocs.io/en/stable/connections.html#connection-pools
    - https://flask.palletsprojects.com/en/stable/tutorial/database/
    """

    meta = RuleMeta(
        id="BL111", name="connection-per-request", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A database or cache connection is opened per request, per item or per "
                "call instead of coming from an application-level pool.",
        cwe=(400,), tags=("performance", "database"),
        triggers=("connect", "create_engine", "create_async_engine", "redis", "mongoclient",
                  "motorclient", "asyncpg"),
    )
    options = (
        Option("connect-functions", list, [],
               "More qualified names of calls that open a database or cache connection."),
        Option("connection-factories", bool, True,
               "Report module-level functions that return a new connection on every call."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.found: list[_Connect] = []
        self.apis = dict(CONNECT_APIS)
        for name in self.option("connect-functions"):
            self.apis[name] = name

    def visit_Call(self, node: ast.Call) -> None:
        name = self.file.qualname(node.func)
        if name is None or name not in self.apis:
            return
        if not self.file.names.is_imported(_head(node.func)):
            return
        function, loop = None, None
        ancestors = self.file.ancestors
        for i in range(len(ancestors) - 1, -1, -1):
            anc = ancestors[i]
            if isinstance(anc, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                function = anc
                break
            if loop is None and isinstance(anc, (ast.For, ast.AsyncFor)):
                child = ancestors[i + 1] if i + 1 < len(ancestors) else node
                if child is not anc.iter:
                    loop = anc
            elif loop is None and isinstance(anc, (ast.ListComp, ast.SetComp, ast.DictComp,
                                                   ast.GeneratorExp)):
                child = ancestors[i + 1] if i + 1 < len(ancestors) else node
                if not (anc.generators and child is anc.generators[0]):
                    loop = anc
        if isinstance(function, ast.Lambda):
            return
        parent = ancestors[-1] if ancestors else None
        if isinstance(parent, ast.Await) and len(ancestors) >= 2:
            parent = ancestors[-2]
        self.found.append(_Connect(node, self.apis[name], function, loop, parent))

    # -- decision -------------------------------------------------------------------------
    def finish(self) -> None:
        if not self.found or self.file.tree is None or hd.is_offline_path(self.file.relpath):
            return
        index = hd.index(self.file)
        for item in self.found:
            if item.function is None:
                continue  # module level: application-wide
            info = index.by_node.get(id(item.function))
            if info is None:
                continue
            self._judge(index, info, item)

    def _judge(self, index: hd.ModuleIndex, info: hd.FunctionInfo, item: _Connect) -> None:
        call = item.call
        top = info  # the function judged: itself, or the handler a closure belongs to
        current = info
        while current.parent is not None and not (current.is_handler or current.dependency):
            outer = index.by_node.get(id(current.parent))
            if outer is None:
                break
            if outer.is_handler or outer.dependency:
                top = outer
                break
            current = outer
        if self._offline(index, top) or self._harmless(item, info):
            return
        what = _what(item)
        if item.loop is not None and self._per_item_loop(item):
            self.report(call, f"{what} opened once per item of a loop: open it (or take it "
                              f"from a pool) once, before the loop")
            return
        if self._stored(item, info):
            return
        if top.is_handler:
            self.report(call, f"{what} opened in request handler `{top.name}()`: every request "
                              f"pays a new connection; use an application-level pool or engine")
            return
        if top.dependency:
            self.report(call, f"{what} opened in `{top.name}()`, a dependency run for every "
                              f"request: use an application-level pool or engine")
            return
        hook = _request_hook(top.node)
        if hook:
            self.report(call, f"{what} opened in `{top.name}()`, a `{hook}` hook run for every "
                              f"request: use an application-level pool or engine")
            return
        if top.name in _SETUP_NAMES or set(hd.words(top.name)) & _SETUP_WORDS:
            return
        reaching = index.reaching(top, 3)
        handler = next((f for f in reaching if f.is_handler or f.dependency), None)
        if handler is not None:
            if any(self._offline(index, f) for f in reaching if f is not handler) \
                    and not any(f is handler for f in top.callers):
                return
            kind = "request handler" if handler.is_handler else "request dependency"
            self.report(call, f"{what} opened by `{top.name}()` on every call, and {kind} "
                              f"`{handler.name}()` calls it: every request pays a new "
                              f"connection; use an application-level pool or engine")
            return
        if any(self._per_item_loop(_Connect(call_site, item.api, None, loop, None))
               for f in [top] + reaching for call_site, loop in f.loop_sites
               if not isinstance(loop, ast.While)):
            self.report(call, f"{what} opened by `{top.name}()` on every call, and it is "
                              f"called in a loop: a new connection per item")
            return
        if top.called_from_main:
            return
        if top.cls is not None:
            users = [f for f in top.callers if f.cls is top.cls and f.name not in _SETUP_NAMES]
            if len(users) >= 2 and self._returned(item, info):
                self.report(call, f"{what} opened by `{top.name}()` for each of "
                                  f"{len(users)} methods that call it ("
                                  f"{', '.join(f'`{u.name}()`' for u in users[:3])}): a new "
                                  f"connection per call; keep a pool or engine on the object",
                            confidence=Confidence.MEDIUM)
            return
        fwords = set(hd.words(top.name))
        if self.option("connection-factories") and info is top and top.parent is None \
                and fwords & {"get", "open", "new", "acquire", "obtain", "fetch"} \
                and fwords & _HANDLE_WORDS \
                and not top.callers and not top.called_at_module_level and self._returned(item, info) \
                and not (index.main_calls and not _web_module(self.file)):
            self.report(call, f"`{top.name}()` returns a new {what} on "
                              f"every call: callers (request handlers, typically) get no "
                              f"pooling; hand out connections from an application-level pool",
                        confidence=Confidence.LOW)

    # -- contexts -------------------------------------------------------------------------
    def _offline(self, index: hd.ModuleIndex, info: hd.FunctionInfo) -> bool:
        if hd.is_cli_command(info.node):
            return True
        if info.cls is not None and info.name == "handle" and any(
                hd.words(b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", ""))[-1:]
                == ["command"] for b in info.cls.bases):
            return True
        return info.called_from_main and not info.is_handler and not any(
            f.is_handler for f in index.reaching(info, 3))

    def _harmless(self, item: _Connect, info: hd.FunctionInfo) -> bool:
        call = item.call
        if item.api == "sqlite3" and call.args and isinstance(call.args[0], ast.Constant) \
                and call.args[0].value == ":memory:":
            return True
        if item.api in ("redis", "aioredis") and any(k.arg == "connection_pool" for k in call.keywords):
            return True
        for deco in info.node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name in _MEMO_DECORATORS:
                return True
        return False

    def _per_item_loop(self, item: _Connect) -> bool:
        loop = item.loop
        if isinstance(loop, ast.While):
            return False  # reconnect and retry loops
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            targets, iterable = [loop.target], loop.iter
        else:
            targets = [g.target for g in loop.generators]
            iterable = loop.generators[0].iter
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) \
                and iterable.func.id == "range":
            return False  # retries, or a fixed number of workers
        names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        used = {n.id for a in item.call.args + [k.value for k in item.call.keywords]
                for n in ast.walk(a) if isinstance(n, ast.Name)}
        if names & used:
            return False  # one connection per database: the items are the databases
        loop_words = set()
        for n in ast.walk(iterable):
            if isinstance(n, (ast.Name, ast.Attribute)):
                loop_words |= set(hd.words(n.id if isinstance(n, ast.Name) else n.attr))
        for n in names:
            loop_words |= set(hd.words(n))
        if loop_words & {"db", "dbs", "database", "databases", "dsn", "dsns", "shard", "shards",
                         "url", "urls", "host", "hosts", "server", "servers", "retry", "retries",
                         "attempt", "attempts", "tries", "node", "nodes", "replica", "replicas",
                         "tenant", "tenants", "conn", "connection", "connections", "path",
                         "paths", "file", "files"}:
            return False
        return True

    def _stored(self, item: _Connect, info: hd.FunctionInfo) -> bool:
        """The connection is kept for reuse (a global, an attribute of a long-lived object),
        or SQLite is kept in Flask's `g` for the request."""
        targets = self._targets(item)
        globals_ = {n for node in info.nodes if isinstance(node, (ast.Global, ast.Nonlocal))
                    for n in node.names}
        for target in targets:
            if isinstance(target, ast.Name) and target.id in globals_:
                return True
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                base = target.value
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    if isinstance(base, ast.Attribute) and base.attr in _MEMO_HOLDERS:
                        return True
                    base = base.value
                root = base.id if isinstance(base, ast.Name) else ""
                if root in ("self", "cls") or root in _MEMO_HOLDERS:
                    return True
                if root == "g" and item.api in ("sqlite3", "aiosqlite"):
                    return True
                if isinstance(target, ast.Attribute) and root and not self.file.names.is_imported(root) \
                        and root[:1].isupper():
                    return True  # a class attribute: `Database.conn = ...`
        return False

    def _targets(self, item: _Connect) -> list[ast.AST]:
        parent = item.parent
        if isinstance(parent, ast.Assign):
            return list(parent.targets)
        if isinstance(parent, (ast.AnnAssign, ast.AugAssign)):
            return [parent.target]
        if isinstance(parent, ast.BoolOp):
            return []
        return []

    def _returned(self, item: _Connect, info: hd.FunctionInfo) -> bool:
        """The function hands the new connection to its caller (return / yield, or a
        variable holding it returned or yielded, or `with connect() as conn: yield conn`)."""
        call = item.call
        holders: set[str] = set()
        for node in info.nodes:
            if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None:
                if _contains(node.value, call):
                    return True
            if isinstance(node, ast.Assign) and _contains(node.value, call):
                holders |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for w in node.items:
                    if _contains(w.context_expr, call) and isinstance(w.optional_vars, ast.Name):
                        holders.add(w.optional_vars.id)
        if not holders:
            return False
        for node in info.nodes:
            if isinstance(node, (ast.Return, ast.Yield)) and isinstance(node.value, ast.Name) \
                    and node.value.id in holders:
                return True
        return False


_HANDLE_WORDS = {"db", "database", "conn", "connection", "cursor", "redis", "cache", "client",
                 "engine", "mongo", "pg", "postgres", "mysql", "sqlite", "store", "datastore"}
_HOOKS = {"before_request", "before_app_request", "middleware", "before_serving_request"}


def _request_hook(function) -> str:
    for deco in function.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in _HOOKS:
            return name
    return ""


def _contains(tree: ast.AST, node: ast.AST) -> bool:
    if tree is node:
        return True
    if isinstance(tree, ast.Await):
        return tree.value is node
    return False


_WEB = ("flask", "fastapi", "starlette", "django", "rest_framework", "quart", "sanic",
        "aiohttp.web", "litestar", "falcon", "bottle", "tornado.web", "pyramid")


def _web_module(file) -> bool:
    return any(v.startswith(_WEB) for v in file.names.aliases.values())


def _head(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _what(item: _Connect) -> str:
    if item.api in ("redis", "aioredis"):
        return "Redis client"
    if item.api in ("create_engine", "create_async_engine"):
        return f"SQLAlchemy engine (`{item.api}`)"
    if item.api in ("MongoClient", "Motor"):
        return "MongoDB client"
    return f"{item.api} connection"
