"""The channel cube (kpis.cube) against the definitions it stands in for.

The overview, trends, tier distribution and cohorts read the cube; every figure must equal the same
figure computed straight from the rollups and activity tables (`kpis.definitions`), for any period
and filters, on random small channels and on a hand-computed one. The cube is rebuilt as a whole,
by the refresh task (skipped under the lock), after sales imports and from the manager's button.
"""

import logging
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from celery.signals import task_prerun
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.dates import month_end, month_start_after
from incentives.models import EarningLine, LineKind, ProgramPeriod, RewardType
from kpis import definitions as kpi
from kpis import selectors, services, tasks
from kpis.models import Band, ChannelMonth, PartnerSet, ScoreSnapshot
from partners.models import InteractionKind, Partner, PartnerStatus, PartnerStatusChange, PartnerType
from sales.imports import rollups
from sales.models import SalesMonth
from sales.signals import rollups_changed
from surveys.models import QuestionKind
from tests.enablement.factories import CertificationFactory
from tests.incentives.factories import ProgramFactory
from tests.partners.factories import ContactFactory, InteractionFactory, ManagerFactory, PartnerFactory, TerritoryFactory, TierFactory
from tests.sales.factories import CustomerFactory, SaleFactory, SalesMonthDetailFactory, SalesMonthFactory
from tests.surveys.factories import AnswerFactory, QuestionFactory, ResponseFactory, SurveyFactory, WaveFactory

pytestmark = pytest.mark.django_db

ZERO = Decimal("0")
BUILT_ON = date(2026, 3, 18)  # the build day of the random channels: mid-month, so "now" is no month end
MONTHS = [month_start_after(date(2023, 1, 1), index) for index in range(39)]  # 2023-01 .. 2026-03
ENGAGEMENT_KINDS = [
    InteractionKind.TRAINING_COMPLETED,
    InteractionKind.EVENT_ATTENDED,
    InteractionKind.MEETING,
    InteractionKind.QUARTERLY_REVIEW,
    InteractionKind.RESOURCE_DOWNLOADED,
    InteractionKind.PORTAL_LOGIN,
    InteractionKind.CALL,  # not an engagement kind: never counts
]
PERIODS = [
    (date(2025, 2, 1), date(2025, 2, 28)),  # a month
    (date(2025, 4, 1), date(2025, 6, 30)),  # a quarter
    (date(2025, 1, 1), date(2025, 12, 31)),  # twelve months
    (date(2024, 5, 10), date(2024, 11, 20)),  # a custom span of seven months, mid-month dates
    (date(2019, 1, 1), date(2019, 3, 31)),  # before any data
    (date(2027, 1, 1), date(2027, 6, 30)),  # in the future
    (date(2026, 1, 1), date(2026, 3, 31)),  # the quarter of the build day
]


@pytest.fixture(autouse=True)
def _free_cube_keys():
    """No refresh lock or queued-refresh mark left in the shared cache by another test."""
    keys = (tasks.CUBE_LOCK_KEY, tasks.CUBE_QUEUED_KEY)
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def moment(day, hour=12, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _random_day(rng, first, last):
    return first + timedelta(days=rng.randint(0, (last - first).days))


# --- random channels -----------------------------------------------------------------------------


def _status_history(rng, partner, joined_on):
    """PartnerStatusChange rows from creation on, some at 23:30 on a month's last day or at midnight;
    the partner's status is the last one, as `partners.services.partner_update` leaves it."""
    day = joined_on - timedelta(days=rng.randint(0, 40))
    status = rng.choice([PartnerStatus.APPLICANT, PartnerStatus.ONBOARDING])
    changes = [PartnerStatusChange(partner=partner, from_status="", to_status=status, changed_at=moment(day, 10))]
    for _ in range(rng.randint(1, 4)):
        day += timedelta(days=rng.randint(20, 330))
        if rng.random() < 0.3:
            day = month_end(day)
        if day > BUILT_ON:
            break
        new = rng.choice(
            [s for s in (PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE, PartnerStatus.INACTIVE, PartnerStatus.CHURNED) if s != status]
        )
        hour, minute = rng.choice([(0, 0), (9, 15), (23, 30)])
        changes.append(PartnerStatusChange(partner=partner, from_status=status, to_status=new, changed_at=moment(day, hour, minute)))
        status = new
    PartnerStatusChange.objects.bulk_create(changes)
    Partner.objects.filter(pk=partner.pk).update(status=status)


def _programs():
    """Quarterly periods over the data's years, a calendar year, and a period of mid-month dates."""
    quarterly = ProgramFactory(starts_on=date(2023, 1, 1), ends_on=date(2026, 3, 31))
    periods = [
        ProgramPeriod.objects.create(program=quarterly, starts_on=start, ends_on=month_start_after(start, 3) - timedelta(days=1))
        for start in MONTHS[::3]
    ]
    yearly = ProgramFactory(period="yearly", starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31))
    periods.append(ProgramPeriod.objects.create(program=yearly, starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31)))
    spring = ProgramFactory(starts_on=date(2025, 3, 15), ends_on=date(2025, 5, 14))
    periods.append(ProgramPeriod.objects.create(program=spring, starts_on=date(2025, 3, 15), ends_on=date(2025, 5, 14)))
    return periods


def _surveys():
    named = SurveyFactory()
    anonymous = SurveyFactory(is_anonymous=True)
    opens, closes = moment(date(2022, 12, 1)), moment(date(2026, 12, 31))
    return {
        "wave": WaveFactory(survey=named, opens_at=opens, closes_at=closes),
        "nps": QuestionFactory(survey=named, kind=QuestionKind.NPS),
        "rating": QuestionFactory(survey=named, kind=QuestionKind.RATING),
        "anonymous_wave": WaveFactory(survey=anonymous, opens_at=opens, closes_at=closes),
        "anonymous_nps": QuestionFactory(survey=anonymous, kind=QuestionKind.NPS),
    }


def _channel(seed):
    """About eight partners over 2 territories, 2 tiers (and none), 2 types, 2 account managers (and none),
    with every kind of data the overview reads, dated 2023 to the build day."""
    rng = random.Random(seed)
    territories = [TerritoryFactory(), TerritoryFactory()]
    tiers = [TierFactory(rank=1), TierFactory(rank=2)]
    managers = [ManagerFactory(), ManagerFactory()]
    types = [PartnerType.RESELLER, PartnerType.MSP]
    customers = [CustomerFactory() for _ in range(5)]
    periods = _programs()
    survey = _surveys()
    partners = []
    for index in range(8):
        applicant = index == 0  # not in the channel yet: no joining date, history "" -> applicant
        joined_on = None if applicant else _random_day(rng, date(2023, 1, 1), date(2025, 12, 31))
        partner = PartnerFactory(
            joined_on=joined_on,
            territory=rng.choice(territories),
            tier=rng.choice([*tiers, None]),
            partner_type=rng.choice(types),
            account_manager=rng.choice([*managers, None]),
            status=PartnerStatus.APPLICANT if applicant else PartnerStatus.ACTIVE,
        )
        partners.append(partner)
        if applicant:
            PartnerStatusChange.objects.create(
                partner=partner, from_status="", to_status=PartnerStatus.APPLICANT, changed_at=moment(date(2025, 11, 3))
            )
        elif index != 1:  # partner 1 has no history at all: its current status stands for every day
            _status_history(rng, partner, joined_on)
        for month in rng.sample(MONTHS, 12):
            SalesMonthFactory(partner=partner, month=month, revenue=Decimal(rng.randint(-300, 3000)))
        details = set()
        for _ in range(6):
            details.add((rng.choice(MONTHS), rng.choice(["Networking", "Security", ""]), rng.choice(["NL", "DE", "FR"])))
        for month, category, country in details:
            SalesMonthDetailFactory(
                partner=partner, month=month, category=category, country=country, revenue=Decimal(rng.randint(-100, 900))
            )
        sold = set()
        for _ in range(5):
            day = _random_day(rng, date(2023, 1, 1), BUILT_ON)
            SaleFactory(partner=partner, customer=rng.choice(customers), invoice_date=day, amount=Decimal(rng.choice([-50, 80, 300])))
            sold.add((partner.pk, day.replace(day=1)))
        rollups.refresh_first_sales(sold)
        for _ in range(8):
            day = _random_day(rng, date(2023, 1, 1), BUILT_ON)
            InteractionFactory(partner=partner, kind=rng.choice(ENGAGEMENT_KINDS), occurred_at=moment(day, rng.choice([0, 8, 12, 23])))
        for _ in range(2):  # several logins on one day count once
            day = _random_day(rng, date(2024, 1, 1), BUILT_ON)
            for hour in rng.sample([7, 9, 13, 17, 22], rng.randint(2, 3)):
                InteractionFactory(partner=partner, kind=InteractionKind.PORTAL_LOGIN, occurred_at=moment(day, hour))
        last_day = month_end(rng.choice(MONTHS[:-1]))  # a login late on a month's last day and one just after midnight
        InteractionFactory(partner=partner, kind=InteractionKind.PORTAL_LOGIN, occurred_at=moment(last_day, 23, 30))
        InteractionFactory(partner=partner, kind=InteractionKind.PORTAL_LOGIN, occurred_at=moment(last_day + timedelta(days=1), 0, 30))
        for _ in range(rng.randint(0, 2)):
            CertificationFactory(
                contact=ContactFactory(partner=partner), partner=partner, earned_on=_random_day(rng, date(2023, 1, 1), BUILT_ON)
            )
        for _ in range(rng.randint(1, 4)):
            response = ResponseFactory(
                wave=survey["wave"],
                partner=partner,
                submitted_at=moment(_random_day(rng, date(2023, 1, 1), BUILT_ON), rng.choice([0, 12, 23])),
            )
            AnswerFactory(response=response, question=survey["nps"], number=rng.randint(0, 10))
            AnswerFactory(response=response, question=survey["rating"], number=rng.randint(1, 5))
        hidden = ResponseFactory(wave=survey["anonymous_wave"], partner=partner, submitted_at=moment(rng.choice(MONTHS)))
        AnswerFactory(response=hidden, question=survey["anonymous_nps"], number=0)  # anonymous: never in the partner NPS
        for period in rng.sample(periods, 4):
            reward = rng.choice([RewardType.CASH, RewardType.MDF, RewardType.POINTS])
            EarningLine.objects.create(
                partner=partner,
                program=period.program,
                period=period,
                reward_type=reward,
                kind=rng.choice([LineKind.NORMAL, LineKind.NORMAL, LineKind.ADJUSTMENT]),
                amount=Decimal(rng.randint(-40, 400)) if reward != RewardType.POINTS else ZERO,
                points=rng.randint(10, 500) if reward == RewardType.POINTS else 0,
            )
    _scores(rng, partners)
    return {"partners": partners, "territories": territories, "tiers": tiers, "managers": managers}


def _scores(rng, partners):
    """Snapshots of three days; the channel figures of one are stored (`ChannelDay`), the others computed."""
    model = services.score_model_current()
    for day in (date(2025, 6, 30), date(2025, 12, 15), date(2026, 2, 28)):
        for partner in rng.sample(partners, 6):  # sums of six scores / 6: averages of more than two places
            score = Decimal(rng.randint(1000, 9900)) / 100
            ScoreSnapshot.objects.create(partner=partner, date=day, score_model=model, score=score, band=model.band_for(score))
    services.channel_day_refresh(on_date=date(2025, 6, 30))


def _filter_sets(channel):
    (north, south), (bronze, silver), (first, _second) = channel["territories"], channel["tiers"], channel["managers"]
    return [
        None,
        {"territory": north.pk},
        {"tier": silver.pk},
        {"partner_type": PartnerType.MSP},
        {"account_manager": first.pk},
        {"territory": south.pk, "tier": bronze.pk},
        {"territory": [north.pk, south.pk]},
    ]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_overview_from_the_cube_equals_the_direct_computation(seed):
    channel = _channel(seed)
    state = services.channel_cube_refresh(today=BUILT_ON)
    mismatches, reached = [], defaultdict(int)
    for start, end in PERIODS:
        for filters in _filter_sets(channel):
            cube = selectors.channel_overview(period_start=start, period_end=end, filters=filters)
            direct = selectors.channel_overview_direct(period_start=start, period_end=end, filters=filters)
            assert cube.pop("built_at") == state.built_at
            assert (cube["period"], cube["previous_period"]) == (direct["period"], direct["previous_period"])
            assert set(cube["kpis"]) == set(direct["kpis"])
            for name, figure in direct["kpis"].items():
                if cube["kpis"][name] != figure:
                    mismatches.append((start, end, filters, name, figure, cube["kpis"][name]))
                reached[name] += figure["value"] not in (None, 0)
    assert mismatches == []
    assert all(reached[name] for name in direct["kpis"]), reached  # the data reaches every figure


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_trends_and_tiers_from_the_cube_equal_the_definitions(seed):
    channel = _channel(seed)
    services.channel_cube_refresh(today=BUILT_ON)
    for filters in _filter_sets(channel):
        condition = kpi.partner_q(filters=filters)
        for start, end in [
            (date(2022, 11, 1), date(2026, 4, 30)),
            (date(2025, 1, 1), date(2025, 12, 31)),
            (date(2027, 1, 1), date(2027, 2, 28)),
        ]:
            period = kpi.Period.from_dates(start, end)
            for by in ("partner_type", "tier", "territory"):
                trend = selectors.revenue_trend(period_start=start, period_end=end, by=by, filters=filters)
                totals = kpi.revenue_by_month(period=period, by=by, condition=condition)
                keys = {key for (key, _month), total in totals.items() if total}
                expected = {key: [totals.get((key, month), ZERO) for month in period.months] for key in keys}
                assert trend["months"] == period.months
                assert {series["key"]: series["values"] for series in trend["series"]} == expected, (filters, start, by)
            months = kpi.nps_by_month(period=period, condition=condition)
            expected_nps = [
                {
                    "month": month,
                    "nps": months[month].score if month in months else None,
                    "count": months[month].count if month in months else 0,
                    "promoters": months[month].promoters if month in months else 0,
                    "detractors": months[month].detractors if month in months else 0,
                }
                for month in period.months
            ]
            assert selectors.nps_trend(period_start=start, period_end=end, filters=filters) == expected_nps, (filters, start)
        in_channel = Partner.objects.filter(kpi.partner_filter_q(filters), status__in=kpi.IN_CHANNEL)
        counts = defaultdict(int)
        for tier_id in in_channel.values_list("tier_id", flat=True):
            counts[tier_id] += 1
        ranks = {tier.pk: tier.rank for tier in channel["tiers"]}
        expected_tiers = sorted(counts.items(), key=lambda item: (item[0] is not None, ranks.get(item[0], 0)))
        rows = selectors.tier_distribution(filters=filters)
        assert [(row["tier_id"], row["count"]) for row in rows] == expected_tiers, filters
        names = {tier.pk: tier.name for tier in channel["tiers"]}
        assert [row["label"] for row in rows] == [names.get(tier_id, "—") for tier_id, _count in expected_tiers]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_retention_cohorts_from_the_cube_equal_the_definition(seed):
    channel = _channel(seed)
    services.channel_cube_refresh(today=BUILT_ON)
    curves = 0
    for as_of in (date(2024, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 2, 28), BUILT_ON):
        for filters in _filter_sets(channel):
            expected = kpi.cohort_retention(as_of=as_of, condition=kpi.partner_q(filters=filters))
            assert selectors.retention_cohorts(as_of=as_of, filters=filters) == expected, (as_of, filters)
            curves += len(expected)
    assert curves


# --- a hand-computed channel ---------------------------------------------------------------------


@pytest.fixture
def two_partners():
    """North's partner A joined 2024-01-15, active until it went inactive on 2025-05-20; South's B joined
    2024-03-01 and is active. Sales: A 1,000 (2024-04), 200 (2025-01), 1,500 (2025-04), 500 (2025-05);
    B 100 (2024-06), 300 (2025-04), 700 (2025-06)."""
    north, south = TerritoryFactory(name="North"), TerritoryFactory(name="South")
    a = PartnerFactory(territory=north, joined_on=date(2024, 1, 15), status=PartnerStatus.INACTIVE)
    b = PartnerFactory(territory=south, joined_on=date(2024, 3, 1), status=PartnerStatus.ACTIVE)
    PartnerStatusChange.objects.create(partner=a, from_status="", to_status=PartnerStatus.ACTIVE, changed_at=moment(date(2024, 1, 15), 10))
    PartnerStatusChange.objects.create(
        partner=a, from_status=PartnerStatus.ACTIVE, to_status=PartnerStatus.INACTIVE, changed_at=moment(date(2025, 5, 20), 10)
    )
    PartnerStatusChange.objects.create(partner=b, from_status="", to_status=PartnerStatus.ACTIVE, changed_at=moment(date(2024, 3, 1), 10))
    for partner, month, revenue in [
        (a, date(2024, 4, 1), 1000),
        (a, date(2025, 1, 1), 200),
        (a, date(2025, 4, 1), 1500),
        (a, date(2025, 5, 1), 500),
        (b, date(2024, 6, 1), 100),
        (b, date(2025, 4, 1), 300),
        (b, date(2025, 6, 1), 700),
    ]:
        SalesMonthFactory(partner=partner, month=month, revenue=Decimal(revenue))
    # Engagement: A a training (3), logins on two days, twice on the first (2); B a certification (5) and
    # a meeting (2); A's event of February (3) is in the previous quarter.
    for partner, kind, when in [
        (a, InteractionKind.TRAINING_COMPLETED, moment(date(2025, 5, 10))),
        (a, InteractionKind.PORTAL_LOGIN, moment(date(2025, 5, 11), 9)),
        (a, InteractionKind.PORTAL_LOGIN, moment(date(2025, 5, 11), 17)),
        (a, InteractionKind.PORTAL_LOGIN, moment(date(2025, 5, 12), 9)),
        (a, InteractionKind.CALL, moment(date(2025, 5, 13))),
        (b, InteractionKind.MEETING, moment(date(2025, 4, 2))),
        (a, InteractionKind.EVENT_ATTENDED, moment(date(2025, 2, 14))),
    ]:
        InteractionFactory(partner=partner, kind=kind, occurred_at=when)
    CertificationFactory(contact=ContactFactory(partner=b), partner=b, earned_on=date(2025, 6, 1))
    # NPS: Q2 A 10, B 9 and 6 (2 promoters, 1 detractor of 3); Q1 A 8 (a passive); an anonymous 0 never counts.
    survey = _surveys()
    for partner, day, score in [(a, date(2025, 5, 5), 10), (b, date(2025, 4, 20), 9), (b, date(2025, 6, 6), 6), (a, date(2025, 2, 3), 8)]:
        AnswerFactory(
            response=ResponseFactory(wave=survey["wave"], partner=partner, submitted_at=moment(day)), question=survey["nps"], number=score
        )
    AnswerFactory(
        response=ResponseFactory(wave=survey["anonymous_wave"], partner=a, submitted_at=moment(date(2025, 5, 6))),
        question=survey["anonymous_nps"],
        number=0,
    )
    # New customers: A's and B's first sales to one customer in Q2 (A's second sale to it is not new).
    customer = CustomerFactory()
    for partner, day in [(a, date(2025, 4, 10)), (b, date(2025, 5, 10)), (a, date(2025, 6, 1))]:
        SaleFactory(partner=partner, customer=customer, invoice_date=day, amount=Decimal("100"))
    rollups.refresh_first_sales({(a.pk, date(2025, 4, 1)), (b.pk, date(2025, 5, 1)), (a.pk, date(2025, 6, 1))})
    SalesMonthDetailFactory(partner=a, month=date(2025, 5, 1), country="DE", category="Networking")  # a new country
    # Incentives: A earns 400 cash for Q2 2025; its Q2 revenue (2,000) is the participants' revenue.
    program = ProgramFactory(starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    period = ProgramPeriod.objects.create(program=program, starts_on=date(2025, 4, 1), ends_on=date(2025, 6, 30))
    EarningLine.objects.create(partner=a, program=program, period=period, reward_type=RewardType.CASH, amount=Decimal("400"))
    return {"a": a, "b": b, "north": north, "south": south}


def _figures(overview):
    return {name: (figure["value"], figure["previous"], figure["change"]) for name, figure in overview["kpis"].items()}


def test_the_overview_of_a_hand_computed_channel(two_partners):
    services.channel_cube_refresh(today=date(2025, 7, 15))
    q2 = {"period_start": date(2025, 4, 1), "period_end": date(2025, 6, 30)}
    channel = {
        "revenue": (Decimal("3000"), Decimal("200"), Decimal("2800")),
        "growth": (Decimal("1900") / Decimal("1100"), None, None),  # on 1,100 in Q2 2024; Q1 2024 had no sales
        "partners": (2, 2, 0),  # A inactive is still in the channel
        "average_score": (None, None, None),
        "at_risk": (0, 0, 0),
        "nps": (Decimal("100") / Decimal("3"), Decimal("0"), Decimal("100") / Decimal("3")),
        "new_customers": (2, 0, 2),
        "new_countries": (1, 0, 1),
        "engagement_points": (12, 3, 9),  # 3 + 2 logins + 5 + 2; the event of February
        "incentive_cost": (Decimal("400"), Decimal("0"), Decimal("400")),
        "incentive_revenue_per_cost": (Decimal("5"), None, None),
        "retention": (Decimal("0.5"), Decimal("1"), Decimal("-0.5")),  # A active on 03-31, inactive on 06-30
    }
    north = {
        "revenue": (Decimal("2000"), Decimal("200"), Decimal("1800")),
        "growth": (Decimal("1"), None, None),
        "partners": (1, 1, 0),
        "average_score": (None, None, None),
        "at_risk": (0, 0, 0),
        "nps": (Decimal("100"), Decimal("0"), Decimal("100")),
        "new_customers": (1, 0, 1),
        "new_countries": (1, 0, 1),
        "engagement_points": (5, 3, 2),
        "incentive_cost": (Decimal("400"), Decimal("0"), Decimal("400")),
        "incentive_revenue_per_cost": (Decimal("5"), None, None),
        "retention": (Decimal("0"), Decimal("1"), Decimal("-1")),
    }
    only_north = {"territory": two_partners["north"].pk}
    assert _figures(selectors.channel_overview(**q2)) == channel
    assert _figures(selectors.channel_overview(**q2, filters=only_north)) == north
    assert _figures(selectors.channel_overview_direct(**q2)) == channel  # the definitions agree with the hand
    assert _figures(selectors.channel_overview_direct(**q2, filters=only_north)) == north
    trend = selectors.revenue_trend(**q2, by="territory")
    assert {series["label"]: series["values"] for series in trend["series"]} == {
        "North": [Decimal("1500"), Decimal("500"), 0],
        "South": [Decimal("300"), 0, Decimal("700")],
    }
    assert [row["nps"] for row in selectors.nps_trend(**q2)] == [Decimal("100"), Decimal("100"), Decimal("-100")]
    assert selectors.tier_distribution() == [{"tier_id": None, "label": "—", "count": 2}]
    cohorts = selectors.retention_cohorts(as_of=date(2025, 6, 30))
    # Both joined in 2024-Q1 and were retained (onboarding or active) at every quarter end until A went inactive.
    assert [(row["label"], row["size"], row["curve"]) for row in cohorts] == [
        ("2024-Q1", 2, [Decimal("1"), Decimal("1"), Decimal("1"), Decimal("1"), Decimal("1"), Decimal("0.5")])
    ]


# --- the cube is replaced as a whole -------------------------------------------------------------


def _cells():
    return sorted(ChannelMonth.objects.values_list("month", "territory_id", "revenue"))


def test_a_refresh_replaces_every_cell_and_set():
    north, south = TerritoryFactory(), TerritoryFactory()
    a = PartnerFactory(territory=north, joined_on=date(2024, 1, 1))
    b = PartnerFactory(territory=south, joined_on=date(2024, 1, 1))
    for partner, month, revenue in [
        (a, date(2025, 1, 1), 100),
        (a, date(2025, 2, 1), 200),
        (b, date(2025, 1, 1), 50),
        (b, date(2025, 3, 1), 70),
    ]:
        SalesMonthFactory(partner=partner, month=month, revenue=Decimal(revenue))
    first = services.channel_cube_refresh(today=date(2025, 4, 10))
    q1 = {"period_start": date(2025, 1, 1), "period_end": date(2025, 3, 31)}
    assert _cells() == [
        (date(2025, 1, 1), north.pk, Decimal("100")),
        (date(2025, 1, 1), south.pk, Decimal("50")),
        (date(2025, 2, 1), north.pk, Decimal("200")),
        (date(2025, 3, 1), south.pk, Decimal("70")),
    ]
    assert selectors.channel_overview(**q1, filters={"territory": south.pk})["kpis"]["revenue"]["value"] == Decimal("120")

    SalesMonth.objects.filter(partner=a, month=date(2025, 2, 1)).delete()
    Partner.objects.filter(pk=b.pk).update(territory=north)
    second = services.channel_cube_refresh(today=date(2025, 4, 10))

    assert second.built_at > first.built_at
    assert _cells() == [(date(2025, 1, 1), north.pk, Decimal("150")), (date(2025, 3, 1), north.pk, Decimal("70"))]
    assert ChannelMonth.objects.count() == second.cells == 2
    assert not PartnerSet.objects.filter(name=f"territory:{south.pk}").exists()
    north_figures = selectors.channel_overview(**q1, filters={"territory": north.pk})["kpis"]
    south_figures = selectors.channel_overview(**q1, filters={"territory": south.pk})["kpis"]
    assert (north_figures["revenue"]["value"], north_figures["partners"]["value"]) == (Decimal("220"), 2)
    assert (south_figures["revenue"]["value"], south_figures["partners"]["value"]) == (Decimal("0"), 0)
    assert selectors.tier_distribution(filters={"territory": south.pk}) == []


# --- refreshes: after imports, under the lock ----------------------------------------------------


class CubeRefreshRuns:
    """Counts the runs of the refresh task (eager runs send task_prerun too)."""

    def __init__(self):
        self.count = 0

    def __call__(self, sender=None, **kwargs):
        if sender.name == tasks.refresh_channel_cube.name:
            self.count += 1


@pytest.fixture
def refresh_runs():
    runs = CubeRefreshRuns()
    task_prerun.connect(runs, weak=False)
    yield runs
    task_prerun.disconnect(runs)


def test_an_import_refreshes_the_cube_after_it_has_committed(django_capture_on_commit_callbacks, refresh_runs):
    """Two batches of one import (two signals in one transaction) register one commit callback and
    give one refresh; that a queued refresh absorbs later imports is the next test."""
    partner = PartnerFactory(joined_on=date(2024, 1, 1))
    before = services.channel_cube_refresh()
    SalesMonthFactory(partner=partner, month=date(2025, 5, 1), revenue=Decimal("640"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rollups_changed.send(sender=SalesMonth)
        rollups_changed.send(sender=SalesMonth)
        assert refresh_runs.count == 0  # nothing before the commit
    assert len(callbacks) == 1
    assert refresh_runs.count == 1
    state = selectors.channel_cube_state()
    assert state.built_at > before.built_at
    may = selectors.channel_overview(period_start=date(2025, 5, 1), period_end=date(2025, 5, 31))
    assert may["kpis"]["revenue"]["value"] == Decimal("640")
    assert cache.get(tasks.CUBE_QUEUED_KEY) is None  # the refresh took the mark: the next import enqueues again


def test_an_import_while_a_refresh_is_queued_enqueues_no_other(django_capture_on_commit_callbacks, refresh_runs):
    before = services.channel_cube_refresh()
    cache.set(tasks.CUBE_QUEUED_KEY, "1", timeout=60)  # a refresh is queued and has not started
    with django_capture_on_commit_callbacks(execute=True):
        rollups_changed.send(sender=SalesMonth)
        rollups_changed.send(sender=SalesMonth)
    assert refresh_runs.count == 0
    assert selectors.channel_cube_state().built_at == before.built_at


def test_the_refresh_task_skips_while_another_refresh_holds_the_lock(caplog):
    PartnerFactory(joined_on=date(2024, 1, 1))
    cache.set(tasks.CUBE_LOCK_KEY, "held", timeout=60)
    with caplog.at_level(logging.INFO, logger="kpis.tasks"):
        assert tasks.refresh_channel_cube.delay().get() == "skipped"
    assert selectors.channel_cube_state() is None
    assert cache.get(tasks.CUBE_LOCK_KEY) == "held"  # the holder's lock is left alone
    assert "Channel cube refresh skipped: another refresh is running." in caplog.messages

    cache.delete(tasks.CUBE_LOCK_KEY)
    SalesMonthFactory(month=date(2025, 5, 1))
    assert tasks.refresh_channel_cube.delay().get() == 1  # one cell: the May sales of one partner
    assert selectors.channel_cube_state().cells == 1
    assert cache.get(tasks.CUBE_LOCK_KEY) is None


# --- the manager's refresh button ----------------------------------------------------------------


def test_a_manager_refreshes_the_figures_from_the_overview(manager_client, django_capture_on_commit_callbacks):
    partner = PartnerFactory(joined_on=date(2024, 1, 1))
    page = manager_client.get(reverse("kpis:overview"))  # the first visit builds the cube
    assert "Channel figures as of" in page.content.decode()
    assert reverse("kpis:cube_refresh") in page.content.decode()
    before = selectors.channel_cube_state()
    SalesMonthFactory(partner=partner, month=date(2025, 5, 1), revenue=Decimal("640"))

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("kpis:cube_refresh"))

    assert response.status_code == 302
    assert response["Location"] == reverse("kpis:overview")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "The channel figures are being refreshed; reload the page in a minute to see them."
    ]
    assert selectors.channel_cube_state().built_at > before.built_at
    may = selectors.channel_overview(period_start=date(2025, 5, 1), period_end=date(2025, 5, 31))
    assert may["kpis"]["revenue"]["value"] == Decimal("640")


def test_the_refresh_button_goes_back_to_the_page_it_was_pressed_on_never_off_site(manager_client):
    back = reverse("kpis:overview") + "?period=custom&start=2025-01-01&end=2025-03-31"
    assert manager_client.post(reverse("kpis:cube_refresh"), {"next": back})["Location"] == back
    assert manager_client.post(reverse("kpis:cube_refresh"), {"next": "https://evil.test/"})["Location"] == reverse("kpis:overview")


def test_refreshing_is_a_post(manager_client):
    assert manager_client.get(reverse("kpis:cube_refresh")).status_code == 405
    assert selectors.channel_cube_state() is None


# --- the cost of reading the cube ----------------------------------------------------------------


def _small_channel(count, territory, tier, manager):
    model = services.score_model_current()
    for index in range(count):
        partner = PartnerFactory(
            joined_on=date(2024, 1, 1) + timedelta(days=40 * index), territory=territory, tier=tier, account_manager=manager
        )
        PartnerStatusChange.objects.create(
            partner=partner, from_status="", to_status=PartnerStatus.ACTIVE, changed_at=moment(partner.joined_on)
        )
        SalesMonthFactory(partner=partner, month=date(2025, 2, 1), revenue=Decimal(100 * (index + 1)))
        SalesMonthFactory(partner=partner, month=date(2024, 2, 1), revenue=Decimal(50))
        InteractionFactory(partner=partner, kind=InteractionKind.EVENT_ATTENDED, occurred_at=moment(date(2025, 2, 3)))
        ScoreSnapshot.objects.create(
            partner=partner, date=date(2025, 3, 31), score_model=model, score=Decimal(40 + index), band=Band.AT_RISK
        )


def _read_overviews(filters):
    selectors.channel_overview(period_start=date(2025, 1, 1), period_end=date(2025, 3, 31), filters=filters)
    selectors.channel_overview(period_start=date(2024, 4, 1), period_end=date(2025, 3, 31), filters=filters)


def test_the_overview_reads_the_same_number_of_queries_for_3_and_12_partners(django_assert_num_queries):
    territory, tier, manager = TerritoryFactory(), TierFactory(rank=1), ManagerFactory()
    _small_channel(3, territory, tier, manager)
    services.channel_cube_refresh(today=date(2025, 4, 10))
    counts = {}
    for filters in (None, {"territory": territory.pk, "account_manager": manager.pk}):
        with CaptureQueriesContext(connection) as small:
            _read_overviews(filters)
        counts[str(filters)] = len(small.captured_queries)
    _small_channel(9, territory, tier, manager)
    services.channel_cube_refresh(today=date(2025, 4, 10))
    assert selectors.channel_overview(period_start=date(2025, 1, 1), period_end=date(2025, 3, 31))["kpis"]["partners"]["value"] == 12
    for filters in (None, {"territory": territory.pk, "account_manager": manager.pk}):
        with django_assert_num_queries(counts[str(filters)]):
            _read_overviews(filters)


def test_cells_keep_the_rollups_precision_and_empty_dimensions():
    """Rollup revenue has four decimals (sales lines do); a cell must not round it, and a partner without
    tier, territory or manager lands in a cell with those empty, not in none."""
    partner = PartnerFactory(joined_on=date(2024, 1, 1), tier=None, territory=None, account_manager=None)
    SalesMonthFactory(partner=partner, month=date(2025, 3, 1), revenue=Decimal("1000.1234"))
    SalesMonthFactory(partner=partner, month=date(2025, 4, 1), revenue=Decimal("0.0001"))
    services.channel_cube_refresh()
    overview = selectors.channel_overview(period_start=date(2025, 3, 1), period_end=date(2025, 4, 30))
    assert overview["kpis"]["revenue"]["value"] == Decimal("1000.1235")
    assert set(ChannelMonth.objects.values_list("tier_id", "territory_id", "account_manager_id")) == {(None, None, None)}
