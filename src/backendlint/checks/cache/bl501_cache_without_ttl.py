from __future__ import annotations

import ast

from ...findings import Confidence, Severity
from ...python import cache_clients, calls
from ...python.cache_clients import BOUND, Receiver, ReceiverIndex
from ...python.http_clients import imports_module
from ...python.settings_modules import is_dev_or_test
from ...rule import Option, PythonRule, RuleMeta

_LIBRARY = {"redis": "Redis", "django": "Django's cache", "flask_caching": "Flask-Caching",
            "aiocache": "aiocache"}


class CacheWithoutTtl(PythonRule):
    """
    ## What it does
    Flags cache writes whose entries never expire:

    - redis-py and `redis.asyncio` (also pipelines, `django_redis.get_redis_connection()`):
      `set` with none of `ex`, `px`, `exat`, `pxat`, `keepttl` (nor a positional
      lifetime), and `setnx`, `mset`, `msetnx`, `hset`, `hmset`, which take no lifetime at
      all — unless the same function later calls `expire` / `pexpire` / `expireat` /
      `pexpireat` (or `hexpire`) on a key;
    - Django's cache: `cache.set(key, value, None)`, `timeout=None` (also `add`,
      `get_or_set`, `set_many`, `touch`): `None` means "forever"; a missing timeout is
      the configured default (300 s unless `TIMEOUT` says otherwise) and stays silent;
    - Flask-Caching: `timeout=0` on `set` / `add` / `set_many` and on the `@cache.cached`
      / `@cache.memoize` decorators (0 means "never expires"); a missing timeout uses
      `CACHE_DEFAULT_TIMEOUT`, silent unless the `Cache(config=...)` in the same module
      sets it to 0;
    - aiocache: `set` / `add` / `multi_set` with no `ttl` on a cache built in the same
      module without a default `ttl`, and `ttl=None`; `@cached(...)` without `ttl`.

    How the receiver is known: imported cache objects (`django.core.cache.cache`,
    `caches[...]`), names and `self.` attributes assigned from a known constructor in the
    same module, pipelines of those, parameters annotated `Redis`. A receiver whose only
    clue is its name (`self.redis_client` bound elsewhere) is judged as redis with medium
    confidence. Writes that take no lifetime at all (`hset`, `mset`, `setnx`) are also
    medium: Redis used as a data store keeps such keys on purpose. The client APIs are
    data in `rules/cache_clients.toml`.

    Code under an `if` testing a lifetime (`if ttl is None: client.set(k, v)`) is a cache
    layer honouring its caller's choice and stays silent.

    Not seen (known gaps): a Django `CACHES` setting with `TIMEOUT: None` in another
    module, which makes every `cache.set(k, v)` permanent; clients built in another
    module and imported (silent, unless named `redis`).

    ## Why is this bad?
    An entry with no lifetime lives until it is deleted or evicted. Data that changes
    behind the cache is served stale forever when an invalidation is missed, memory grows
    until Redis hits `maxmemory` (and then evicts by policy, or refuses writes under
    `noeviction`), and a lock set with `nx=True` but no expiry is never released when its
    holder crashes.

    ## Example
    ```python
    r.set(f"user:{user_id}", payload)
    cache.set("exchange-rates", rates, None)         # Django: None = forever
    cache.set("report", html, timeout=0)             # Flask-Caching: 0 = forever
    ```

    ## Use instead
    ```python
    r.set(f"user:{user_id}", payload, ex=3600)
    cache.set("exchange-rates", rates, 60 * 15)
    cache.set("report", html, timeout=600)
    ```

    ## Options
    `redis-collection-writes`: also report `hset`, `mset`, `msetnx`, `setnx` and `hmset`
    without a later `expire` (on by default). `test-patterns`: path globs of test modules,
    which are not checked.

    ## References
    - https://redis.io/docs/latest/commands/set/
    - https://redis-py.readthedocs.io/en/stable/commands.html#redis.commands.core.CoreCommands.set
    - https://docs.djangoproject.com/en/stable/topics/cache/#basic-usage
    - https://flask-caching.readthedocs.io/en/latest/api.html
    - https://aiocache.aio-libs.org/en/latest/caches.html
    - https://cwe.mitre.org/data/definitions/400.html
    """

    meta = RuleMeta(
        id="BL501", name="cache-without-ttl", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A cache entry is written with no expiry, so it lives forever.",
        cwe=(400,), tags=("cache", "reliability"),
        triggers=("redis", "cache"),
    )
    options = (
        Option("redis-collection-writes", bool, True,
               "Also report Redis writes that take no lifetime (hset, mset, setnx...) "
               "without a later expire."),
        Option("test-patterns", list, ["test*.py", "*_test.py", "conftest.py", "tests/*", "test/*"],
               "Path globs of test modules (fake clients, fixtures), which are not checked."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._index: ReceiverIndex | None = None
        self._skip: bool | None = None

    @property
    def index(self) -> ReceiverIndex:
        if self._index is None:
            self._index = ReceiverIndex(self.file)
        return self._index

    def _skipped(self) -> bool:
        if self._skip is None:
            self._skip = is_dev_or_test(self.file.relpath, self.option("test-patterns"))
        return self._skip

    def visit_Call(self, node: ast.Call) -> None:
        if self._skipped():
            return
        if calls.option_switch(self.file.ancestors, ("ttl", "timeout", "expire", "expiry")):
            return  # a cache layer honouring its caller's "no expiry" choice
        scope = self.file.enclosing_function()
        method = cache_clients.classify_method(self.file, node, self.index, scope)
        if method is None:
            method = self._guess_flask(node)
        if method is None or method.table != "write" or calls.has_star_kwargs(node):
            return
        entry, receiver = method.entry, method.receiver
        lifetime = calls.argument(node, entry.get("ttl_argument"), *entry.get("ttl_keywords", []))
        name = node.func.attr  # type: ignore[union-attr]
        library = _LIBRARY.get(receiver.kind, receiver.kind)
        forever = cache_clients.forever_values(entry)
        confidence = Confidence.HIGH if receiver.how == BOUND else Confidence.MEDIUM
        if lifetime is not None:
            value = calls.constant(lifetime)
            if value is calls.MISSING or not any(value == f and type(value) is type(f) for f in forever):
                return
            self.report(node, f"{library} `{name}()` with `{ast.unparse(lifetime)}` as lifetime: "
                        "the entry never expires; give it a lifetime in seconds",
                        confidence=confidence)
            return
        absent = entry.get("absent", "default")
        if absent == "default" and not self._default_forever(receiver):
            return
        if receiver.kind == "redis":
            if not entry.get("can_expire", True):
                if not self.option("redis-collection-writes"):
                    return
                confidence = Confidence.MEDIUM
            if self._expired_later(node, scope):
                return
            if name == "set" and calls.is_true(calls.keyword(node, "nx")):
                message = ("Redis `set(..., nx=True)` with no `ex`/`px`: a lock or marker that is "
                           "never released if its holder dies; add `ex=`")
            elif entry.get("can_expire", True):
                message = ("Redis `set()` with no `ex`/`px`/`exat`/`pxat` and no `expire` after it: "
                           "the key never expires; pass `ex=<seconds>`")
            else:
                message = (f"Redis `{name}()` takes no lifetime and no `expire` follows in this "
                           "function: the key never expires")
            self.report(node, message, confidence=confidence)
            return
        self.report(node, f"{library} `{name}()` with no lifetime on a cache whose default keeps "
                    "entries forever; pass one", confidence=confidence)

    def _guess_flask(self, node: ast.Call):
        """`cache.set(k, v, timeout=0)` on a `cache` imported from the app's extensions, in a
        Flask module that is not a Django one: Flask-Caching semantics."""
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("set", "add", "set_many"):
            return None
        if "cache" not in calls.last_name(func.value).lower():
            return None
        if not imports_module(self.file, ("flask", "flask_caching")) or imports_module(self.file, ("django",)):
            return None
        kb = cache_clients.cache_knowledge()
        found = kb.methods.get(("flask_caching", func.attr))
        if found is None:
            return None
        return cache_clients.Method(found[0], found[1], Receiver("flask_caching", "named"))

    def _default_forever(self, receiver: Receiver) -> bool:
        """Does the client's own configuration keep entries forever?"""
        call = receiver.constructor
        if receiver.kind == "aiocache":
            if call is None:
                return False  # built elsewhere (caches.get(...)): configuration unknown
            ttl = calls.keyword(call, "ttl")
            return ttl is None or calls.constant(ttl) is None
        if receiver.kind == "flask_caching" and call is not None:
            config = calls.constant(calls.keyword(call, "config"))
            if isinstance(config, dict) and config.get("CACHE_DEFAULT_TIMEOUT", 300) == 0:
                return True
        return False

    def _expired_later(self, node: ast.Call, scope: ast.AST | None) -> bool:
        """An `expire`-family call in the same function (or module, at top level) on the same
        key, or on any key when the keys cannot be compared."""
        where = scope if scope is not None else self.file.tree
        if where is None:
            return False
        names = cache_clients.cache_knowledge().names_of("expire", "redis")
        key = calls.argument(node, 0, "name", "key")
        key_dump = ast.dump(key) if key is not None else None
        for call in ast.walk(where):
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                continue
            if call.func.attr not in names:
                continue
            if call.func.attr == "getex" and not calls.has_keyword(call, "ex", "px", "exat", "pxat"):
                continue
            other = calls.argument(call, 0, "name", "key")
            if other is None or key_dump is None or ast.dump(other) == key_dump:
                return True
            if not isinstance(other, ast.Constant) or not isinstance(key, ast.Constant):
                return True  # different expressions may name the same key: trust it
        return False

    # -- decorators ----------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self._decorator(decorator)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _decorator(self, decorator: ast.AST) -> None:
        if self._skipped() or not isinstance(decorator, ast.Call):
            return
        name = self.file.qualname(decorator.func) or ""
        func = decorator.func
        if isinstance(func, ast.Attribute) and func.attr in ("cached", "memoize"):
            receiver = self.index.receiver(func.value, None)
            flask = receiver is not None and receiver.kind == "flask_caching" or (
                receiver is None and imports_module(self.file, ("flask", "flask_caching"))
                and not imports_module(self.file, ("django",)))
            timeout = calls.keyword(decorator, "timeout")
            if timeout is None and decorator.args:
                timeout = decorator.args[0]
            if flask and timeout is not None and calls.is_false(timeout):
                confidence = Confidence.HIGH if receiver is not None else Confidence.MEDIUM
                self.report(decorator, f"Flask-Caching `@{func.attr}(timeout=0)`: the cached "
                            "result never expires", confidence=confidence)
            return
        if name in ("aiocache.cached", "aiocache.decorators.cached", "aiocache.multi_cached"):
            ttl = calls.keyword(decorator, "ttl")
            if ttl is None and not calls.has_star_kwargs(decorator) and not calls.has_keyword(
                    decorator, "alias"):
                self.report(decorator, "aiocache `@cached()` without `ttl`: the cached results "
                            "never expire", confidence=Confidence.MEDIUM)
            elif ttl is not None and calls.constant(ttl) is None:
                self.report(decorator, "aiocache `@cached(ttl=None)`: the cached results never "
                            "expire")
