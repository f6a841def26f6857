"""Celery tasks of the partner record: thin wrappers that send e-mail for a service."""

from celery import shared_task
from django_scopes import scopes_disabled

from . import idempotency, notifications
from .imports.jobs import KILL_TIME_LIMIT, RUN_TIME_LIMIT, import_job_run


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def send_portal_invitation(*, user_id, invited_by_id=None):
    with scopes_disabled():
        notifications.send_portal_invitation(user_id=user_id, invited_by_id=invited_by_id)


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def notify_managers_of_application(*, application_id):
    with scopes_disabled():
        notifications.notify_managers_of_application(application_id=application_id)


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def send_application_declined(*, application_id):
    with scopes_disabled():
        notifications.send_application_declined(application_id=application_id)


@shared_task(soft_time_limit=RUN_TIME_LIMIT.total_seconds(), time_limit=KILL_TIME_LIMIT.total_seconds())
def run_import_job(*, job_id):
    """Run an uploaded import; a second delivery finds the job no longer pending and does nothing.

    The soft time limit ends a runaway import as "failed" (the job runner records it, then re-raises);
    the hard limit is the last resort, after which the job page reports the job as stopped.
    """
    with scopes_disabled():
        import_job_run(job_id=job_id)


@shared_task
def purge_idempotency_keys():
    """Daily: delete the stored answers of idempotent requests older than the 24-hour replay window."""
    return idempotency.purge_expired()
