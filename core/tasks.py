"""Task base classes and enqueueing, in the manner of pretix's `EventTask`.

- `ChannelTask`: a job over the whole channel (the nightly recompute, a period close, an e-mail to
  managers) runs with django-scopes disabled, as jobs must opt out of the tenant scope explicitly.
- `PartnerTask`: a job for one partner, called with `partner_id=`; it runs inside that partner's
  scope, so a forgotten filter cannot read another partner's rows.
- `RETRY`: the one retry policy for tasks that talk to the outside world (mail, HTTP).
- `enqueue_after_commit(task, **kwargs)`: send a task once the current transaction has committed
  (never for a write that rolls back, never before the rows it reads are visible to the worker).
"""

from celery import Task
from django.db import transaction
from django_scopes import scope, scopes_disabled

RETRY = {"autoretry_for": (ConnectionError, OSError), "retry_backoff": True, "max_retries": 5}


class ChannelTask(Task):
    """Runs with scopes disabled: the task reads and writes across partners on purpose."""

    def __call__(self, *args, **kwargs):
        with scopes_disabled():
            return super().__call__(*args, **kwargs)


class PartnerTask(Task):
    """Runs inside the scope of the partner given as `partner_id`."""

    def __call__(self, *args, partner_id, **kwargs):
        with scope(partner=[partner_id]):
            return super().__call__(*args, partner_id=partner_id, **kwargs)


def enqueue_after_commit(task, **kwargs):
    """`task.delay(**kwargs)` after the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task.delay(**kwargs))
