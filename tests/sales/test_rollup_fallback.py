"""`rollups.rebuild_all`: the set-based PostgreSQL statements and the portable ORM refresh (what SQLite
runs under `make run`) rebuild the same rollups from the same sales.

Both run here on PostgreSQL (`use_fast_path=False` forces the portable one) and every row of the four
tables they keep is compared: SalesMonth, SalesMonthDetail, CustomerFirstSale and MarketFirstSale.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from sales.imports import rollups
from sales.models import CustomerFirstSale, MarketDimension, MarketFirstSale, SalesMonth, SalesMonthDetail
from tests.partners.factories import PartnerFactory
from tests.sales.factories import CustomerFactory, ProductFactory, SaleFactory

from .test_imports import assert_rollups_match_sales

pytestmark = pytest.mark.django_db

TABLES = {
    SalesMonth: ("partner_id", "month", "revenue", "paid_revenue", "credit_amount", "quantity", "line_count", "customer_count"),
    SalesMonthDetail: ("partner_id", "month", "category", "country", "revenue", "paid_revenue", "quantity", "line_count"),
    CustomerFirstSale: ("partner_id", "customer_id", "first_invoice_date"),
    MarketFirstSale: ("partner_id", "dimension", "value", "first_month"),
}


def _contents():
    """Every row of the four tables (without the ids, which each rebuild draws anew), in a fixed order."""
    return {model.__name__: sorted(model.objects.values_list(*fields)) for model, fields in TABLES.items()}


def _rebuild_both():
    rollups.rebuild_all()  # the database's choice: the fast path on PostgreSQL
    fast = _contents()
    assert_rollups_match_sales()
    rollups.rebuild_all(use_fast_path=False)
    orm = _contents()
    assert_rollups_match_sales()
    return fast, orm


def test_the_tests_run_on_postgresql():
    assert connection.vendor == "postgresql"


def test_both_rebuilds_agree_on_hand_made_edge_cases():
    """Sell-in lines (no customer, the partner's country), customers without a country, products without
    a category, credit notes, zero amounts, paid and unpaid lines, leap days, month ends and customers
    shared by partners, or first bought with a credit note."""
    nl, de = PartnerFactory(country="NL"), PartnerFactory(country="DE")
    quiet = PartnerFactory(country="FR")  # no sales: no rollups at all
    fr, nowhere = CustomerFactory(country="FR"), CustomerFactory(country="")
    networking, uncategorised = ProductFactory(category="Networking"), ProductFactory(category="")
    lines = [
        (nl, fr, networking, date(2024, 1, 31), "1200.5000", "2", date(2024, 2, 10)),
        (nl, fr, networking, date(2024, 1, 1), "-200.1234", "-1", None),
        (nl, nowhere, uncategorised, date(2024, 2, 29), "99.9999", "0", None),
        (nl, None, None, date(2024, 4, 1), "10", "1", date(2024, 5, 1)),  # sell-in: the partner's country
        (nl, nowhere, networking, date(2024, 3, 15), "0", "1", None),  # zero: no first sale, no market
        (de, fr, uncategorised, date(2023, 12, 31), "-50", "0", None),  # a credit first: the first sale comes later
        (de, fr, networking, date(2024, 1, 5), "300", "3", date(2024, 1, 5)),
        (de, None, networking, date(2025, 6, 30), "0.0001", "1", None),
        (de, nowhere, None, date(2025, 6, 1), "-0.0001", "0", None),  # a detail row of negative revenue: no market
    ]
    for partner, customer, product, day, amount, quantity, paid in lines:
        SaleFactory(
            partner=partner,
            customer=customer,
            product=product,
            invoice_date=day,
            amount=Decimal(amount),
            quantity=Decimal(quantity),
            paid_date=paid,
        )
    fast, orm = _rebuild_both()
    assert fast == orm
    assert all(fast.values())
    assert not any(row[0] == quiet.pk for rows in fast.values() for row in rows)
    assert (nl.pk, date(2024, 4, 1), "", "NL", Decimal("10.0000"), Decimal("10.0000"), Decimal("1.0000"), 1) in fast["SalesMonthDetail"]
    assert (de.pk, fr.pk, date(2024, 1, 5)) in fast["CustomerFirstSale"]
    assert {row[1] for row in fast["MarketFirstSale"]} == set(MarketDimension.values)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_rebuilds_agree_on_random_sales(seed):
    rng = random.Random(seed)
    partners = [PartnerFactory(country=rng.choice(["NL", "DE", "FR", "BE"])) for _ in range(5)]
    customers = [CustomerFactory(country=rng.choice(["NL", "DE", "US", ""])) for _ in range(6)]
    products = [ProductFactory(category=rng.choice(["Networking", "Security", "Storage", ""])) for _ in range(4)]
    for _ in range(80):
        amount = Decimal(rng.randint(-50000, 300000)) / 100 if rng.random() < 0.9 else Decimal(0)
        day = date(2023, 1, 1) + timedelta(days=rng.randint(0, 3 * 365))
        SaleFactory(
            partner=rng.choice(partners),
            customer=rng.choice([*customers, None]),
            product=rng.choice([*products, None]),
            invoice_date=day,
            amount=amount,
            quantity=Decimal(rng.randint(0, 5)) if amount >= 0 else Decimal(-rng.randint(0, 5)),
            paid_date=day + timedelta(days=rng.randint(0, 60)) if rng.random() < 0.6 else None,
        )
    fast, orm = _rebuild_both()
    assert fast == orm
    assert all(fast.values())


def test_both_rebuilds_leave_nothing_without_sales():
    SalesMonth.objects.create(partner=PartnerFactory(), month=date(2024, 1, 1), revenue=Decimal(1))  # a stale rollup
    fast, orm = _rebuild_both()
    assert fast == orm == {model.__name__: [] for model in TABLES}
