"""Beat schedules and the thin tasks over the services."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.schedules import ensure_schedules
from incentives import services, tasks
from incentives.models import EarningLine
from incentives.schedules import SCHEDULES
from sales.imports import rollups
from tests.sales.factories import SaleFactory

from .factories import RuleFactory

pytestmark = pytest.mark.django_db


def test_schedules_are_created_once_and_admin_edits_are_kept():
    ensure_schedules()
    for name, (task, minute, hour) in SCHEDULES.items():
        periodic = PeriodicTask.objects.get(name=name)
        assert (periodic.task, periodic.crontab.minute, periodic.crontab.hour) == (task, minute, hour)
    PeriodicTask.objects.filter(name="Incentives: expire points").update(enabled=False)
    ensure_schedules()
    assert PeriodicTask.objects.get(name="Incentives: expire points").enabled is False


def test_close_ended_periods_task_closes_once(partner_a):
    today = timezone.localdate()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    RuleFactory(program__period="monthly", program__starts_on=start, program__ends_on=today + timedelta(days=60))
    SaleFactory(partner=partner_a, amount=Decimal("1000"), invoice_date=start)
    rollups.refresh({(partner_a.pk, start)})
    assert tasks.close_ended_periods.delay().get() == 1
    assert tasks.close_ended_periods.delay().get() == 0
    assert list(EarningLine.objects.values_list("amount", flat=True)) == [Decimal("20.00")]


def test_expire_points_task(partner_a):
    services.points_earn(partner=partner_a, points=10, expires_on=date(2020, 1, 1))
    assert tasks.expire_points.delay().get() == 10
