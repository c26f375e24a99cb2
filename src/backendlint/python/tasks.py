"""Recognising background jobs (Celery tasks, RQ jobs, Dramatiq actors) and judging their
bodies for BL503 (job-without-retry) and BL504 (job-not-idempotent), from the
`task_queues` knowledge base.

A job's *body* is its function plus the functions of the same module it calls directly
(one level), so that `@shared_task def sync(): _sync()` is judged by what `_sync` does.
Everything is read from the syntax tree; nothing is imported or run."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .. import knowledge
from . import calls

CELERY, RQ, DRAMATIQ = "celery", "rq", "dramatiq"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@knowledge.cached
def task_knowledge() -> dict[str, list[dict]]:
    return knowledge.load("task_queues")


# -- jobs ---------------------------------------------------------------------------------


@dataclass
class Job:
    framework: str
    function: ast.FunctionDef | ast.AsyncFunctionDef
    decorator: ast.AST | None  # the decorator (a Call or a Name/Attribute), or
    enqueue: ast.Call | None = None  # the `queue.enqueue(f, ...)` call for RQ
    entry: dict = field(default_factory=dict)

    @property
    def options(self) -> dict[str, ast.expr]:
        """Keyword arguments of the decorator (or the enqueue call)."""
        source = self.enqueue if self.enqueue is not None else self.decorator
        if isinstance(source, ast.Call):
            return {kw.arg: kw.value for kw in source.keywords if kw.arg}
        return {}

    @property
    def star_options(self) -> bool:
        source = self.enqueue if self.enqueue is not None else self.decorator
        return isinstance(source, ast.Call) and calls.has_star_kwargs(source)

    @property
    def anchor(self) -> ast.AST:
        return self.enqueue if self.enqueue is not None else (self.decorator or self.function)


def _imports(file, prefixes) -> bool:
    for target in file.names.aliases.values():
        if any(target == p or target.startswith(p + ".") for p in prefixes):
            return True
    return False


def _app_made_by(file, name: str, constructors) -> bool:
    if file.tree is None:
        return False
    for target, value, _ in calls.assignments(file.tree):
        if target == name and isinstance(value, ast.Call):
            if (file.qualname(value.func) or "") in constructors:
                return True
    return False


def decorator_framework(file, decorator: ast.AST) -> dict | None:
    """The `task_decorator` entry a decorator matches, or None."""
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = file.qualname(func) or ""
    for entry in task_knowledge().get("task_decorator", []):
        if name in entry.get("qualnames", []):
            return entry
        if isinstance(func, ast.Attribute) and func.attr in entry.get("attributes", []):
            owner = func.value
            owner_name = file.qualname(owner) or calls.dotted(owner)
            hint = entry.get("app_hint")
            if hint and hint in owner_name.lower():
                return entry
            if _app_made_by(file, calls.dotted(owner), entry.get("app_constructors", [])):
                return entry
            if _imports(file, entry.get("imports", [])) and isinstance(owner, ast.Name):
                return entry  # `@app.task` in a module that uses Celery
            if hint and calls.last_name(owner) in ("app", "celery_app", "capp"):
                return entry  # `from proj import app` + `@app.task`: Celery's idiom
    return None


def find_jobs(file) -> list[Job]:
    """Every job of the module: decorated functions, and RQ-enqueued functions of the
    module (one `Job` per enqueue call)."""
    tree = file.tree
    if tree is None:
        return []
    cached = getattr(file, "_task_jobs", None)
    if cached is not None:  # BL503 and BL504 both ask: find them once per file
        return cached
    jobs: list[Job] = []
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in file.of_type(*_FUNCTIONS):
        functions.setdefault(node.name, node)
        for decorator in node.decorator_list:
            entry = decorator_framework(file, decorator)
            if entry is not None:
                jobs.append(Job(entry["framework"], node, decorator, entry=entry))
                break
    for entry in task_knowledge().get("enqueue", []):
        if not _imports(file, entry.get("imports", [])):
            continue
        for node in file.of_type(ast.Call):
            if (isinstance(node.func, ast.Attribute)
                    and node.func.attr in entry.get("names", []) and node.args):
                target = node.args[0]
                if isinstance(target, ast.Name) and target.id in functions:
                    jobs.append(Job(entry["framework"], functions[target.id], None, node, entry))
    file._task_jobs = jobs
    return jobs


# -- bodies -------------------------------------------------------------------------------


def module_functions(file) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    if file.tree is None:
        return out
    for node in file.tree.body:
        if isinstance(node, _FUNCTIONS):
            out.setdefault(node.name, node)
    return out


def body_functions(file, function) -> list:
    """The function and the module-level functions it calls by plain name (one level)."""
    functions = module_functions(file)
    out = [function]
    for call in ast.walk(function):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            helper = functions.get(call.func.id)
            if helper is not None and helper is not function and helper not in out:
                out.append(helper)
    return out


@dataclass
class Evidence:
    node: ast.AST
    kind: str
    strong: bool  # False: only a name suggests it


def io_evidence(file, function) -> list[Evidence]:
    """Calls in `function` (and its helpers) that do network or database I/O."""
    found: list[Evidence] = []
    for fn in body_functions(file, function):
        for call in ast.walk(fn):
            if isinstance(call, ast.Call):
                kind = _io_kind(file, call)
                if kind is not None:
                    found.append(Evidence(call, kind[0], kind[1]))
    return found


def _io_kind(file, call: ast.Call) -> tuple[str, bool] | None:
    name = file.qualname(call.func) or ""
    func = call.func
    method = func.attr if isinstance(func, ast.Attribute) else None
    plain = calls.last_name(func)
    for entry in task_knowledge().get("io", []):
        if name and any(name.startswith(p) for p in entry.get("qualname_prefixes", [])):
            return entry["kind"], True
        if method and method in entry.get("methods", []):
            return entry["kind"], True
        manager = entry.get("manager_attribute")
        if manager and manager in calls.dotted(func).split(".")[:-1]:
            return entry["kind"], True
        if manager and method and _chain_has(func, manager):
            return entry["kind"], True
        prefixes = entry.get("name_prefixes", [])
        if prefixes and plain and any(plain.startswith(p) for p in prefixes):
            return entry["kind"], False
    from .http_clients import candidates

    if candidates(file, call):
        return "network", True
    return None


def _chain_has(node: ast.AST, attribute: str) -> bool:
    """`Model.objects.filter(...).update(...)`: an attribute named `attribute` anywhere in the
    receiver chain, through calls."""
    while True:
        if isinstance(node, ast.Attribute):
            if node.attr == attribute:
                return True
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return False


_INSERT = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*insert\b", re.IGNORECASE | re.DOTALL)
_CONFLICT = re.compile(r"\bon\s+conflict\b|\bon\s+duplicate\s+key\b|^\s*insert\s+or\s+(ignore|replace)\b"
                       r"|^\s*insert\s+ignore\b|\bwhere\s+not\s+exists\b", re.IGNORECASE)


def non_idempotent_writes(file, function) -> list[Evidence]:
    """Writes in `function` (and its helpers) that a retry would repeat."""
    found: list[Evidence] = []
    for fn in body_functions(file, function):
        for call in ast.walk(fn):
            if isinstance(call, ast.Call):
                kind = _write_kind(file, call, fn)
                if kind is not None:
                    found.append(Evidence(call, kind, True))
    return found


def _write_kind(file, call: ast.Call, scope) -> str | None:
    name = file.qualname(call.func) or ""
    func = call.func
    method = func.attr if isinstance(func, ast.Attribute) else calls.last_name(func)
    for entry in task_knowledge().get("non_idempotent", []):
        if any(calls.has_keyword(call, k) for k in entry.get("safe_keywords", [])):
            continue
        if name and any(name == p or name.startswith(p + ".") for p in entry.get("qualname_prefixes", [])):
            return entry["kind"]
        if method not in entry.get("methods", []):
            continue
        if entry.get("sql_insert"):
            if not isinstance(func, ast.Attribute) or not call.args:
                continue
            text = calls.constant_text(calls.resolve(file.tree, call.args[0], scope))
            if text and _INSERT.match(text) and not _CONFLICT.search(text):
                return entry["kind"]
            continue
        manager = entry.get("manager_attribute")
        if manager:
            if isinstance(func, ast.Attribute) and _chain_has(func.value, manager):
                return entry["kind"]
            continue
        receivers = entry.get("method_receivers")
        if receivers:
            if isinstance(func, ast.Attribute) and calls.last_name(func.value).lower() in receivers:
                return entry["kind"]
            continue
        if receivers is not None and not receivers:
            return entry["kind"]  # a method name that is itself specific (send_mail)
    return None


_STATUS_WORDS = re.compile(r"status|state|processed|sent|done|complete|paid|handled|delivered|"
                           r"finished|exists|seen|charged|notified|succeeded", re.IGNORECASE)


def idempotency_guards(file, function, before: ast.AST | None = None) -> list[ast.AST]:
    """Evidence that `function` (and its helpers) checks before it writes: guard calls and
    keywords, guard words in names, and early exits on a status check (before `before`
    when given, by line)."""
    kb = task_knowledge().get("guard", [])
    methods = {m for e in kb for m in e.get("methods", [])}
    keywords = {k for e in kb for k in e.get("keywords", [])}
    words = [w for e in kb for w in e.get("words", [])]
    found: list[ast.AST] = []
    limit = getattr(before, "lineno", None)
    for fn in body_functions(file, function):
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                if calls.last_name(node.func) in methods:
                    found.append(node)
                elif any(kw.arg in keywords and not calls.is_false(kw.value) for kw in node.keywords):
                    found.append(node)
                elif isinstance(node.func, ast.Attribute) and node.func.attr == "execute" and node.args:
                    text = calls.constant_text(node.args[0]) or ""
                    if _CONFLICT.search(text) or re.search(r"\bfor\s+update\b", text, re.IGNORECASE):
                        found.append(node)
            elif isinstance(node, ast.Name) and any(w in node.id.lower() for w in words):
                found.append(node)
            elif isinstance(node, ast.Attribute) and any(w in node.attr.lower() for w in words):
                found.append(node)
            elif isinstance(node, ast.If) and _early_exit(node) and _status_test(node.test):
                if limit is None or fn is not function or node.lineno < limit:
                    found.append(node)
    return found


def _early_exit(node: ast.If) -> bool:
    return any(isinstance(n, (ast.Return, ast.Raise, ast.Continue)) for stmt in node.body
               for n in ast.walk(stmt))


def _status_test(test: ast.AST) -> bool:
    """The test reads state that a previous run would have changed: an attribute or a call
    (`order.status != "pending"`, `r.exists(key)`, `user.welcome_sent`), not a mere
    `if not order:`."""
    if isinstance(test, ast.UnaryOp):
        return _status_test(test.operand)
    if isinstance(test, ast.BoolOp):
        return any(_status_test(v) for v in test.values)
    if isinstance(test, ast.Name):
        return bool(_STATUS_WORDS.search(test.id))
    if isinstance(test, ast.Compare):
        parts = [test.left] + list(test.comparators)
        if any(isinstance(p, (ast.Attribute, ast.Call, ast.Subscript)) for p in parts):
            return True
        return any(isinstance(p, ast.Name) and _STATUS_WORDS.search(p.id) for p in parts)
    return isinstance(test, (ast.Attribute, ast.Call, ast.Subscript))


# -- retry policies ------------------------------------------------------------------------


@dataclass
class RetryPolicy:
    retries: bool  # the job is retried on failure
    how: str  # what makes it retry, for messages ("autoretry_for", "self.retry()", ...)
    backoff: bool | None  # True: growing delays; False: immediate or fixed; None: unknown
    node: ast.AST | None = None  # where the retry is configured
    unknown: bool = False  # options we cannot read (`**options`, a custom base class)


def retry_calls(function) -> list[ast.Call]:
    """`self.retry(...)` / `<task>.retry(...)` / `raise self.retry(...)` calls."""
    out = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "retry":
            out.append(node)
    return out


_RETRY_DECORATORS = ("backoff.on_exception", "backoff.on_predicate", "tenacity.retry",
                     "retrying.retry", "retry.retry", "urllib3.util.retry.Retry")


def in_process_retry(file, function) -> ast.AST | None:
    """A retrying decorator (`@backoff.on_exception`, `@tenacity.retry`, `@retry(...)`) on the
    job or on a same-module helper it calls: the I/O is retried inside the job."""
    for fn in body_functions(file, function):
        for decorator in fn.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = file.qualname(target) or calls.dotted(target)
            if name in _RETRY_DECORATORS or calls.last_name(target) in ("retry", "on_exception"):
                return decorator
    return None


_LOGGING = re.compile(r"log|print|warn|sentry|capture|report|stats|metric|incr", re.IGNORECASE)


def handles_failure(function) -> bool:
    """The job catches errors and deals with them itself (records a state, returns a result,
    calls a handler) instead of letting them fail the job: not retrying is then a choice.
    A handler that only logs, or re-raises, does not count."""
    for node in ast.walk(function):
        if not isinstance(node, ast.Try):
            continue
        for handler in node.handlers:
            if any(isinstance(n, ast.Raise) for stmt in handler.body for n in ast.walk(stmt)):
                continue
            for stmt in handler.body:
                if isinstance(stmt, (ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    return True
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                    if not _LOGGING.search(calls.dotted(stmt.value.func) or "x"):
                        return True
    return False


IN_PROCESS = "a retrying decorator"


def retry_policy(file, job: Job) -> RetryPolicy:
    """How the queue retries the job; when it does not, a retrying decorator inside the job
    (`how == IN_PROCESS`: only the decorated function is retried)."""
    policy = _queue_retry_policy(job)
    if not policy.retries and not policy.unknown and job.framework in (CELERY, RQ):
        decorator = in_process_retry(file, job.function)
        if decorator is not None:
            return RetryPolicy(True, IN_PROCESS, True, decorator)
    return policy


def _queue_retry_policy(job: Job) -> RetryPolicy:
    options = job.options
    if job.star_options:
        return RetryPolicy(False, "", None, unknown=True)
    if job.framework == CELERY:
        if "base" in options:
            return RetryPolicy(False, "", None, unknown=True)  # a custom Task class may retry
        autoretry = options.get("autoretry_for")
        if autoretry is not None and not _empty(autoretry):
            backoff = options.get("retry_backoff")
            grows = backoff is not None and not calls.is_false(backoff)
            if not grows:
                kwargs = calls.constant(options.get("retry_kwargs"))
                grows = None if kwargs is calls.MISSING and "retry_kwargs" in options else False
            return RetryPolicy(True, "autoretry_for", grows, options.get("autoretry_for"))
        retries = retry_calls(job.function)
        if retries:
            grows = any(_growing_countdown(r) for r in retries)
            if not grows and any(calls.has_keyword(r, "countdown", "eta") and calls.constant(
                    calls.keyword(r, "countdown", "eta")) is calls.MISSING for r in retries):
                grows = True  # a computed delay: assume it grows
            return RetryPolicy(True, "self.retry()", grows, retries[0])
        return RetryPolicy(False, "", None)
    if job.framework == RQ:
        retry = options.get("retry")
        if retry is None or calls.constant(retry) is None:
            return RetryPolicy(False, "", None)
        if isinstance(retry, ast.Call) and calls.last_name(retry.func) == "Retry":
            interval = calls.argument(retry, 1, "interval")
            value = calls.constant(interval)
            if interval is None or value == 0:
                return RetryPolicy(True, "Retry(...)", False, retry)
            if isinstance(value, (list, tuple)) and len(set(value)) > 1:
                return RetryPolicy(True, "Retry(...)", True, retry)
            if value is calls.MISSING:
                return RetryPolicy(True, "Retry(...)", None, retry)
            return RetryPolicy(True, "Retry(...)", False, retry)
        return RetryPolicy(True, "retry", None, retry)
    if job.framework == DRAMATIQ:
        max_retries = options.get("max_retries")
        if max_retries is not None and calls.is_false(max_retries):
            return RetryPolicy(False, "max_retries=0", None, max_retries)
        if max_retries is not None and calls.constant(max_retries) is calls.MISSING:
            return RetryPolicy(True, "max_retries", True, max_retries, unknown=True)
        # the Retries middleware: exponential backoff between min_backoff and max_backoff
        return RetryPolicy(True, "Dramatiq's default retries" if max_retries is None
                           else "max_retries", True, max_retries)
    return RetryPolicy(False, "", None, unknown=True)


def _empty(node: ast.AST) -> bool:
    value = calls.constant(node)
    return value in ((), [], None)


def _growing_countdown(call: ast.Call) -> bool:
    delay = calls.keyword(call, "countdown", "eta")
    if delay is None:
        return False
    for node in ast.walk(delay):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mult, ast.LShift)):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "retries":
            return True
    return False
