"""Celery tasks of the partner record: thin wrappers that send e-mail for a service."""

from celery import shared_task
from django_scopes import scopes_disabled

from . import idempotency, notifications


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


@shared_task
def purge_idempotency_keys():
    """Daily: delete the stored answers of idempotent requests older than the 24-hour replay window."""
    return idempotency.purge_expired()
