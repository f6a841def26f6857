"""The overview's shortcuts against the direct computation, on random small channels.

New countries and categories read `MarketFirstSale` and the overview sums the channel without
grouping by partner; every figure must still equal the definition computed straight from the
rollups (the grouping of every detail row the definition used before).
"""

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Min

from core.dates import month_start_after
from incentives.models import EarningLine, ProgramPeriod, RewardType
from kpis import definitions as kpi
from kpis import selectors, services
from sales.imports import rollups
from sales.models import SalesMonth, SalesMonthDetail
from tests.incentives.factories import ProgramFactory
from tests.partners.factories import PartnerFactory, TerritoryFactory, TierFactory
from tests.sales.factories import CustomerFactory, SaleFactory, SalesMonthDetailFactory, SalesMonthFactory

pytestmark = pytest.mark.django_db

MONTHS = [month_start_after(date(2024, 1, 1), index) for index in range(30)]
CATEGORIES = ["Networking", "Security", "Storage", ""]
COUNTRIES = ["NL", "DE", "FR", "BE"]


def _channel(seed):
    rng = random.Random(seed)
    territories, tiers = [TerritoryFactory(), TerritoryFactory()], [TierFactory(rank=1), TierFactory(rank=2)]
    customers = [CustomerFactory() for _ in range(4)]
    program = ProgramFactory()
    periods = [
        ProgramPeriod.objects.create(program=program, starts_on=start, ends_on=month_start_after(start, 3) - timedelta(days=1))
        for start in MONTHS[::3]
    ]
    partners = []
    for _ in range(6):
        partner = PartnerFactory(joined_on=date(2023, 6, 1), territory=rng.choice(territories), tier=rng.choice(tiers))
        partners.append(partner)
        for month in rng.sample(MONTHS, 8):
            SalesMonthFactory(partner=partner, month=month, revenue=Decimal(rng.randint(-300, 2000)))
        seen = set()
        for _ in range(10):
            key = (rng.choice(MONTHS), rng.choice(CATEGORIES), rng.choice(COUNTRIES))
            if key not in seen:
                seen.add(key)
                SalesMonthDetailFactory(
                    partner=partner, month=key[0], category=key[1], country=key[2], revenue=Decimal(rng.randint(-200, 900))
                )
        sold = set()
        for _ in range(5):
            day = rng.choice(MONTHS).replace(day=rng.randint(1, 28))
            SaleFactory(partner=partner, customer=rng.choice(customers), invoice_date=day, amount=Decimal(rng.choice([-50, 80, 300])))
            sold.add((partner.pk, day.replace(day=1)))
        rollups.refresh_first_sales(sold)
        for period in rng.sample(periods, 3):
            reward = rng.choice([RewardType.CASH, RewardType.MDF])
            EarningLine.objects.create(
                partner=partner, program=program, period=period, reward_type=reward, amount=Decimal(rng.randint(50, 400))
            )
    return partners, territories


def _direct_markets(period, partner_ids):
    """New countries / categories as first defined: group every detail row (revenue > 0) of the history."""
    result = defaultdict(lambda: {"new_countries": 0, "new_categories": 0})
    for field, key in (("country", "new_countries"), ("category", "new_categories")):
        rows = (
            SalesMonthDetail.objects.filter(partner_id__in=partner_ids, month__lt=period.end, revenue__gt=0)
            .exclude(**{field: ""})
            .values("partner_id", field)
            .annotate(first=Min("month"))
        )
        for row in rows:
            if row["first"] >= period.start:
                result[row["partner_id"]][key] += 1
    return result


def _direct_revenue(period, partner_ids):
    return sum(
        (row.revenue for row in SalesMonth.objects.filter(partner_id__in=partner_ids) if period.start <= row.month < period.end), Decimal(0)
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_market_expansion_equals_grouping_the_detail_rollups(seed):
    partners, _territories = _channel(seed)
    ids = [partner.pk for partner in partners]
    for start, end in [
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 6, 30)),
        (date(2024, 7, 1), date(2026, 6, 30)),
    ]:
        period = kpi.Period.from_dates(start, end)
        expansion = kpi.market_expansion(period=period)
        direct = _direct_markets(period, ids)
        for pid in ids:
            figures = expansion.get(pid, {"new_countries": 0, "new_categories": 0})
            assert (figures["new_countries"], figures["new_categories"]) == (direct[pid]["new_countries"], direct[pid]["new_categories"])
        totals = kpi.market_expansion_totals(period=period)
        for key in ("new_customers", "new_countries", "new_categories"):
            assert totals[key] == sum(row[key] for row in expansion.values())


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_channel_overview_equals_the_direct_computation(seed):
    partners, territories = _channel(seed)
    services.channel_cube_refresh()
    seen = defaultdict(int)
    for territory in [None, *territories]:
        members = [p for p in partners if territory is None or p.territory_id == territory.pk]
        ids = [p.pk for p in members]
        filters = None if territory is None else {"territory": territory.pk}
        overview = selectors.channel_overview(period_start=date(2025, 1, 1), period_end=date(2025, 12, 31), filters=filters)
        for period, side in ((overview["period"], "value"), (overview["previous_period"], "previous")):
            kpis = {name: figure[side] for name, figure in overview["kpis"].items()}
            revenue, last_year = _direct_revenue(period, ids), _direct_revenue(period.last_year(), ids)
            assert kpis["revenue"] == revenue
            assert kpis["growth"] == ((revenue - last_year) / last_year if last_year > 0 else None)
            markets = _direct_markets(period, ids)
            assert kpis["new_countries"] == sum(markets[pid]["new_countries"] for pid in ids)
            per_partner = kpi.market_expansion(period=period, condition=kpi.partner_q(filters=filters))
            assert kpis["new_customers"] == sum(row["new_customers"] for row in per_partner.values())
            lines = EarningLine.objects.filter(partner_id__in=ids, period__ends_on__gte=period.start, period__ends_on__lt=period.end)
            cost = sum((line.amount for line in lines), Decimal(0))
            assert kpis["incentive_cost"] == cost
            covered = EarningLine.objects.filter(partner_id__in=ids, period__starts_on__lt=period.end, period__ends_on__gte=period.start)
            taking_part = {
                (line.partner_id, month)
                for line in covered.select_related("period")
                for month in period.months
                if line.period.starts_on < month_start_after(month, 1) and line.period.ends_on >= month
            }
            revenue_taking_part = sum(
                (row.revenue for row in SalesMonth.objects.filter(partner_id__in=ids) if (row.partner_id, row.month) in taking_part),
                Decimal(0),
            )
            expected = revenue_taking_part / cost if cost else None
            assert kpis["incentive_revenue_per_cost"] == expected
            for name in ("revenue", "new_countries", "new_customers", "incentive_cost"):
                seen[name] += bool(kpis[name])
    assert all(seen[name] for name in ("revenue", "new_countries", "new_customers", "incentive_cost"))  # the data reaches every figure
