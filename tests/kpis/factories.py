"""factory-boy factories for kpis tests: rollup rows, cases, and a helper that builds one partner's world."""

from datetime import date, datetime, time
from decimal import Decimal

import factory
from django.utils import timezone

from cases.models import Case, CaseKind
from partners.models import InteractionKind
from sales.imports import rollups
from sales.models import SalesMonth, SalesMonthDetail
from tests.factories import ContactFactory, InteractionFactory, PartnerFactory
from tests.incentives.factories import CertificationFactory, CustomerFactory, SaleFactory

ON = date(2026, 6, 15)  # the scored day of most tests: trailing window 2025-06..2026-05


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


class SalesMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesMonth

    partner = factory.SubFactory(PartnerFactory)
    month = date(2026, 1, 1)
    revenue = Decimal("1000")
    line_count = 1


class SalesMonthDetailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesMonthDetail

    partner = factory.SubFactory(PartnerFactory)
    month = date(2026, 1, 1)
    category = "Networking"
    country = "NL"
    revenue = Decimal("1000")
    line_count = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """A hand-made detail rollup keeps the partner's first-seen markets current, as an import's refresh would."""
        detail = super()._create(model_class, *args, **kwargs)
        rollups.refresh_market_firsts({detail.partner_id})
        return detail


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    partner = factory.SubFactory(PartnerFactory)
    subject = factory.Sequence(lambda n: f"Case {n}")
    kind = CaseKind.SUPPORT
    opened_at = factory.LazyFunction(lambda: at(date(2026, 5, 1)))


def build_world(partner):
    """The hand-computed partner of docs/kpis.md's worked example (see tests/kpis/test_scoring.py)."""
    for month, revenue in [(date(2024, 7, 1), 100000), (date(2025, 7, 1), 60000), (date(2025, 8, 1), 40000), (date(2026, 1, 1), 50000)]:
        SalesMonthFactory(partner=partner, month=month, revenue=Decimal(revenue))
    SalesMonthFactory(partner=partner, month=date(2026, 6, 1), revenue=Decimal("999999"))  # on_date's month: never counts
    for month, category, country in [
        (date(2024, 7, 1), "Networking", "NL"),
        (date(2025, 8, 1), "Networking", "DE"),
        (date(2026, 1, 1), "Security", "NL"),
        (date(2026, 6, 1), "Storage", "FR"),
    ]:
        SalesMonthDetailFactory(partner=partner, month=month, category=category, country=country)
    old, new, later = CustomerFactory(), CustomerFactory(), CustomerFactory()
    SaleFactory(partner=partner, customer=old, invoice_date=date(2024, 7, 10))
    SaleFactory(partner=partner, customer=old, invoice_date=date(2025, 7, 10))
    SaleFactory(partner=partner, customer=new, invoice_date=date(2025, 9, 1))
    SaleFactory(partner=partner, customer=later, invoice_date=date(2026, 6, 10))
    # The monthly rollups above are hand-made; only the first-sale table is built from these sales, as an import would.
    rollups.refresh_first_sales({(partner.pk, day) for day in (date(2024, 7, 1), date(2025, 7, 1), date(2025, 9, 1), date(2026, 6, 1))})
    for kind, day in [
        (InteractionKind.TRAINING_COMPLETED, date(2026, 4, 1)),
        (InteractionKind.EVENT_ATTENDED, date(2026, 5, 2)),
        (InteractionKind.QUARTERLY_REVIEW, date(2026, 6, 1)),
        (InteractionKind.RESOURCE_DOWNLOADED, date(2026, 6, 2)),
        (InteractionKind.RESOURCE_DOWNLOADED, date(2026, 6, 3)),
        (InteractionKind.PORTAL_LOGIN, date(2026, 6, 4)),
        (InteractionKind.PORTAL_LOGIN, date(2026, 6, 4)),
        (InteractionKind.PORTAL_LOGIN, date(2026, 6, 5)),
        (InteractionKind.TRAINING_COMPLETED, date(2026, 3, 17)),  # one day before the 90-day window
        (InteractionKind.TRAINING_COMPLETED, date(2026, 6, 16)),  # after the scored day
        (InteractionKind.CALL, date(2026, 6, 1)),  # not an engagement kind
    ]:
        InteractionFactory(partner=partner, kind=kind, occurred_at=at(day))
    CertificationFactory(contact=ContactFactory(partner=partner), partner=partner, earned_on=date(2026, 5, 1))
    CaseFactory(partner=partner, kind=CaseKind.SUPPORT, opened_at=at(date(2026, 5, 1)))
    CaseFactory(partner=partner, kind=CaseKind.CONFLICT, opened_at=at(date(2026, 2, 1)), closed_at=at(date(2026, 4, 1)))
    CaseFactory(partner=partner, kind=CaseKind.CONFLICT, opened_at=at(date(2025, 12, 1)), closed_at=at(date(2026, 1, 1)))
    return partner
