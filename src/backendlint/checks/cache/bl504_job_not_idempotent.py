from __future__ import annotations

import ast

from ...findings import Confidence, Severity
from ...python import calls, tasks
from ...python.settings_modules import is_dev_or_test
from ...rule import Option, PythonRule, RuleMeta

_FRAMEWORK = {"celery": "Celery task", "rq": "RQ job", "dramatiq": "Dramatiq actor"}
_EFFECT = {
    "charge": "a retry after a timeout repeats the payment (a second charge, refund or transfer)",
    "send": "a retry sends the message again",
    "insert": "a retry inserts the row again",
}


class JobNotIdempotent(PythonRule):
    """
    ## What it does
    Flags a non-idempotent write in a background job that is retried, when the job shows
    no idempotency guard. Precision comes first, so both halves are narrow:

    *Retried jobs*: Celery tasks with `autoretry_for` or a `self.retry(...)` call, RQ jobs
    with `retry=Retry(...)`, and Dramatiq actors (retried by default unless
    `max_retries=0`).

    *Non-idempotent writes* (data in `rules/task_queues.toml`): payment calls without an
    `idempotency_key` (`stripe.Charge.create`, `stripe.PaymentIntent.create`,
    `stripe.Refund.create`, braintree `Transaction.sale`...); sending mail or messages
    (`send_mail`, `smtp.send_message`, `messages.create` of Twilio, `mail.send(...)`);
    `INSERT` statements without `ON CONFLICT` / `ON DUPLICATE KEY` / `INSERT OR IGNORE` /
    `WHERE NOT EXISTS`; Django `Model.objects.create(...)` and `bulk_create(...)` without
    `ignore_conflicts`.

    *Guards* that silence it, anywhere in the job or the same-module helpers it calls:
    `get_or_create`, `update_or_create`, `select_for_update`, `.exists()`, a lock
    (`acquire`, `lock`, Redis `set(..., nx=True)`), an `idempotency_key`, an
    `ON CONFLICT` / `FOR UPDATE` statement, a name mentioning idempotency or
    deduplication; and, before the write, an early `return` / `raise` under a test that
    reads state a previous run would have changed (`if order.status != "pending": return`,
    `if r.exists(key): return`) — not a bare `if not order: return`. For inserts, a
    `transaction.atomic()` block also counts (the failed attempt is rolled back).

    The work a job delegates to other modules is not seen: such jobs stay silent.

    ## Why is this bad?
    A retried job runs again after *any* failure, including failures that happen after
    the write succeeded: the HTTP call to the payment provider times out after the charge
    went through, the worker dies after the email left. Without a guard the retry
    repeats the effect: double charges, duplicate emails, duplicate rows.

    ## Example
    ```python
    @shared_task(autoretry_for=(StripeError,), retry_backoff=True)
    def charge_order(order_id):
        order = Order.objects.get(id=order_id)
        stripe.PaymentIntent.create(amount=order.total, currency="eur", customer=order.customer_id, confirm=True)
        order.status = "paid"
        order.save()
    ```

    ## Use instead
    ```python
    @shared_task(autoretry_for=(StripeError,), retry_backoff=True)
    def charge_order(order_id):
        order = Order.objects.get(id=order_id)
        if order.status != "pending":
            return  # already charged by an earlier attempt
        stripe.PaymentIntent.create(amount=order.total, currency="eur", customer=order.customer_id,
                                    confirm=True, idempotency_key=f"order-{order.id}")
        order.status = "paid"
        order.save()
    ```

    ## Options
    `report-sends`: also report mail and message sends (on by default; duplicates are
    a nuisance rather than a loss, so these findings have medium confidence).
    `test-patterns`: path globs of test modules, which are not checked.

    ## References
    - https://docs.celeryq.dev/en/stable/userguide/tasks.html#idempotence
    - https://docs.stripe.com/api/idempotent_requests
    - https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
    - https://dramatiq.io/guide.html#message-retries
    """

    meta = RuleMeta(
        id="BL504", name="job-not-idempotent", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A retried background job performs a non-idempotent write with no idempotency guard.",
        cwe=(837,), tags=("jobs", "correctness"),
        triggers=("task", "rq", "dramatiq", "actor", "enqueue"),
    )
    options = (
        Option("report-sends", bool, True, "Also report mail and message sends."),
        Option("test-patterns", list, ["test*.py", "*_test.py", "conftest.py", "tests/*", "test/*"],
               "Path globs of test modules, which are not checked."),
    )

    def finish(self) -> None:
        if is_dev_or_test(self.file.relpath, self.option("test-patterns")):
            return
        seen: set[int] = set()
        for job in tasks.find_jobs(self.file):
            if id(job.function) in seen:
                continue
            seen.add(id(job.function))
            self._check(job)

    def _check(self, job: tasks.Job) -> None:
        policy = tasks.retry_policy(self.file, job)
        if not policy.retries or policy.how == tasks.IN_PROCESS:
            return  # not retried by the queue (a decorated helper retries only itself)
        writes = tasks.non_idempotent_writes(self.file, job.function)
        if not writes:
            return
        atomic = _uses_atomic(job.function)
        reported: set[int] = set()
        for write in writes:
            if write.kind == "send" and not self.option("report-sends"):
                continue
            if write.kind == "insert" and atomic:
                continue
            if tasks.idempotency_guards(self.file, job.function, before=write.node):
                return
            line = write.node.lineno
            if line in reported:
                continue
            reported.add(line)
            label = f"{_FRAMEWORK[job.framework]} `{job.function.name}`"
            try:
                call = ast.unparse(write.node.func)  # type: ignore[attr-defined]
            except Exception:
                call = "this call"
            if len(call) > 40:
                call = call[:39] + "…"
            confidence = Confidence.MEDIUM if write.kind == "send" else Confidence.HIGH
            if policy.unknown:
                confidence = Confidence.MEDIUM
            self.report(write.node, f"{label} is retried ({policy.how}) and `{call}(...)` is not "
                        f"idempotent: {_EFFECT[write.kind]}; check a status or a unique key first, "
                        "or pass an idempotency key", confidence=confidence)


def _uses_atomic(function) -> bool:
    for node in ast.walk(function):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expr = item.context_expr
                target = expr.func if isinstance(expr, ast.Call) else expr
                if calls.last_name(target) in ("atomic", "begin", "transaction"):
                    return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if calls.last_name(target) == "atomic":
                    return True
    return False
