from __future__ import annotations

import ast
import re

from ...findings import Confidence, Severity
from ...python import cache_clients, calls
from ...python.cache_clients import BOUND, ReceiverIndex
from ...rule import PythonRule, RuleMeta

_DELETE_NAMES = ("delete", "unlink", "delete_many")
_CLASS = re.compile(r"\[[^\]]+\]")


class CacheWildcardDelete(PythonRule):
    """
    ## What it does
    Flags `delete` / `unlink` / `delete_many` calls on a cache client whose key holds a
    glob pattern: a `*`, a `[...]` character class, or a `?` in a key that does not look
    like a URL with a query string. The receiver must be a known cache client (redis-py,
    Django's cache, Flask-Caching, aiocache: see `rules/cache_clients.toml`) or an object
    whose name says `cache` or `redis` (medium confidence).

    ## Why is this bad?
    Redis `DEL` and `UNLINK` take literal key names: `DEL user:42:*` deletes the key
    named exactly `user:42:*`, which does not exist, and the related entries the code
    meant to invalidate stay in the cache and keep being served. The same holds for
    Django's, Flask-Caching's and aiocache's `delete`. Nothing fails, so the bug shows
    only as stale data.

    ## Example
    ```python
    def delete_user(user_id):
        db.delete_user(user_id)
        r.delete(f"user:{user_id}")
        r.delete(f"user:{user_id}:*")  # deletes nothing
    ```

    ## Use instead
    ```python
    def delete_user(user_id):
        db.delete_user(user_id)
        r.delete(f"user:{user_id}")
        for key in r.scan_iter(match=f"user:{user_id}:*", count=500):
            r.unlink(key)
    ```
    With django-redis, `cache.delete_pattern(f"user:{user_id}:*")` does the scan. Better
    still, keep related keys in one hash or tag them with a version number bumped on change.

    **Fix**: suggested, not applied. The message names the replacement (iterate
    `scan_iter(match=...)` and `unlink` what it yields), but `--fix` leaves the code alone:
    a SCAN over a large keyspace costs time the original call did not, and deleting keys
    that were silently kept until now is a change of behaviour a person should approve.

    ## Options
    None.

    ## References
    - https://redis.io/docs/latest/commands/del/
    - https://redis.io/docs/latest/commands/scan/
    - https://redis-py.readthedocs.io/en/stable/commands.html#redis.commands.core.CoreCommands.scan_iter
    - https://github.com/jazzband/django-redis#scan--delete-keys-in-bulk
    """

    meta = RuleMeta(
        id="BL502", name="cache-wildcard-delete", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A cache delete is given a key pattern, but DEL takes literal keys: nothing is deleted.",
        cwe=(459,), tags=("cache", "correctness"),
        triggers=("delete", "unlink"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._index: ReceiverIndex | None = None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in _DELETE_NAMES or not node.args:
            return
        keys = list(node.args)
        if func.attr == "delete_many" and isinstance(node.args[0], (ast.List, ast.Tuple, ast.Set)):
            keys = list(node.args[0].elts)
        pattern = None
        for key in keys:
            if isinstance(key, ast.Starred):
                continue
            scope = self.file.enclosing_function()
            resolved = calls.resolve(self.file.tree, key, scope)
            text = calls.constant_text(resolved)
            if text is not None and _is_pattern(text):
                pattern = (key, text)
                break
        if pattern is None:
            return
        if self._index is None:
            self._index = ReceiverIndex(self.file)
        method = cache_clients.classify_method(self.file, node, self._index,
                                               self.file.enclosing_function())
        if method is not None and method.table == "delete":
            kind = method.receiver.kind
            confidence = Confidence.HIGH if method.receiver.how == BOUND else Confidence.MEDIUM
        else:
            receiver_name = calls.last_name(func.value).lower()
            if "cache" not in receiver_name and "redis" not in receiver_name:
                return
            kind = "redis" if "redis" in receiver_name else "cache"
            confidence = Confidence.MEDIUM
        key, text = pattern
        shown = ast.unparse(key)
        if kind == "redis":
            advice = ("iterate `scan_iter(match=...)` and `unlink` the keys it yields")
        elif kind == "django":
            advice = ("with django-redis use `cache.delete_pattern(...)`; otherwise track the "
                      "keys or version them")
        else:
            advice = "track the related keys (or version them) and delete those"
        self.report(node, f"`{func.attr}({shown})` takes literal keys: the pattern is not expanded, "
                    f"so nothing matching it is deleted; {advice}", confidence=confidence)


def _is_pattern(text: str) -> bool:
    if "*" in text:
        return True
    if _CLASS.search(text) and "/" not in text:
        return True
    if "?" in text and not any(c in text for c in "/=& "):
        return True
    return False
