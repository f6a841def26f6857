"""Each KPI and score component on one hand-computed partner (tests/kpis/factories.build_world)."""

from datetime import date
from decimal import Decimal

import pytest

from kpis import definitions as kpi
from kpis import scoring
from kpis.models import ScoreModel
from tests.partners.factories import PartnerFactory, TerritoryFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner():
    return build_world(PartnerFactory(joined_on=date(2024, 1, 1)))


def test_trailing_period_is_the_twelve_complete_months_before_the_day():
    period = kpi.Period.trailing(ON)
    assert (period.start, period.end, period.length) == (date(2025, 6, 1), date(2026, 6, 1), 12)
    assert period.last_year() == kpi.Period(date(2024, 6, 1), date(2025, 6, 1))


def test_raw_components_hand_computed(partner):
    raws, _rows = scoring.raw_components(on_date=ON)
    values = raws[partner.pk]
    assert values["sales"] == Decimal("150000")  # 60k + 40k + 50k; June 2026 (the day's month) excluded
    assert values["growth"] == Decimal("0.5")  # against 100k the 12 months before
    assert values["consistency"] == Decimal("0.25")  # 3 of 12 months with revenue
    assert values["engagement"] == 17  # training 3 + event 3 + review 2 + 2 downloads + 2 login days + certification 5
    assert values["expansion"] == 3  # 1 new customer + DE + Security
    assert values["cases"] == 3  # open support 1 + conflict closed inside the window 2
    assert values["satisfaction"] is None  # no survey answers: absent, not zero


def test_score_renormalises_without_the_absent_component(partner):
    model = ScoreModel(version=99)
    score, components = scoring.score_of(scoring.raw_components(on_date=ON)[0][partner.pk], model)
    assert components["sales"]["normalised"] == 60.0
    assert components["growth"]["normalised"] == 100.0
    assert components["engagement"]["normalised"] == 56.67
    assert components["consistency"]["normalised"] == 25.0
    assert components["expansion"]["normalised"] == 30.0
    assert components["cases"]["normalised"] == 40.0  # 3 of the 5 that score 0
    assert components["satisfaction"] == {"raw": None, "normalised": None, "weight": 15.0, "share": None, "absent": True}
    # (20*60 + 15*100 + 20*56.67 + 10*25 + 10*30 + 10*40) / 85 present weight
    assert score == Decimal("56.28")
    assert components["sales"]["share"] == pytest.approx(20 / 85, abs=1e-4)
    assert model.band_for(score) == "watch"


def test_satisfaction_counts_when_answered(partner):
    from tests.surveys.factories import AnswerFactory, QuestionFactory, ResponseFactory

    from .factories import at

    question = QuestionFactory()
    for number in (10, 9, 3):
        AnswerFactory(
            question=question,
            number=number,
            response=ResponseFactory(partner=partner, wave__survey=question.survey, submitted_at=at(date(2026, 6, 1))),
        )
    AnswerFactory(
        question=question,
        number=0,
        response=ResponseFactory(partner=partner, wave__survey=question.survey, submitted_at=at(date(2026, 6, 20))),
    )
    values = scoring.raw_components(on_date=ON)[0][partner.pk]
    assert values["satisfaction"] == Decimal(100) / 3  # 2 promoters - 1 detractor of 3; the answer after the day ignored
    score, components = scoring.score_of(values, ScoreModel(version=99))
    assert components["satisfaction"]["normalised"] == 66.67


def test_a_new_partner_without_sales_has_sales_components_absent():
    partner = PartnerFactory(joined_on=date(2026, 5, 1))
    values = scoring.raw_components(on_date=ON)[0][partner.pk]
    assert [name for name, value in values.items() if value is None] == ["sales", "growth", "satisfaction", "consistency", "expansion"]
    score, _components = scoring.score_of(values, ScoreModel(version=99))
    assert score == Decimal("33.33")  # (engagement 0 x 20 + no cases 100 x 10) / 30


def test_consistency_counts_only_months_since_joining():
    partner = PartnerFactory(joined_on=date(2026, 3, 10))
    SalesMonthFactory(partner=partner, month=date(2026, 3, 1))
    SalesMonthFactory(partner=partner, month=date(2026, 5, 1))
    assert scoring.raw_components(on_date=ON)[0][partner.pk]["consistency"] == Decimal(2) / Decimal(3)


def test_partners_outside_the_channel_or_not_yet_joined_are_not_scored():
    from partners.models import PartnerStatus, PartnerStatusChange

    from .factories import at

    churned = PartnerFactory(status=PartnerStatus.CHURNED)
    later = PartnerFactory(joined_on=date(2026, 7, 1))
    came_back = PartnerFactory(status=PartnerStatus.ACTIVE)
    PartnerStatusChange.objects.create(partner=came_back, from_status="inactive", to_status="active", changed_at=at(date(2026, 6, 20)))
    left = PartnerFactory(status=PartnerStatus.CHURNED)
    PartnerStatusChange.objects.create(partner=left, from_status="active", to_status="churned", changed_at=at(date(2026, 6, 20)))
    ids = {row["id"] for row in kpi.partners_in_channel(on_date=ON)}
    assert churned.pk not in ids
    assert later.pk not in ids
    assert {came_back.pk, left.pk} <= ids  # status on the day comes from the history


def test_normalise_clips_and_inverts():
    assert scoring.normalise(Decimal("-1"), Decimal("0"), Decimal("10")) == Decimal("0.00")
    assert scoring.normalise(Decimal("20"), Decimal("0"), Decimal("10")) == Decimal("100.00")
    assert scoring.normalise(Decimal("1"), Decimal("0"), Decimal("4"), negative=True) == Decimal("75.00")


def test_explanation_in_words():
    moves = scoring.moved_components(
        {
            "engagement": {"normalised": 40.0, "absent": False},
            "growth": {"normalised": 50.0, "absent": False},
            "sales": {"normalised": 60.0, "absent": False},
        },
        {
            "engagement": {"normalised": 52.0, "absent": False},
            "growth": {"normalised": 55.0, "absent": False},
            "sales": {"normalised": 60.0, "absent": False},
        },
    )
    text = scoring.explain_change(score=Decimal("52"), previous_score=Decimal("60"), moves=moves)
    assert text == "Score fell 8 points: engagement down 12, growth down 5"


def test_sales_performance_by_partner_and_channel():
    territory = TerritoryFactory()
    first = PartnerFactory(territory=territory, partner_type="reseller")
    second = PartnerFactory(territory=territory, partner_type="msp")
    SalesMonthFactory(partner=first, month=date(2026, 1, 1), revenue=Decimal("300"))
    SalesMonthFactory(partner=first, month=date(2025, 1, 1), revenue=Decimal("200"))
    SalesMonthFactory(partner=second, month=date(2026, 2, 1), revenue=Decimal("100"))
    period = kpi.Period.from_dates(date(2026, 1, 1), date(2026, 3, 31))
    figures = kpi.sales_performance(period=period)
    assert figures[first.pk]["revenue"] == Decimal("300")
    assert figures[first.pk]["growth"] == Decimal("0.5")
    assert figures[first.pk]["share"] == Decimal("0.75")
    assert figures[second.pk]["growth"] is None  # nothing last year: no growth, not infinite
    by_type = kpi.sales_performance(period=period, by="partner_type")
    assert by_type["msp"]["share"] == Decimal("0.25")


def test_market_expansion_engagement_and_cases(partner):
    period = kpi.Period.trailing(ON)
    assert kpi.market_expansion(period=period)[partner.pk] == {"new_customers": 1, "new_countries": 1, "new_categories": 1}
    engaged = kpi.engagement(start=date(2026, 3, 18), end=ON)[partner.pk]
    assert engaged == {"training": 1, "certifications": 1, "events": 1, "meetings": 1, "downloads": 2, "portal_logins": 2, "points": 17}
    assert kpi.case_load(start=date(2026, 3, 18), end=ON)[partner.pk] == {"cases": 2, "conflicts": 1, "load": 3}


def test_retention_and_cohorts():
    from partners.models import PartnerStatus, PartnerStatusChange

    from .factories import at

    stayed = PartnerFactory(joined_on=date(2026, 1, 10))
    left = PartnerFactory(joined_on=date(2026, 2, 10), status=PartnerStatus.CHURNED)
    PartnerStatusChange.objects.create(partner=left, from_status="active", to_status="churned", changed_at=at(date(2026, 5, 1)))
    PartnerFactory(joined_on=date(2026, 4, 2))
    figures = kpi.retention(start=date(2026, 3, 31), end=date(2026, 6, 30), condition=kpi.partner_q(ids=[stayed.pk, left.pk]))
    assert figures == {"active_at_start": 2, "retained": 1, "rate": Decimal("0.5")}
    cohorts = kpi.cohort_retention(as_of=date(2026, 6, 30))
    assert [(c["label"], c["size"], c["curve"]) for c in cohorts] == [
        ("2026-Q1", 2, [Decimal(1), Decimal("0.5")]),
        ("2026-Q2", 1, [Decimal(1)]),
    ]
