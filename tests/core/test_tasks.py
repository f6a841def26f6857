"""Task base classes (core.tasks): a channel task runs unscoped, a partner task inside its partner's
scope; enqueue_after_commit sends nothing for a write that rolls back."""

import pytest
from celery import shared_task
from django.db import transaction
from django_scopes import get_scope, scope

from core import schedules
from core.tasks import ChannelTask, PartnerTask, enqueue_after_commit

seen = []


@shared_task(base=ChannelTask)
def _channel_probe():
    seen.append(("channel", get_scope()))


@shared_task(base=PartnerTask)
def _partner_probe(*, partner_id):
    seen.append(("partner", get_scope()))


@pytest.fixture(autouse=True)
def _clear():
    seen.clear()


def test_a_channel_task_runs_with_scopes_disabled_even_when_called_inside_a_scope():
    with scope(partner=[1]):
        _channel_probe.delay()
    assert [(kind, active["_enabled"]) for kind, active in seen] == [("channel", False)]


def test_a_partner_task_runs_inside_its_partner_scope():
    _partner_probe.delay(partner_id=7)
    kind, active = seen[0]
    assert (kind, active["_enabled"], active["partner"]) == ("partner", True, [7])


@pytest.mark.django_db(transaction=True)
def test_enqueue_after_commit_waits_for_the_commit_and_drops_on_rollback():
    with transaction.atomic():
        enqueue_after_commit(_partner_probe, partner_id=3)
        assert seen == []
    assert [kind for kind, _ in seen] == ["partner"]

    seen.clear()
    try:
        with transaction.atomic():
            enqueue_after_commit(_partner_probe, partner_id=3)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert seen == []


def test_every_app_registers_its_schedules_in_the_one_registry():
    tasks = schedules.registered()
    assert tasks["KPIs: nightly loyalty-score recompute"] == "kpis.tasks.nightly_recompute"
    assert tasks["Partners: purge idempotency keys"] == "partners.tasks.purge_idempotency_keys"
    assert tasks["Incentives: close ended periods"] == "incentives.tasks.close_ended_periods"
    assert tasks["Surveys: send reminders"] == "surveys.tasks.send_survey_reminders"
