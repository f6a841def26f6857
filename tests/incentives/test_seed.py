"""`manage.py seed_incentives`: the demo programs, a closed past period, payouts in every state,
rewards and redemptions, and that a second run changes nothing."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from incentives.management.commands.seed_incentives import POINTS, REBATE, quarter_start
from incentives.models import (
    AuditEntry,
    EarningLine,
    Payout,
    PayoutStatus,
    PointsEntry,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
)
from partners.models import MembershipRole, PartnerType
from sales.imports import rollups
from tests.partners.factories import MembershipFactory, PartnerFactory, TierFactory
from tests.sales.factories import SaleFactory

pytestmark = pytest.mark.django_db


def seed():
    out = StringIO()
    call_command("seed_incentives", stdout=out)
    return out.getvalue()


def snapshot():
    return (
        list(Program.objects.order_by("pk").values_list("pk", "name", "status", "updated_at")),
        list(ProgramPeriod.objects.order_by("pk").values_list("pk", "closed_at", "calculated_at")),
        list(EarningLine.objects.order_by("pk").values_list("pk", "amount", "points", "payout_id")),
        list(Payout.objects.order_by("pk").values_list("pk", "status", "amount", "reference")),
        list(Reward.objects.order_by("pk").values_list("pk", "name", "stock")),
        list(Redemption.objects.order_by("pk").values_list("pk", "status")),
        PointsEntry.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def demo_partners():
    """Eight resellers with last quarter's sales (and the same quarter a year before for half of them)."""
    tiers = [TierFactory(name=name, rank=rank) for rank, name in enumerate(["Registered", "Silver", "Gold"], start=1)]
    last_quarter = date.fromordinal(quarter_start(timezone.localdate()).toordinal() - 1).replace(day=15)
    partners = []
    for n in range(8):
        partner = PartnerFactory(name=f"Demo reseller {n}", partner_type=PartnerType.RESELLER, tier=tiers[n % 3])
        MembershipFactory(partner=partner, role=MembershipRole.ADMIN)
        amount = Decimal(40000 + 30000 * n)
        SaleFactory(partner=partner, amount=amount, invoice_date=last_quarter)
        months = {(partner.pk, last_quarter.replace(day=1))}
        if n % 2:
            year_before = last_quarter.replace(year=last_quarter.year - 1)
            SaleFactory(partner=partner, amount=amount / 2, invoice_date=year_before)
            months.add((partner.pk, year_before.replace(day=1)))
        rollups.refresh(months)
        partners.append(partner)
    return partners


def test_needs_the_demo_partners_first():
    with pytest.raises(CommandError, match="run seed_demo first"):
        seed()


def test_seeds_running_programs_with_a_closed_period_and_every_state(demo_partners):
    output = seed()
    assert "2 programs" in output
    rebate, points = Program.objects.get(name=REBATE), Program.objects.get(name=POINTS)
    assert rebate.status == points.status == ProgramStatus.ACTIVE
    assert sorted(rebate.rules.values_list("kind", flat=True)) == ["growth_bonus", "revenue_rebate"]
    closed = ProgramPeriod.objects.get(program=rebate, closed_at__isnull=False)
    assert closed.ends_on < timezone.localdate()
    assert ProgramPeriod.objects.filter(program=rebate, closed_at__isnull=True).exists()  # the running quarter

    # Demo reseller 0 sold 40,000 last quarter: 2% = 800. Reseller 7: 250,000 -> 2,000 + 4,500 = 6,500, and
    # it doubled over last year: growth bonus 1,500.
    lines = {(line.partner.name, line.rule.kind): line.amount for line in EarningLine.objects.filter(program=rebate)}
    assert lines[("Demo reseller 0", "revenue_rebate")] == Decimal("800.00")
    assert lines[("Demo reseller 7", "revenue_rebate")] == Decimal("6500.00")
    assert lines[("Demo reseller 7", "growth_bonus")] == Decimal("1500.00")
    assert ("Demo reseller 0", "growth_bonus") not in lines

    assert set(Payout.objects.values_list("status", flat=True)) == set(PayoutStatus.values)
    assert Reward.objects.count() == 5
    statuses = set(Redemption.objects.values_list("status", flat=True))
    assert {RedemptionStatus.PENDING_APPROVAL, RedemptionStatus.FULFILLED, RedemptionStatus.REJECTED} <= statuses


def test_a_second_run_changes_nothing(demo_partners):
    seed()
    before = snapshot()
    seed()
    assert snapshot() == before
