"""Celery tasks of the partner record: thin wrappers that send e-mail for a service."""

from celery import shared_task

from core.tasks import RETRY, ChannelTask

from . import idempotency, notifications


@shared_task(base=ChannelTask, **RETRY)
def send_portal_invitation(*, user_id, invited_by_id=None):
    notifications.send_portal_invitation(user_id=user_id, invited_by_id=invited_by_id)


@shared_task(base=ChannelTask, **RETRY)
def notify_managers_of_application(*, application_id):
    notifications.notify_managers_of_application(application_id=application_id)


@shared_task(base=ChannelTask, **RETRY)
def send_application_declined(*, application_id):
    notifications.send_application_declined(application_id=application_id)


@shared_task(base=ChannelTask)
def purge_idempotency_keys():
    """Daily: delete the stored answers of idempotent requests older than the 24-hour replay window."""
    return idempotency.purge_expired()
