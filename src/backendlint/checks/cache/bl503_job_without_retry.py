from __future__ import annotations

from ...findings import Confidence, Severity
from ...python import tasks
from ...python.settings_modules import is_dev_or_test
from ...rule import Option, PythonRule, RuleMeta

_FRAMEWORK = {"celery": "Celery task", "rq": "RQ job", "dramatiq": "Dramatiq actor"}
_ADVICE = {
    "celery": "add `autoretry_for=(<transient errors>,), retry_backoff=True, max_retries=5`",
    "rq": "enqueue it with `retry=Retry(max=3, interval=[10, 60, 300])`",
    "dramatiq": "leave Dramatiq's default retries on or set `max_retries` with a backoff",
}


class JobWithoutRetry(PythonRule):
    """
    ## What it does
    Flags background jobs that talk to the network or a database and are not retried
    when that fails, or are retried with no growing delay between attempts:

    - Celery tasks (`@app.task`, `@shared_task`, `@<celery app>.task`) with neither
      `autoretry_for` nor a `self.retry(...)` call; with `autoretry_for` but no
      `retry_backoff`; with `self.retry()` whose `countdown` is a constant or missing
      (medium confidence: a fixed delay);
    - RQ jobs (`@job(...)` from `rq.decorators`, or functions of the same module passed to
      `queue.enqueue(...)`) without `retry=Retry(...)`, or with a `Retry` whose `interval`
      is missing, 0 or a single number.

    Dramatiq actors are retried by default (the Retries middleware: up to 20 times with
    exponential backoff), so they are not reported; `max_retries=0` is taken as a
    deliberate choice.

    The job must visibly do I/O: a call of an HTTP client, a database driver, the Django
    ORM (`Model.objects...`), `save()`, `execute()`, `commit()`, mail or cloud SDKs — in
    the task function or in a function of the same module it calls. A call whose name
    only announces I/O (`send_invoice(...)`, `sync_orders(...)` imported from elsewhere)
    gives medium confidence. A retrying decorator on the job or on a helper it calls
    (`@backoff.on_exception`, `@tenacity.retry`) counts as a retry policy. A job that
    catches errors and handles them itself — its `except` block records a state, returns
    a result or calls a handler rather than only logging — is taken to give up on purpose
    and is not reported for missing retries. Tasks whose options cannot be read (`**options`, a custom
    `base=` class that may define its own retry policy) stay silent, as do test modules.
    The framework knowledge is data in `rules/task_queues.toml`.

    ## Why is this bad?
    Networks drop connections, APIs rate-limit, databases fail over: a job that gives up
    at the first transient error silently loses the email, the webhook, the sync. Retrying
    immediately or at a fixed short delay hammers a service that is already struggling
    and fails again for the same reason; growing delays (exponential backoff with jitter)
    let it recover.

    ## Example
    ```python
    @shared_task
    def deliver_webhook(url, payload):
        requests.post(url, json=payload, timeout=10)
    ```

    ## Use instead
    ```python
    @shared_task(autoretry_for=(requests.RequestException,), retry_backoff=True,
                 retry_jitter=True, max_retries=6)
    def deliver_webhook(url, payload):
        requests.post(url, json=payload, timeout=10).raise_for_status()
    ```

    ## Options
    `require-backoff`: also report retries without a growing delay (on by default).
    `test-patterns`: path globs of test modules, which are not checked.

    ## References
    - https://docs.celeryq.dev/en/stable/userguide/tasks.html#automatic-retry-for-known-exceptions
    - https://docs.celeryq.dev/en/stable/userguide/tasks.html#retrying
    - https://python-rq.org/docs/exceptions/#retrying-failed-jobs
    - https://dramatiq.io/cookbook.html#retrying
    - https://cwe.mitre.org/data/definitions/755.html
    """

    meta = RuleMeta(
        id="BL503", name="job-without-retry", severity=Severity.LOW,
        confidence=Confidence.HIGH,
        summary="A background job does network or database I/O without retries with backoff.",
        cwe=(755,), tags=("jobs", "reliability"),
        triggers=("task", "rq", "dramatiq", "enqueue"),
    )
    options = (
        Option("require-backoff", bool, True,
               "Also report retries with no growing delay between attempts."),
        Option("test-patterns", list, ["test*.py", "*_test.py", "conftest.py", "tests/*", "test/*"],
               "Path globs of test modules, which are not checked."),
    )

    def finish(self) -> None:
        if is_dev_or_test(self.file.relpath, self.option("test-patterns")):
            return
        for job in tasks.find_jobs(self.file):
            self._check(job)

    def _check(self, job: tasks.Job) -> None:
        policy = tasks.retry_policy(self.file, job)
        if policy.unknown or job.framework == tasks.DRAMATIQ:
            return
        evidence = tasks.io_evidence(self.file, job.function)
        if not evidence:
            return
        strong = [e for e in evidence if e.strong]
        first = (strong or evidence)[0]
        what = _describe(first)
        confidence = Confidence.HIGH if strong else Confidence.MEDIUM
        label = f"{_FRAMEWORK[job.framework]} `{job.function.name}`"
        kind = {"named": "probable network"}.get(first.kind, first.kind)
        if not policy.retries:
            if tasks.handles_failure(job.function):
                return  # failure is handled on purpose (a state recorded, a result returned)
            self.report(job.anchor, f"{label} does {kind} I/O ({what}, line "
                        f"{first.node.lineno}) but is never retried: a transient failure loses "
                        f"the work; {_ADVICE[job.framework]}", confidence=confidence)
            return
        if policy.backoff is False and self.option("require-backoff"):
            self.report(job.anchor, f"{label} retries ({policy.how}) without a growing delay: "
                        "retries hit a struggling service at the same pace; use exponential "
                        "backoff (`retry_backoff=True`, `countdown=2 ** self.request.retries`, "
                        "`Retry(interval=[...])`)", confidence=Confidence.MEDIUM)


def _describe(evidence: tasks.Evidence) -> str:
    import ast

    try:
        text = ast.unparse(evidence.node.func)  # type: ignore[attr-defined]
    except Exception:
        text = "a call"
    if len(text) > 40:
        text = text[:39] + "…"
    return f"`{text}()`"
