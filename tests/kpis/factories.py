"""Helpers for kpis tests: the scored day, `at`, and build_world, which builds one partner's world from the apps' factories."""

from datetime import date
from decimal import Decimal

from cases.models import CaseKind
from partners.models import InteractionKind
from sales.imports import rollups
from tests.cases.factories import CaseFactory, at  # `at` is also the kpis tests' helper, imported from here
from tests.enablement.factories import CertificationFactory
from tests.partners.factories import ContactFactory, InteractionFactory
from tests.sales.factories import CustomerFactory, SaleFactory, SalesMonthDetailFactory, SalesMonthFactory

ON = date(2026, 6, 15)  # the scored day of most tests: trailing window 2025-06..2026-05


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
