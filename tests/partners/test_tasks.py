"""Celery tasks of the partner record: eagerly in-process, and once through a real worker on Redis."""

import threading
from unittest import mock

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.core import mail

from partners import notifications, tasks
from partners.models import MembershipRole
from tests.partners.factories import ApplicationFactory, MembershipFactory

# Eager (CELERY_TASK_ALWAYS_EAGER in test settings): what each task sends.


@pytest.mark.django_db
def test_send_portal_invitation_e_mails_a_set_password_link(partner_a, manager_user):
    membership = MembershipFactory(partner=partner_a, role=MembershipRole.ADMIN, user__first_name="Ada", user__username="ada@alpha.test")

    tasks.send_portal_invitation.delay(user_id=membership.user.pk, invited_by_id=manager_user.pk)

    (message,) = mail.outbox
    assert message.to == ["ada@alpha.test"]
    assert message.subject == "You are invited to the Alpha Resellers B.V. partner portal"
    assert message.body.startswith("Hello Ada,")
    assert "Maria Manager invited you" in message.body
    assert "http://testserver/accounts/reset/" in message.body


@pytest.mark.django_db
def test_send_portal_invitation_without_an_inviter(partner_a):
    membership = MembershipFactory(partner=partner_a)

    tasks.send_portal_invitation.delay(user_id=membership.user.pk)

    (message,) = mail.outbox
    assert "You have been invited to the PartnerLoop portal of Alpha Resellers B.V." in message.body


@pytest.mark.django_db
def test_notify_managers_of_application(manager_user):
    application = ApplicationFactory(company_name="Kappa Ltd")

    tasks.notify_managers_of_application.delay(application_id=application.pk)

    (message,) = mail.outbox
    assert message.to == [manager_user.email]
    assert f"http://testserver/partners/applications/{application.pk}/" in message.body


@pytest.mark.django_db
def test_notify_managers_with_no_managers_sends_nothing():
    tasks.notify_managers_of_application.delay(application_id=ApplicationFactory().pk)

    assert mail.outbox == []


@pytest.mark.django_db
def test_send_application_declined():
    application = ApplicationFactory(email="lea@lambda.example", status="declined", decline_reason="Not this year.")

    tasks.send_application_declined.delay(application_id=application.pk)

    (message,) = mail.outbox
    assert message.to == ["lea@lambda.example"]
    assert "Not this year." in message.body


# The import task: whatever stops it, the job ends failed with a readable message, never "running".

# A real worker: the task crosses Redis, runs in the worker, and its result comes back over Redis.


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_invitation_is_sent_by_a_real_worker_over_redis(redis_worker, partner_a, manager_user):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    membership = MembershipFactory(partner=partner_a, role=MembershipRole.ADMIN, user__username="worker@alpha.test")

    ran_in = []

    def record_thread(**kwargs):
        ran_in.append(threading.current_thread())

    task_prerun.connect(record_thread, weak=False)
    try:
        result = tasks.send_portal_invitation.delay(user_id=membership.user.pk, invited_by_id=manager_user.pk)
        assert result.get(timeout=30) is None
    finally:
        task_prerun.disconnect(record_thread)

    assert result.successful()
    assert ran_in
    assert threading.current_thread() not in ran_in
    assert type(result.backend).__name__ == "RedisBackend"  # the result came back through Redis
    (message,) = mail.outbox
    assert message.to == ["worker@alpha.test"]
    assert "Alpha Resellers B.V." in message.subject


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_transient_mail_failure_is_retried_by_the_worker_and_the_e_mail_still_arrives(redis_worker, partner_a):
    membership = MembershipFactory(partner=partner_a)
    real_send_mail = notifications.send_mail
    calls = []

    def flaky_send_mail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionRefusedError("SMTP server not reachable")
        return real_send_mail(*args, **kwargs)

    with mock.patch.object(notifications, "send_mail", flaky_send_mail):
        result = tasks.send_portal_invitation.delay(user_id=membership.user.pk)
        # The retry is a new message on the broker; its result lands under the same task id.
        assert result.get(timeout=30) is None

    assert result.successful()
    assert len(calls) == 2
    assert len(mail.outbox) == 1
