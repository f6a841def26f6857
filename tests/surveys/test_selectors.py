"""Survey results: NPS arithmetic on hand-computed sets, wave results, breakdowns, the anonymity
threshold, the trend across waves and the partner-level satisfaction figures of the loyalty score.

Responses are written directly (not through `response_submit`) so a test can give them any date,
partner and score it needs; the services' own rules are tested in test_services.py.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from partners.models import PartnerType
from surveys import selectors
from surveys.models import Answer, Choice, Invitation, Question, QuestionKind, Response, Survey, Wave
from surveys.selectors import NpsFigures, nps_from_queryset, nps_from_scores
from tests.partners.factories import MembershipFactory, PartnerFactory, TerritoryFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db

_keys = itertools.count()


# --- helpers -------------------------------------------------------------------------------------


def make_survey(**fields):
    return Survey.objects.create(title=fields.pop("title", "Partner satisfaction"), **fields)


def make_question(survey, kind, position=0, choices=(), **fields):
    question = Question.objects.create(survey=survey, kind=kind, text=f"{kind} question", position=position, **fields)
    for index, text in enumerate(choices):
        Choice.objects.create(question=question, text=text, position=index)
    return question


def make_wave(survey, name="Q3 2026", *, opens_days_ago=10, closes_in_days=10):
    now = timezone.now()
    return Wave.objects.create(
        survey=survey, name=name, opens_at=now - timedelta(days=opens_days_ago), closes_at=now + timedelta(days=closes_in_days)
    )


def respond(wave, partner, answers, *, user=None, submitted_at=None):
    """A response with {question: value}: a number, a text, or a list of Choice objects."""
    response = Response.objects.create(
        wave=wave,
        partner=partner,
        user=user,
        respondent_key=f"test:{next(_keys)}",
        submitted_at=submitted_at or wave.opens_at + timedelta(hours=1),
    )
    for question, value in answers.items():
        answer = Answer.objects.create(
            response=response,
            question=question,
            number=value if isinstance(value, int) else None,
            text=value if isinstance(value, str) else "",
        )
        if isinstance(value, list):
            answer.choices.set(value)
    return response


def nps_responses(wave, partner, question, scores, **kwargs):
    return [respond(wave, partner, {question: score}, **kwargs) for score in scores]


def invite(wave, partner, count=1):
    users = [MembershipFactory(partner=partner).user for _ in range(count)]
    Invitation.objects.bulk_create([Invitation(wave=wave, partner=partner, user=user, sent_at=wave.opens_at) for user in users])
    return users


@pytest.fixture
def survey():
    return make_survey()


@pytest.fixture
def nps_question(survey):
    return make_question(survey, QuestionKind.NPS, position=1)


@pytest.fixture
def wave(survey, nps_question):
    return make_wave(survey)


# --- NPS arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "promoters", "passives", "detractors", "score"),
    [
        ([10, 9, 8, 7, 6, 0], 2, 2, 2, 0),
        ([7, 8, 7], 0, 3, 0, 0),  # all passives
        ([10], 1, 0, 0, 100),  # a single promoter
        ([6], 0, 0, 1, -100),  # a single detractor
        ([9, 9, 9, 3], 3, 0, 1, 50),
        ([0, 1, 2, 3, 4, 5, 6], 0, 0, 7, -100),  # every detractor score counts, 6 included
        ([9, 10, 7, 8], 2, 2, 0, 50),  # 9 is a promoter, 8 a passive
    ],
)
def test_nps_from_hand_computed_scores(scores, promoters, passives, detractors, score):
    figures = nps_from_scores(scores)

    assert (figures.count, figures.promoters, figures.passives, figures.detractors) == (len(scores), promoters, passives, detractors)
    assert figures.score == score
    assert figures.rounded == score


def test_nps_without_answers_is_none_not_zero():
    figures = nps_from_scores([])

    assert figures.count == 0
    assert figures.score is None
    assert figures.rounded is None
    assert figures.share(0) is None


@pytest.mark.parametrize(
    ("scores", "exact", "rounded"),
    [
        ([10, 7, 7], Decimal(100) / 3, 33),  # 33.33 -> 33
        ([10, 10, 7], Decimal(200) / 3, 67),  # 66.67 -> 67
        ([10, 7, 7, 7, 7, 7, 7, 7], Decimal("12.5"), 13),  # exactly half: up
        ([0, 7, 7, 7, 7, 7, 7, 7], Decimal("-12.5"), -13),  # half away from zero on the negative side too
        ([10, 10, 10, 0, 0, 7, 7, 7], Decimal("12.5"), 13),
    ],
)
def test_nps_is_exact_and_rounds_half_up(scores, exact, rounded):
    figures = nps_from_scores(scores)

    assert figures.score == exact
    assert figures.rounded == rounded
    assert isinstance(figures.rounded, int)


def test_share_of_promoters_in_percent_with_one_decimal():
    figures = nps_from_scores([10, 7, 7])

    assert figures.share(figures.promoters) == 33.3
    assert figures.share(figures.passives) == 66.7
    assert figures.share(figures.detractors) == 0


@pytest.mark.parametrize("scores", [[10, 9, 8, 7, 6, 0], [7, 8, 7], [10], [6], [9, 9, 9, 3], [10, 7, 7], []])
def test_nps_from_queryset_equals_nps_from_scores(scores, wave, nps_question, django_assert_num_queries):
    partner = PartnerFactory()
    nps_responses(wave, partner, nps_question, scores)
    respond(wave, partner, {make_question(wave.survey, QuestionKind.RATING, position=2): 5})  # not in the queryset below

    with django_assert_num_queries(1):  # one aggregate
        figures = nps_from_queryset(Answer.objects.filter(question=nps_question))

    assert figures == nps_from_scores(scores)
    assert figures.score == nps_from_scores(scores).score


# --- wave results --------------------------------------------------------------------------------


class Questionnaire:
    """A survey with one question of every kind and an open wave."""

    def __init__(self, **survey_fields):
        self.survey = make_survey(**survey_fields)
        self.nps = make_question(self.survey, QuestionKind.NPS, position=1)
        self.rating = make_question(self.survey, QuestionKind.RATING, position=2)
        self.single = make_question(self.survey, QuestionKind.SINGLE, position=3, choices=["Routers", "Switches"])
        self.multiple = make_question(self.survey, QuestionKind.MULTIPLE, position=4, choices=["Rebates", "Training", "Leads"])
        self.text = make_question(self.survey, QuestionKind.TEXT, position=5, is_required=False)
        self.wave = make_wave(self.survey)
        self.routers, self.switches = self.single.choices.all()
        self.rebates, self.training, self.leads = self.multiple.choices.all()

    def answer(self, partner, nps, rating, single, multiple, text="", **kwargs):
        answers = {self.nps: nps, self.rating: rating, self.single: [single], self.multiple: multiple}
        if text:
            answers[self.text] = text
        return respond(self.wave, partner, answers, **kwargs)


def _by_kind(results):
    return {result.question.kind: result for result in results.questions}


class TestWaveResults:
    def test_response_rate_per_user(self):
        q = Questionnaire()
        partner_a, partner_b = PartnerFactory(), PartnerFactory()
        users_a = invite(q.wave, partner_a, 3)
        invite(q.wave, partner_b, 1)
        q.answer(partner_a, 10, 5, q.routers, [q.rebates], user=users_a[0])
        q.answer(partner_a, 6, 3, q.switches, [], user=users_a[1])
        q.answer(partner_a, 9, 4, q.routers, [q.rebates, q.training], user=users_a[2])

        results = selectors.wave_results(wave=q.wave)

        assert (results.invited, results.answered) == (4, 3)
        assert results.response_rate == 75.0
        assert results.hidden is False

    def test_response_rate_per_company_counts_invited_partners_not_people(self):
        q = Questionnaire(one_response_per_partner=True)
        partner_a, partner_b, partner_c = PartnerFactory(), PartnerFactory(), PartnerFactory()
        invite(q.wave, partner_a, 3)
        invite(q.wave, partner_b, 2)
        invite(q.wave, partner_c, 1)
        q.answer(partner_a, 10, 5, q.routers, [])

        results = selectors.wave_results(wave=q.wave)

        assert (results.invited, results.answered) == (3, 1)
        assert results.response_rate == 33.3

    def test_no_invitations_no_rate(self):
        results = selectors.wave_results(wave=Questionnaire().wave)

        assert results.response_rate is None
        assert _by_kind(results)[QuestionKind.NPS].nps == nps_from_scores([])

    def test_averages_distributions_choice_counts_and_texts(self):
        q = Questionnaire()
        partner = PartnerFactory()
        now = timezone.now()
        q.answer(partner, 10, 5, q.routers, [q.rebates, q.training], "Faster quotes", submitted_at=now - timedelta(days=3))
        q.answer(partner, 9, 4, q.routers, [q.rebates], submitted_at=now - timedelta(days=2))
        q.answer(partner, 6, 2, q.switches, [], "More training", submitted_at=now - timedelta(days=1))

        results = _by_kind(selectors.wave_results(wave=q.wave))

        nps = results[QuestionKind.NPS]
        assert nps.count == 3
        assert nps.average == Decimal("8.33")  # 25 / 3
        assert nps.nps == NpsFigures(count=3, promoters=2, passives=0, detractors=1)
        assert nps.nps.rounded == 33
        assert dict(nps.distribution) == {0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1, 7: 0, 8: 0, 9: 1, 10: 1}
        assert [value for value, _n in nps.distribution] == list(range(11))
        rating = results[QuestionKind.RATING]
        assert rating.average == Decimal("3.67")  # 11 / 3
        assert rating.distribution == [(1, 0), (2, 1), (3, 0), (4, 1), (5, 1)]
        assert rating.nps is None
        assert results[QuestionKind.SINGLE].distribution == [("Routers", 2), ("Switches", 1)]
        assert results[QuestionKind.SINGLE].count == 3
        assert results[QuestionKind.MULTIPLE].distribution == [("Rebates", 2), ("Training", 1), ("Leads", 0)]
        text = results[QuestionKind.TEXT]
        assert text.count == 2
        assert text.texts == ["More training", "Faster quotes"]  # newest first

    def test_results_of_one_group_of_partners(self):
        q = Questionnaire()
        gold = TierFactory(name="Gold", rank=3)
        partner_gold, partner_other = PartnerFactory(tier=gold), PartnerFactory()
        invite(q.wave, partner_gold, 2)
        invite(q.wave, partner_other, 2)
        q.answer(partner_gold, 10, 5, q.routers, [])
        q.answer(partner_other, 0, 1, q.switches, [])
        q.answer(partner_other, 3, 1, q.switches, [])

        results = selectors.wave_results(wave=q.wave, group={"tier_id": gold.pk})

        assert (results.invited, results.answered) == (2, 1)
        assert _by_kind(results)[QuestionKind.NPS].nps.rounded == 100
        assert _by_kind(results)[QuestionKind.SINGLE].distribution == [("Routers", 1), ("Switches", 0)]

    def test_other_waves_do_not_count(self):
        q = Questionnaire()
        other = make_wave(q.survey, "Q2 2026", opens_days_ago=100, closes_in_days=-80)
        partner = PartnerFactory()
        q.answer(partner, 10, 5, q.routers, [])
        respond(other, partner, {q.nps: 0})

        assert _by_kind(selectors.wave_results(wave=q.wave))[QuestionKind.NPS].nps.rounded == 100
        assert _by_kind(selectors.wave_results(wave=other))[QuestionKind.NPS].nps.rounded == -100


# --- breakdowns ----------------------------------------------------------------------------------


@pytest.fixture
def segments():
    """Partners in two tiers, two types and two territories."""
    gold, silver = TierFactory(name="Gold", rank=3), TierFactory(name="Silver", rank=2)
    benelux, dach = TerritoryFactory(name="Benelux"), TerritoryFactory(name="DACH", countries=["DE"])
    return {
        "gold_msp_benelux": PartnerFactory(tier=gold, partner_type=PartnerType.MSP, territory=benelux),
        "gold_reseller_dach": PartnerFactory(tier=gold, partner_type=PartnerType.RESELLER, territory=dach),
        "silver_reseller_dach": PartnerFactory(tier=silver, partner_type=PartnerType.RESELLER, territory=dach),
        "untiered": PartnerFactory(tier=None, partner_type=PartnerType.VAR, territory=None),
    }


def _scores(breakdown):
    return {label: (figures.count, figures.rounded) if figures else None for label, figures in breakdown}


class TestNpsBreakdown:
    def test_by_tier_type_and_territory(self, wave, nps_question, segments):
        nps_responses(wave, segments["gold_msp_benelux"], nps_question, [10, 10])
        nps_responses(wave, segments["gold_reseller_dach"], nps_question, [6, 8])
        nps_responses(wave, segments["silver_reseller_dach"], nps_question, [9, 0, 0])
        nps_responses(wave, segments["untiered"], nps_question, [7])

        assert _scores(selectors.nps_breakdown(wave=wave, by="tier")) == {"Gold": (4, 25), "Silver": (3, -33), "—": (1, 0)}
        assert _scores(selectors.nps_breakdown(wave=wave, by="type")) == {"msp": (2, 100), "reseller": (5, -40), "var": (1, 0)}
        assert _scores(selectors.nps_breakdown(wave=wave, by="territory")) == {"Benelux": (2, 100), "DACH": (5, -40), "—": (1, 0)}

    def test_only_nps_answers_of_this_wave_count(self, wave, nps_question, segments):
        rating = make_question(wave.survey, QuestionKind.RATING, position=2)
        other_wave = make_wave(wave.survey, "Q2 2026", opens_days_ago=100, closes_in_days=-80)
        respond(wave, segments["gold_msp_benelux"], {nps_question: 10, rating: 1})
        respond(other_wave, segments["gold_msp_benelux"], {nps_question: 0})

        assert _scores(selectors.nps_breakdown(wave=wave, by="tier")) == {"Gold": (1, 100)}

    def test_anonymous_groups_under_five_answers_are_hidden(self, segments):
        survey = make_survey(is_anonymous=True)
        question = make_question(survey, QuestionKind.NPS)
        wave = make_wave(survey)
        nps_responses(wave, segments["gold_msp_benelux"], question, [10, 10, 9, 6, 7])  # 5 answers: shown
        nps_responses(wave, segments["silver_reseller_dach"], question, [0, 0, 0])  # 3 answers: hidden
        nps_responses(wave, segments["untiered"], question, [8, 8])  # 2 answers: hidden, 5 with Silver's

        breakdown = dict(selectors.nps_breakdown(wave=wave, by="tier"))

        assert breakdown["Gold"] == NpsFigures(count=5, promoters=3, passives=1, detractors=1)
        assert (breakdown["Silver"], breakdown["—"]) == (None, None)

    def test_the_next_smallest_anonymous_group_is_hidden_too_when_the_hidden_ones_would_show(self, segments):
        """Gold 5, untiered 6, Silver 4: the wave's NPS minus Gold's and the untiered ones' would be Silver's.
        So Gold, the smallest group shown, is hidden with Silver (9 answers hidden together)."""
        survey = make_survey(is_anonymous=True)
        question = make_question(survey, QuestionKind.NPS)
        wave = make_wave(survey)
        nps_responses(wave, segments["gold_msp_benelux"], question, [10] * 5)
        nps_responses(wave, segments["untiered"], question, [9] * 6)
        nps_responses(wave, segments["silver_reseller_dach"], question, [0] * 4)

        breakdown = dict(selectors.nps_breakdown(wave=wave, by="tier"))

        assert (breakdown["Gold"], breakdown["Silver"]) == (None, None)
        assert breakdown["—"] == NpsFigures(count=6, promoters=6, passives=0, detractors=0)

    @pytest.mark.parametrize(
        ("counts", "shown"),
        [
            ([5, 5, 5], [True, True, True]),
            ([4, 5, 6], [False, False, True]),
            ([1, 2, 2, 9], [False, False, False, True]),
            ([4, 4], [False, False]),
            ([4, 5], [False, False]),
            ([3, 3, 7], [False, False, True]),
        ],
    )
    def test_suppression_keeps_the_hidden_answers_at_five_or_none(self, counts, shown):
        rows = [(f"g{index}", NpsFigures(count, count, 0, 0)) for index, count in enumerate(counts)]

        result = selectors.suppress_small_groups(rows)

        assert [figures is not None for _label, figures in result] == shown
        hidden = sum(count for count, visible in zip(counts, shown, strict=True) if not visible)
        assert hidden == 0 or hidden >= 5

    def test_named_surveys_show_small_groups(self, wave, nps_question, segments):
        nps_responses(wave, segments["silver_reseller_dach"], nps_question, [0])

        assert _scores(selectors.nps_breakdown(wave=wave, by="tier")) == {"Silver": (1, -100)}


# --- anonymity threshold -------------------------------------------------------------------------


class TestAnonymityThreshold:
    def _answered(self, count):
        q = Questionnaire(is_anonymous=True)
        partner = PartnerFactory()
        invite(q.wave, partner, 6)
        for index in range(count):
            q.answer(partner, 10 - index, 5, q.routers, [q.rebates], f"Secret remark {index}")
        return q

    def test_four_answers_show_no_figures_and_no_texts(self):
        results = selectors.wave_results(wave=self._answered(4).wave)

        assert results.hidden is True
        assert results.answered == 4
        for result in results.questions:
            assert result.hidden is True
            assert result.average is None
            assert result.nps is None
            assert result.distribution == []
            assert result.texts == []

    def test_five_answers_are_shown(self):
        results = selectors.wave_results(wave=self._answered(5).wave)

        assert results.hidden is False
        by_kind = _by_kind(results)
        assert by_kind[QuestionKind.NPS].nps == nps_from_scores([10, 9, 8, 7, 6])
        assert by_kind[QuestionKind.RATING].average == Decimal("5.00")
        assert by_kind[QuestionKind.SINGLE].distribution == [("Routers", 5), ("Switches", 0)]
        assert sorted(by_kind[QuestionKind.TEXT].texts) == [f"Secret remark {index}" for index in range(5)]

    def test_a_group_of_an_anonymous_wave_needs_five_answers_too(self):
        q = self._answered(5)
        small = PartnerFactory(tier=TierFactory(name="Platinum", rank=4))
        q.answer(small, 0, 1, q.switches, [], "Only we would say this")

        whole = selectors.wave_results(wave=q.wave)
        group = selectors.wave_results(wave=q.wave, group={"tier_id": small.tier_id})

        assert whole.hidden is False
        assert "Only we would say this" in _by_kind(whole)[QuestionKind.TEXT].texts
        assert group.hidden is True
        assert _by_kind(group)[QuestionKind.TEXT].texts == []
        assert _by_kind(group)[QuestionKind.NPS].nps is None

    def test_named_surveys_show_a_single_answer(self):
        q = Questionnaire()
        q.answer(PartnerFactory(), 8, 4, q.routers, [], "Fine")

        results = selectors.wave_results(wave=q.wave)

        assert results.hidden is False
        assert _by_kind(results)[QuestionKind.TEXT].texts == ["Fine"]


# --- trend ---------------------------------------------------------------------------------------


class TestNpsTrend:
    def test_one_point_per_wave_oldest_first(self, survey, nps_question, django_assert_num_queries):
        partner = PartnerFactory()
        q1 = make_wave(survey, "Q1 2026", opens_days_ago=200, closes_in_days=-180)
        q2 = make_wave(survey, "Q2 2026", opens_days_ago=100, closes_in_days=-80)
        q3 = make_wave(survey, "Q3 2026")
        nps_responses(q1, partner, nps_question, [0, 6, 10])
        nps_responses(q3, partner, nps_question, [10, 9, 8])

        with django_assert_num_queries(2):  # the waves, the figures of all of them
            trend = selectors.nps_trend(survey=survey)

        assert [wave.name for wave, _figures in trend] == ["Q1 2026", "Q2 2026", "Q3 2026"]
        assert [figures.rounded for _wave, figures in trend] == [-33, None, 67]
        assert trend[1] == (q2, NpsFigures(0, 0, 0, 0))
        assert trend[2][0] == q3

    def test_other_surveys_do_not_count(self, survey, nps_question):
        other = make_survey(title="Onboarding")
        other_question = make_question(other, QuestionKind.NPS)
        other_wave = make_wave(other)
        wave = make_wave(survey)
        nps_responses(wave, PartnerFactory(), nps_question, [10])
        nps_responses(other_wave, PartnerFactory(), other_question, [0, 0])

        assert [figures.rounded for _wave, figures in selectors.nps_trend(survey=survey)] == [100]

    def test_anonymous_waves_under_five_answers_are_hidden(self):
        survey = make_survey(is_anonymous=True)
        question = make_question(survey, QuestionKind.NPS)
        small = make_wave(survey, "Q2 2026", opens_days_ago=100, closes_in_days=-80)
        large = make_wave(survey, "Q3 2026")
        partner = PartnerFactory()
        nps_responses(small, partner, question, [10, 10, 10, 10])
        nps_responses(large, partner, question, [10, 10, 10, 0, 0])

        trend = selectors.nps_trend(survey=survey)

        assert [figures.rounded if figures else None for _wave, figures in trend] == [None, 20]


# --- partner satisfaction (the loyalty score's input) --------------------------------------------


class TestPartnerSatisfaction:
    @pytest.fixture
    def world(self):
        named = make_survey(title="Named")
        anonymous = make_survey(title="Anonymous", is_anonymous=True)
        return {
            "named_nps": make_question(named, QuestionKind.NPS, position=1),
            "named_rating": make_question(named, QuestionKind.RATING, position=2),
            "named_wave": make_wave(named, opens_days_ago=400, closes_in_days=30),
            "anonymous_nps": make_question(anonymous, QuestionKind.NPS),
            "anonymous_wave": make_wave(anonymous),
        }

    def test_figures_per_partner_from_named_surveys(self, world):
        partner = PartnerFactory()
        when = timezone.now() - timedelta(days=20)
        respond(world["named_wave"], partner, {world["named_nps"]: 10, world["named_rating"]: 4}, submitted_at=when)
        respond(world["named_wave"], partner, {world["named_nps"]: 9, world["named_rating"]: 5}, submitted_at=when)
        respond(world["named_wave"], partner, {world["named_nps"]: 3, world["named_rating"]: 2}, submitted_at=when)

        figures = selectors.partner_satisfaction()

        assert figures == {
            partner.pk: {
                "responses": 3,
                "nps": Decimal(100) / 3,  # 2 promoters, 1 detractor: (2 - 1) / 3 = 33.3
                "nps_answers": 3,
                "nps_average": pytest.approx(22 / 3),
                "avg_rating": pytest.approx(11 / 3),  # (4 + 5 + 2) / 3
                "rating_answers": 3,
            }
        }

    def test_hand_computed_figures_for_several_partners_and_a_choice_of_partners(self, world):
        """Partner A: NPS 10, 10, 7, 8, 0 -> (2 - 1) / 5 = 20; ratings 5, 3 -> 4.0; a sixth response with text only.
        Partner B: one NPS answer 6 -> -100, no rating. Partner C is left out by `partner_ids`."""
        text = make_question(world["named_wave"].survey, QuestionKind.TEXT, position=3, is_required=False)
        a, b, c = PartnerFactory(), PartnerFactory(), PartnerFactory()
        when = timezone.now() - timedelta(days=3)
        for score, rating in [(10, 5), (10, None), (7, 3), (8, None), (0, None)]:
            answers = {world["named_nps"]: score} | ({world["named_rating"]: rating} if rating else {})
            respond(world["named_wave"], a, answers, submitted_at=when)
        respond(world["named_wave"], a, {text: "Only a remark"}, submitted_at=when)
        respond(world["named_wave"], b, {world["named_nps"]: 6}, submitted_at=when)
        respond(world["named_wave"], c, {world["named_nps"]: 10}, submitted_at=when)

        figures = selectors.partner_satisfaction(partner_ids=[a.pk, b.pk])

        assert set(figures) == {a.pk, b.pk}
        assert (figures[a.pk]["responses"], figures[a.pk]["nps"], figures[a.pk]["avg_rating"]) == (6, 20, 4.0)
        assert (figures[a.pk]["nps_answers"], figures[a.pk]["rating_answers"]) == (5, 2)
        assert (figures[b.pk]["responses"], figures[b.pk]["nps"], figures[b.pk]["avg_rating"]) == (1, -100, None)

    def test_since_sets_the_start_of_the_window(self, world):
        partner = PartnerFactory()
        now = timezone.now()
        respond(world["named_wave"], partner, {world["named_nps"]: 0}, submitted_at=now - timedelta(days=40))
        respond(world["named_wave"], partner, {world["named_nps"]: 10}, submitted_at=now - timedelta(days=10))

        figures = selectors.partner_satisfaction(since=now - timedelta(days=30))

        assert (figures[partner.pk]["responses"], figures[partner.pk]["nps"]) == (1, 100)

    def test_one_query(self, world, django_assert_num_queries):
        for _ in range(3):
            respond(world["named_wave"], PartnerFactory(), {world["named_nps"]: 9}, submitted_at=timezone.now() - timedelta(days=1))

        with django_assert_num_queries(1):
            assert len(selectors.partner_satisfaction()) == 3

    def test_anonymous_surveys_do_not_count(self, world):
        partner = PartnerFactory()
        nps_responses(world["anonymous_wave"], partner, world["anonymous_nps"], [0] * 6)
        respond(world["named_wave"], partner, {world["named_nps"]: 10}, submitted_at=timezone.now() - timedelta(days=1))

        figures = selectors.partner_satisfaction()

        assert figures[partner.pk]["nps_answers"] == 1
        assert figures[partner.pk]["nps"] == 100

    def test_partners_without_answers_are_absent_not_zero(self, world):
        answered, silent = PartnerFactory(), PartnerFactory()
        only_anonymous = PartnerFactory()
        respond(world["named_wave"], answered, {world["named_nps"]: 8}, submitted_at=timezone.now() - timedelta(days=1))
        nps_responses(world["anonymous_wave"], only_anonymous, world["anonymous_nps"], [10] * 5)

        figures = selectors.partner_satisfaction()

        assert set(figures) == {answered.pk}
        assert figures[answered.pk]["nps"] == 0
        assert silent.pk not in figures
        assert only_anonymous.pk not in figures

    def test_only_the_last_twelve_months_count(self, world):
        partner, old_only = PartnerFactory(), PartnerFactory()
        now = timezone.now()
        respond(world["named_wave"], partner, {world["named_nps"]: 10}, submitted_at=now - timedelta(days=330))
        respond(world["named_wave"], partner, {world["named_nps"]: 0}, submitted_at=now - timedelta(days=380))
        respond(world["named_wave"], old_only, {world["named_nps"]: 0}, submitted_at=now - timedelta(days=380))

        figures = selectors.partner_satisfaction(as_of=now)

        assert set(figures) == {partner.pk}
        assert figures[partner.pk]["nps_answers"] == 1
        assert figures[partner.pk]["nps"] == 100

    def test_as_of_a_past_day_ignores_later_answers(self, world):
        partner = PartnerFactory()
        now = timezone.now()
        respond(world["named_wave"], partner, {world["named_nps"]: 0}, submitted_at=now - timedelta(days=100))
        respond(world["named_wave"], partner, {world["named_nps"]: 10}, submitted_at=now - timedelta(days=10))

        figures = selectors.partner_satisfaction(as_of=now - timedelta(days=50))

        assert figures[partner.pk]["nps_answers"] == 1
        assert figures[partner.pk]["nps"] == -100

    def test_a_shorter_window(self, world):
        partner = PartnerFactory()
        now = timezone.now()
        respond(world["named_wave"], partner, {world["named_nps"]: 0}, submitted_at=now - timedelta(days=100))

        assert selectors.partner_satisfaction(as_of=now, months=3) == {}
        assert partner.pk in selectors.partner_satisfaction(as_of=now, months=4)


def test_users_are_not_needed_for_results():
    """Anonymous responses have no user; results never join users (a deleted user keeps its answers counted)."""
    q = Questionnaire()
    user = UserFactory()
    q.answer(PartnerFactory(), 10, 5, q.routers, [], user=user)
    user.delete()

    assert _by_kind(selectors.wave_results(wave=q.wave))[QuestionKind.NPS].nps.rounded == 100
