"""Period close: earnings from real sales, idempotence, adjustments after close, basis and edge cases."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from incentives import services
from incentives.models import AuditEntry, EarningBasis, EarningLine, LineKind, PointsEntry, ProgramPeriod, RuleKind
from sales.imports import rollups
from tests.enablement.factories import CertificationFactory
from tests.partners.factories import PartnerFactory
from tests.sales.factories import CustomerFactory, ProductFactory, SaleFactory

from .factories import ProgramFactory, RuleFactory

pytestmark = pytest.mark.django_db
D = Decimal
AFTER_Q1 = date(2026, 4, 2)


def sale(partner, amount, day=date(2026, 2, 10), **kwargs):
    created = SaleFactory(partner=partner, amount=D(amount), invoice_date=day, **kwargs)
    rollups.refresh({(partner.pk, day.replace(day=1))})
    return created


def q1(program):
    services.periods_ensure(program=program, today=AFTER_Q1)
    return ProgramPeriod.objects.get(program=program, starts_on=date(2026, 1, 1))


def amounts(period, partner):
    return sorted(EarningLine.objects.filter(period=period, partner=partner).values_list("kind", "amount"))


@pytest.fixture
def rebate():
    return RuleFactory().program


def test_periods_follow_the_program_calendar(rebate):
    periods = services.periods_ensure(program=rebate, today=date(2026, 7, 1))
    assert [(p.starts_on, p.ends_on) for p in periods] == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
    ]


def test_close_turns_sales_into_lines_with_credit_notes_deducted(rebate, partner_a, partner_b):
    sale(partner_a, "90000")
    sale(partner_a, "30000", day=date(2026, 3, 5))
    sale(partner_a, "-10000", day=date(2026, 3, 20))  # credit note: revenue 110,000
    sale(partner_a, "50000", day=date(2026, 4, 1))  # next quarter
    period = q1(rebate)

    result = services.period_close(period=period, today=AFTER_Q1)

    assert amounts(period, partner_a) == [(LineKind.NORMAL, D("2400.00"))]  # 2% of 100,000 + 4% of 10,000
    assert amounts(period, partner_b) == []  # zero sales earn nothing
    line = EarningLine.objects.get(partner=partner_a)
    assert line.reason == "Revenue 110,000: 2% on 100,000 + 4% on 10,000"
    assert line.detail["revenue"] == "110000.0000"
    assert result.first_close
    assert len(result.created) == 1
    assert result.period.closed_at is not None
    assert AuditEntry.objects.filter(action="period_close", object_id=period.pk).count() == 1


def test_closing_twice_changes_nothing(rebate, partner_a):
    sale(partner_a, "120000")
    period = q1(rebate)
    services.period_close(period=period, today=AFTER_Q1)
    closed_at = ProgramPeriod.objects.get(pk=period.pk).closed_at
    lines = list(EarningLine.objects.values_list("pk", "amount"))

    again = services.period_close(period=period, today=AFTER_Q1)

    assert again.created == []
    assert not again.first_close
    assert list(EarningLine.objects.values_list("pk", "amount")) == lines
    assert ProgramPeriod.objects.get(pk=period.pk).closed_at == closed_at


def test_late_sales_become_adjustment_lines_never_edits(rebate, partner_a, partner_b):
    sale(partner_a, "120000")
    period = q1(rebate)
    services.period_close(period=period, today=AFTER_Q1)
    original = EarningLine.objects.get(partner=partner_a)
    sale(partner_a, "-30000", day=date(2026, 3, 30))  # late credit note: 90,000
    sale(partner_b, "1000", day=date(2026, 3, 31))  # late first sale of another partner

    result = services.period_close(period=period, today=AFTER_Q1)

    assert len(result.adjustments) == 2
    assert amounts(period, partner_a) == [(LineKind.ADJUSTMENT, D("-1000.00")), (LineKind.NORMAL, D("2800.00"))]
    assert amounts(period, partner_b) == [(LineKind.ADJUSTMENT, D("20.00"))]
    original.refresh_from_db()
    assert original.amount == D("2800.00")
    adjustment = EarningLine.objects.get(partner=partner_a, kind=LineKind.ADJUSTMENT)
    assert adjustment.reason.startswith("Adjustment after late sales: was 2,800, now 1,800")


def test_periods_close_due_picks_up_changed_sales(rebate, partner_a):
    sale(partner_a, "50000")
    results = services.periods_close_due(today=AFTER_Q1)
    assert [r.first_close for r in results] == [True]
    assert services.periods_close_due(today=AFTER_Q1) == []
    sale(partner_a, "50000", day=date(2026, 3, 1))
    (result,) = services.periods_close_due(today=AFTER_Q1)
    assert [line.amount for line in result.adjustments] == [D("1000.00")]


def test_a_period_that_has_not_ended_cannot_close(rebate):
    period = q1(rebate)
    with pytest.raises(ValidationError) as error:
        services.period_close(period=period, today=date(2026, 3, 31))
    assert error.value.messages == ["This period ends on March 31, 2026; it can be closed from the next day."]


def test_partner_joining_mid_period_earns_on_its_sales_in_the_period(rebate):
    newcomer = PartnerFactory(joined_on=date(2026, 3, 1))
    sale(newcomer, "10000", day=date(2026, 3, 15))
    period = q1(rebate)
    services.period_close(period=period, today=AFTER_Q1)
    assert amounts(period, newcomer) == [(LineKind.NORMAL, D("200.00"))]


def test_paid_only_basis_counts_paid_lines_and_every_credit_note(partner_a):
    program = RuleFactory(program__earning_basis=EarningBasis.PAID).program
    sale(partner_a, "60000", paid_date=date(2026, 3, 1))
    sale(partner_a, "40000")  # not paid
    sale(partner_a, "-5000")  # credit note counts
    period = q1(program)
    services.period_close(period=period, today=AFTER_Q1)
    assert amounts(period, partner_a) == [(LineKind.NORMAL, D("1100.00"))]  # 2% of 55,000


def test_spiff_new_customer_certification_and_points_rules(partner_a):
    program = ProgramFactory(points_expiry_months=12)
    router = ProductFactory(sku="RTR-100", category="Networking")
    RuleFactory(program=program, kind=RuleKind.SPIFF, params={"sku": "RTR-100", "amount_per_unit": "25"})
    RuleFactory(program=program, kind=RuleKind.NEW_CUSTOMER, params={"amount_per_customer": "500"})
    RuleFactory(program=program, kind=RuleKind.CERTIFICATION, params={"amount_per_certification": "250"})
    RuleFactory(program=program, kind=RuleKind.POINTS, params={"points_per_unit": "1"})
    old, fresh = CustomerFactory(name="Old Corp"), CustomerFactory(name="Fresh Ltd")
    sale(partner_a, "100", day=date(2025, 6, 1), customer=old)
    sale(partner_a, "3000", product=router, quantity=D("3"), customer=old)
    sale(partner_a, "2000", product=router, quantity=D("2"), customer=fresh)
    sale(partner_a, "-1000", product=router, quantity=D("1"))  # a returned router
    CertificationFactory(contact__partner=partner_a, earned_on=date(2026, 3, 31))
    CertificationFactory(contact__partner=partner_a, earned_on=date(2026, 4, 1))  # next quarter
    period = q1(program)

    services.period_close(period=period, today=AFTER_Q1)

    lines = {line.rule.kind: line for line in EarningLine.objects.filter(period=period).select_related("rule")}
    assert lines[RuleKind.SPIFF].amount == D("100.00")  # (3 + 2 - 1) units x 25
    assert lines[RuleKind.NEW_CUSTOMER].amount == D("500.00")  # Fresh Ltd only
    assert lines[RuleKind.NEW_CUSTOMER].reason == "1 new customer at 500: Fresh Ltd"
    assert lines[RuleKind.CERTIFICATION].amount == D("250.00")
    assert lines[RuleKind.POINTS].points == 4000
    assert lines[RuleKind.POINTS].reward_type == "points"
    entry = PointsEntry.objects.get(partner=partner_a)
    assert (entry.points, entry.remaining, entry.expires_on) == (4000, 4000, date(2027, 3, 31))
    assert partner_a.points_balance.balance == 4000


def test_growth_bonus_against_the_same_quarter_last_year(partner_a):
    program = ProgramFactory()
    RuleFactory(program=program, kind=RuleKind.GROWTH_BONUS, params={"min_growth_percent": "10", "bonus_type": "fixed", "bonus": "750"})
    sale(partner_a, "40000", day=date(2025, 2, 1))
    sale(partner_a, "44000")
    period = q1(program)
    services.period_close(period=period, today=AFTER_Q1)
    (line,) = EarningLine.objects.filter(period=period)
    assert line.amount == D("750.00")
    assert line.reason == "Revenue grew 10% (from 40,000 to 44,000), at least 10%"


def test_eligibility_limits_who_earns(partner_a, partner_b):
    program = RuleFactory().program
    program.partners.set([partner_b])
    sale(partner_a, "10000")
    sale(partner_b, "10000")
    period = q1(program)
    services.period_close(period=period, today=AFTER_Q1)
    assert list(EarningLine.objects.values_list("partner_id", flat=True)) == [partner_b.pk]
