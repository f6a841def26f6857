"""`manage.py seed_scores`: history of loyalty scores for a (small) demo world, idempotent."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kpis.management.commands.seed_scores import seed_dates
from kpis.models import Alert, ScoreSnapshot
from partners.models import PartnerStatus
from tests.partners.factories import PartnerFactory
from tests.sales.factories import SalesMonthFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


def _seed(*args):
    out = StringIO()
    call_command("seed_scores", "--today", TODAY.isoformat(), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world():
    """Two partners in the channel with a sale each month of the last year, one applicant (never scored)."""
    partners = [PartnerFactory(joined_on=date(2024, 1, 1)) for _ in range(2)]
    for partner, revenue in zip(partners, (1000, 30000), strict=True):
        for offset in range(1, 13):
            month = date(2025 + (5 + offset) // 12, (5 + offset) % 12 + 1, 1)
            SalesMonthFactory(partner=partner, month=month, revenue=Decimal(revenue))
    PartnerFactory(status=PartnerStatus.APPLICANT, joined_on=None)
    return partners


def test_the_dates_are_every_step_back_then_every_day():
    dates = seed_dates(TODAY, months=1, days=3, step=14)
    assert dates == [date(2026, 5, 15), date(2026, 5, 29), date(2026, 6, 12), date(2026, 6, 13), date(2026, 6, 14), date(2026, 6, 15)]
    assert all(later - earlier < timedelta(days=30) for earlier, later in zip(dates, dates[1:], strict=False))


def test_seed_scores_writes_one_snapshot_per_partner_and_day(world):
    output = _seed("--months", "1", "--days", "3")
    assert "6 of 6 days scored" in output
    assert ScoreSnapshot.objects.count() == 2 * 6
    assert set(ScoreSnapshot.objects.values_list("partner_id", flat=True)) == {partner.pk for partner in world}
    assert sorted(set(ScoreSnapshot.objects.values_list("date", flat=True))) == seed_dates(TODAY, months=1, days=3, step=14)
    # The small seller is below the threshold from the first day on: alerted once, not on every day.
    assert Alert.objects.filter(partner=world[0]).count() == 1


def test_seed_scores_is_idempotent(world):
    _seed("--months", "1", "--days", "3")
    before = list(ScoreSnapshot.objects.order_by("pk").values_list("pk", "partner_id", "date", "score", "components"))
    alerts = Alert.objects.count()
    assert "0 of 6 days scored (6 already were)" in _seed("--months", "1", "--days", "3")
    assert "6 of 6 days scored" in _seed("--months", "1", "--days", "3", "--force")
    after = list(ScoreSnapshot.objects.order_by("pk").values_list("pk", "partner_id", "date", "score", "components"))
    assert after == before
    assert Alert.objects.count() == alerts


def test_bad_arguments_are_errors():
    with pytest.raises(CommandError, match="Invalid --today"):
        call_command("seed_scores", "--today", "15/06/2026", stdout=StringIO())
    with pytest.raises(CommandError, match="--step must be at least 1"):
        call_command("seed_scores", "--step", "0", stdout=StringIO())


def test_seed_demo_calls_seed_scores_last():
    from pathlib import Path

    import demo.management.commands.seed_demo as seed_demo

    source = Path(seed_demo.__file__).read_text()
    handle = source[source.index("def handle") :]
    calls = [line.strip() for line in handle.splitlines() if line.strip().startswith("call_command(")]
    assert calls[-1].startswith('call_command("seed_scores"')
