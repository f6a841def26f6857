"""factory-boy factories for incentives tests: a quarterly program of 2026 Q1 by default.

Also ledger rows, payouts and points for the incentive pages' tests, without running a close.
"""

from datetime import date
from decimal import Decimal

import factory
from django.utils import timezone

from incentives import services
from incentives.models import (
    EarningLine,
    Payout,
    PayoutStatus,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Reward,
    RewardKind,
    RewardType,
    Rule,
    RuleKind,
)
from tests.partners.factories import PartnerFactory


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"Rebate program {n}")
    description = "Quarterly rebate."
    period = "quarterly"
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 12, 31)
    status = ProgramStatus.ACTIVE


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    program = factory.SubFactory(ProgramFactory)
    kind = RuleKind.REVENUE_REBATE
    params = factory.LazyFunction(
        lambda: {"mode": "marginal", "brackets": [{"from": "0", "to": "100000", "rate": "2"}, {"from": "100000", "to": None, "rate": "4"}]}
    )


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Gift card {n}")
    kind = RewardKind.GIFT_CARD
    points_cost = 100


class PeriodFactory(factory.django.DjangoModelFactory):
    """Q1 2026 of a program, closed."""

    class Meta:
        model = ProgramPeriod
        django_get_or_create = ("program", "starts_on")

    program = factory.SubFactory(ProgramFactory)
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 3, 31)
    closed_at = factory.LazyFunction(timezone.now)
    calculated_at = factory.SelfAttribute("closed_at")


class EarningLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EarningLine

    partner = factory.SubFactory(PartnerFactory)
    period = factory.SubFactory(PeriodFactory)
    program = factory.SelfAttribute("period.program")
    reward_type = RewardType.CASH
    amount = Decimal("1200.00")
    reason = "Revenue 60,000: 2% on 60,000"


def payout_for(partner, *, amount="1200.00", status=PayoutStatus.PENDING, program=None, **fields):
    """A payout batching one new earning line of `partner` (a closed Q1 period of `program`)."""
    period = PeriodFactory(program=program) if program is not None else PeriodFactory()
    line = EarningLineFactory(partner=partner, period=period, amount=Decimal(amount))
    payout = Payout.objects.create(
        partner=partner, program=period.program, amount=Decimal(amount), status=status, line_ids=[line.pk], **fields
    )
    EarningLine.objects.filter(pk=line.pk).update(payout=payout)
    return payout


def give_points(partner, points):
    return services.points_earn(partner=partner, points=points, note="Welcome points")
