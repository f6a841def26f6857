"""Writes of the feedback loop: answering (validation, once per person or company, anonymity),
drafts, waves and invitations, pulse waves, reminders, and the ideas board with its notifications.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation

from partners.models import PartnerStatus, PartnerType
from partners.tenancy import MANAGER_GROUP
from surveys import services
from surveys.models import (
    Answer,
    Choice,
    Idea,
    IdeaEvent,
    IdeaKind,
    IdeaStatus,
    Invitation,
    Question,
    QuestionKind,
    Recurrence,
    Response,
    Survey,
    Wave,
)
from tests.partners.factories import ManagerFactory, MembershipFactory, PartnerFactory, TerritoryFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def make_question(survey, kind, position, choices=(), **fields):
    question = Question.objects.create(survey=survey, kind=kind, text=f"{kind} question", position=position, **fields)
    for index, text in enumerate(choices):
        Choice.objects.create(question=question, text=text, position=index)
    return question


def make_wave(survey, name="Pilot wave", *, opens_at=None, closes_at=None):
    now = timezone.now()
    return Wave.objects.create(
        survey=survey, name=name, opens_at=opens_at or now - timedelta(days=1), closes_at=closes_at or now + timedelta(days=7)
    )


class Questionnaire:
    """A survey with one question of every kind (NPS, rating and single choice required) and an open wave."""

    def __init__(self, **survey_fields):
        self.survey = Survey.objects.create(title="Partner satisfaction", **survey_fields)
        self.nps = make_question(self.survey, QuestionKind.NPS, 1)
        self.rating = make_question(self.survey, QuestionKind.RATING, 2)
        self.single = make_question(self.survey, QuestionKind.SINGLE, 3, choices=["Routers", "Switches"])
        self.multiple = make_question(self.survey, QuestionKind.MULTIPLE, 4, choices=["Rebates", "Training"], is_required=False)
        self.text = make_question(self.survey, QuestionKind.TEXT, 5, is_required=False)
        self.routers, self.switches = self.single.choices.all()
        self.rebates, self.training = self.multiple.choices.all()
        self.wave = make_wave(self.survey)

    def invite(self, user, partner, wave=None):
        return Invitation.objects.create(wave=wave or self.wave, partner=partner, user=user, sent_at=timezone.now())

    def answers(self, **overrides):
        data = {
            str(self.nps.pk): 9,
            str(self.rating.pk): 4,
            str(self.single.pk): self.switches.pk,
            str(self.multiple.pk): [self.rebates.pk, self.training.pk],
            str(self.text.pk): "  Keep the rebates simple.  ",
        }
        for name, value in overrides.items():
            key = str(getattr(self, name).pk)
            if value is None:
                data.pop(key)
            else:
                data[key] = value
        return data


@pytest.fixture
def q():
    return Questionnaire()


@pytest.fixture
def invitation(q, admin_a, partner_a):
    return q.invite(admin_a, partner_a)


def _errors(excinfo):
    return excinfo.value.message_dict


# --- answering: validation -----------------------------------------------------------------------


class TestAnswerValidation:
    def test_a_complete_answer_is_stored(self, q, invitation, admin_a, partner_a):
        response = services.response_submit(invitation=invitation, data=q.answers())

        assert (response.wave, response.partner, response.user) == (q.wave, partner_a, admin_a)
        assert response.respondent_key == f"user:{admin_a.pk}"
        answers = {answer.question_id: answer for answer in response.answers.all()}
        assert answers[q.nps.pk].number == 9
        assert answers[q.rating.pk].number == 4
        assert list(answers[q.single.pk].choices.all()) == [q.switches]
        assert set(answers[q.multiple.pk].choices.all()) == {q.rebates, q.training}
        assert answers[q.text.pk].text == "Keep the rebates simple."
        invitation.refresh_from_db()
        assert invitation.responded_at is not None
        assert invitation.draft == {}

    def test_numbers_may_come_as_strings_and_optional_questions_may_be_left_out(self, q, invitation):
        data = q.answers(nps="10", rating="1", single=str(q.routers.pk), multiple=None, text=None)

        response = services.response_submit(invitation=invitation, data=data)

        assert sorted(response.answers.values_list("number", flat=True), key=str) == [1, 10, None]
        assert not Answer.objects.filter(response=response, question=q.multiple).exists()

    @pytest.mark.parametrize(("question", "value"), [("nps", 11), ("nps", -1), ("rating", 0), ("rating", 6), ("nps", 100)])
    def test_out_of_range_scores_are_refused(self, q, invitation, question, value):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(**{question: value}))

        low, high = (0, 10) if question == "nps" else (1, 5)
        assert _errors(excinfo) == {f"q{getattr(q, question).pk}": [f"Choose a score from {low} to {high}."]}
        assert not Response.objects.exists()

    @pytest.mark.parametrize("value", ["nine", "9.5", [9], {"score": 9}, 9.5, True])
    def test_non_numeric_scores_are_refused(self, q, invitation, value):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(nps=value))

        assert list(_errors(excinfo)) == [f"q{q.nps.pk}"]
        assert not Response.objects.exists()

    def test_a_choice_of_another_question_is_refused(self, q, invitation):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(single=q.rebates.pk))

        assert _errors(excinfo) == {f"q{q.single.pk}": ["Choose one of the options shown."]}

    def test_a_choice_of_another_survey_is_refused(self, q, invitation):
        other = Questionnaire()

        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(multiple=[q.rebates.pk, other.training.pk]))

        assert _errors(excinfo) == {f"q{q.multiple.pk}": ["Choose one of the options shown."]}

    @pytest.mark.parametrize("value", ["not-a-number", [None]])
    def test_a_choice_that_is_no_id_is_refused(self, q, invitation, value):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(single=value))

        assert list(_errors(excinfo)) == [f"q{q.single.pk}"]

    def test_two_choices_on_a_single_choice_question_are_refused(self, q, invitation):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(single=[q.routers.pk, q.switches.pk]))

        assert _errors(excinfo) == {f"q{q.single.pk}": ["Choose one option."]}

    @pytest.mark.parametrize("empty", [None, "", []])
    def test_a_missing_required_answer_is_refused(self, q, invitation, empty):
        data = q.answers(nps=None, single=None)
        if empty is not None:
            data[str(q.nps.pk)] = empty

        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=data)

        assert _errors(excinfo) == {
            f"q{q.nps.pk}": ["This question needs an answer."],
            f"q{q.single.pk}": ["This question needs an answer."],
        }

    def test_an_unknown_question_is_refused(self, q, invitation):
        other = Questionnaire()
        data = {**q.answers(), str(other.nps.pk): 9, "999999": 1}

        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=data)

        assert _errors(excinfo) == {"__all__": ["The answers refer to questions that are not in this survey."]}
        assert not Response.objects.exists()

    def test_a_too_long_text_is_refused(self, q, invitation):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(text="x" * 5001))

        assert list(_errors(excinfo)) == [f"q{q.text.pk}"]


# --- answering: when, and how often --------------------------------------------------------------


class TestTextAnswers:
    def test_blanks_only_is_no_answer_to_an_optional_question(self, q, invitation):
        response = services.response_submit(invitation=invitation, data=q.answers(text=" \n\t "))

        assert not response.answers.filter(question=q.text).exists()

    def test_blanks_only_is_refused_for_a_required_question(self, admin_a, partner_a):
        q = Questionnaire()
        Question.objects.filter(pk=q.text.pk).update(is_required=True)

        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers(text="   "))

        assert _errors(excinfo) == {f"q{q.text.pk}": ["This question needs an answer."]}
        assert not Response.objects.exists()

    def test_a_draft_keeps_no_blank_text_and_stores_texts_stripped(self, q, invitation):
        assert services.draft_save(invitation=invitation, data={str(q.text.pk): "   "}).draft == {}
        assert services.draft_save(invitation=invitation, data={str(q.text.pk): " Hi "}).draft == {str(q.text.pk): "Hi"}

    @pytest.mark.parametrize("submit", [True, False])
    def test_nul_characters_are_refused(self, q, invitation, submit):
        save = services.response_submit if submit else services.draft_save

        with pytest.raises(ValidationError) as excinfo:
            save(invitation=invitation, data=q.answers(text="Fine\x00print"))

        assert _errors(excinfo) == {f"q{q.text.pk}": ["The answer contains characters that are not allowed."]}
        invitation.refresh_from_db()
        assert (invitation.draft, invitation.responded_at) == ({}, None)

    def test_a_text_answer_that_is_no_text_is_refused(self, q, invitation):
        with pytest.raises(ValidationError) as excinfo:
            services.response_submit(invitation=invitation, data=q.answers(text=["a", "b"]))

        assert _errors(excinfo) == {f"q{q.text.pk}": ["Write the answer as text."]}


class TestSubmission:
    def test_an_answer_after_the_close_is_refused(self, q, invitation):
        Wave.objects.filter(pk=q.wave.pk).update(closes_at=timezone.now() - timedelta(minutes=1))

        with pytest.raises(ValidationError, match="This survey is closed"):
            services.response_submit(invitation=invitation, data=q.answers())

        assert not Response.objects.exists()
        invitation.refresh_from_db()
        assert invitation.responded_at is None

    def test_an_answer_before_the_opening_is_refused(self, q, invitation):
        Wave.objects.filter(pk=q.wave.pk).update(opens_at=timezone.now() + timedelta(days=1), closes_at=timezone.now() + timedelta(days=9))

        with pytest.raises(ValidationError, match="closed"):
            services.response_submit(invitation=invitation, data=q.answers())

    def test_the_closing_moment_itself_is_too_late(self, q, invitation):
        with pytest.raises(ValidationError):
            services.response_submit(invitation=invitation, data=q.answers(), now=q.wave.closes_at)
        services.response_submit(invitation=invitation, data=q.answers(), now=q.wave.closes_at - timedelta(seconds=1))

    def test_a_second_submission_is_refused(self, q, invitation):
        services.response_submit(invitation=invitation, data=q.answers())

        with pytest.raises(ValidationError, match="already answered"):
            services.response_submit(invitation=invitation, data=q.answers(nps=0))

        assert Response.objects.count() == 1
        assert Answer.objects.get(question=q.nps).number == 9

    def test_every_person_answers_unless_one_answer_per_company(self, q, admin_a, user_a, partner_a):
        services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers())
        services.response_submit(invitation=q.invite(user_a, partner_a), data=q.answers(nps=3))

        assert Response.objects.filter(partner=partner_a).count() == 2

    def test_one_answer_per_company_refuses_the_colleague(self, admin_a, user_a, partner_a, admin_b, partner_b):
        q = Questionnaire(one_response_per_partner=True)
        first = services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers())
        colleague = q.invite(user_a, partner_a)

        with pytest.raises(ValidationError, match="A colleague has already answered this survey for your company"):
            services.response_submit(invitation=colleague, data=q.answers(nps=0))

        assert first.respondent_key == f"partner:{partner_a.pk}"
        assert list(Response.objects.filter(partner=partner_a)) == [first]
        colleague.refresh_from_db()
        assert colleague.responded_at is None
        # another company answers for itself
        services.response_submit(invitation=q.invite(admin_b, partner_b), data=q.answers())
        assert Response.objects.count() == 2

    def test_an_anonymous_response_cannot_be_traced_to_the_user(self, admin_a, partner_a):
        q = Questionnaire(is_anonymous=True)
        invitation = q.invite(admin_a, partner_a)
        now = timezone.now().replace(minute=37, second=12)

        response = services.response_submit(invitation=invitation, data=q.answers(), now=now)

        assert response.user is None
        assert re.fullmatch(r"anon:[0-9a-f]{32}", response.respondent_key)  # a random token, nothing derived from the user
        assert not Response.objects.filter(user=admin_a).exists()
        assert response.submitted_at == now.replace(minute=0, second=0, microsecond=0)  # no exact time to match with logs
        invitation.refresh_from_db()
        assert invitation.responded_at == now  # the invitation knows *that* they answered, not what
        # and still only once
        with pytest.raises(ValidationError, match="already answered"):
            services.response_submit(invitation=invitation, data=q.answers())

    def test_anonymous_keys_differ_between_respondents(self, admin_a, user_a, partner_a):
        q = Questionnaire(is_anonymous=True)
        one = services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers())
        two = services.response_submit(invitation=q.invite(user_a, partner_a), data=q.answers())

        assert one.respondent_key != two.respondent_key
        assert {one.user, two.user} == {None}


# --- drafts --------------------------------------------------------------------------------------


class TestDraftSave:
    def test_partial_answers_are_kept(self, q, invitation):
        saved = services.draft_save(invitation=invitation, data={str(q.nps.pk): 8, str(q.rating.pk): ""})

        assert saved.draft == {str(q.nps.pk): 8}
        invitation.refresh_from_db()
        assert invitation.draft == {str(q.nps.pk): 8}
        assert invitation.responded_at is None
        assert not Response.objects.exists()

    def test_a_later_draft_replaces_the_earlier_one(self, q, invitation):
        services.draft_save(invitation=invitation, data={str(q.nps.pk): 8})
        services.draft_save(invitation=invitation, data={str(q.text.pk): "Later"})

        invitation.refresh_from_db()
        assert invitation.draft == {str(q.text.pk): "Later"}

    def test_ranges_and_choices_are_still_checked(self, q, invitation):
        with pytest.raises(ValidationError) as excinfo:
            services.draft_save(invitation=invitation, data={str(q.nps.pk): 11, str(q.single.pk): q.rebates.pk})

        assert set(_errors(excinfo)) == {f"q{q.nps.pk}", f"q{q.single.pk}"}
        invitation.refresh_from_db()
        assert invitation.draft == {}

    def test_no_draft_after_the_close_or_after_answering(self, q, invitation):
        services.response_submit(invitation=invitation, data=q.answers())
        with pytest.raises(ValidationError, match="already answered"):
            services.draft_save(invitation=invitation, data={str(q.nps.pk): 1})

        closed = Questionnaire()
        Wave.objects.filter(pk=closed.wave.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(ValidationError, match="closed"):
            services.draft_save(invitation=closed.invite(invitation.user, invitation.partner), data={str(closed.nps.pk): 1})

    def test_no_draft_once_a_colleague_answered_for_the_company(self, admin_a, user_a, partner_a):
        q = Questionnaire(one_response_per_partner=True)
        services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers())
        colleague = q.invite(user_a, partner_a)

        with pytest.raises(ValidationError) as excinfo:
            services.draft_save(invitation=colleague, data={str(q.nps.pk): 3})

        assert excinfo.value.messages == ["A colleague has already answered this survey for your company."]
        colleague.refresh_from_db()
        assert colleague.draft == {}

    def test_a_per_person_survey_keeps_drafts_after_a_colleague_answered(self, q, admin_a, user_a, partner_a):
        services.response_submit(invitation=q.invite(admin_a, partner_a), data=q.answers())

        saved = services.draft_save(invitation=q.invite(user_a, partner_a), data={str(q.nps.pk): 3})

        assert saved.draft == {str(q.nps.pk): 3}


# --- waves and invitations -----------------------------------------------------------------------


class TestWaveCreate:
    def test_schedules_a_future_wave_without_inviting_yet(self, q, django_capture_on_commit_callbacks):
        opens = timezone.now() + timedelta(days=3)

        with django_capture_on_commit_callbacks() as callbacks:
            wave = services.wave_create(survey=q.survey, name="Q4 2026", opens_at=opens, closes_at=opens + timedelta(days=14))

        assert (wave.name, wave.opens_at, wave.invitations_sent_at) == ("Q4 2026", opens, None)
        assert callbacks == []

    def test_a_wave_that_opens_now_sends_its_invitations_after_commit(self, q, django_capture_on_commit_callbacks):
        now = timezone.now()
        with django_capture_on_commit_callbacks() as callbacks:
            services.wave_create(survey=q.survey, name="Now", opens_at=now, closes_at=now + timedelta(days=14))

        assert len(callbacks) == 1

    def test_closing_before_opening_is_refused(self, q):
        opens = timezone.now() + timedelta(days=3)
        with pytest.raises(ValidationError) as excinfo:
            services.wave_create(survey=q.survey, name="Q4", opens_at=opens, closes_at=opens)
        assert _errors(excinfo) == {"closes_at": ["A wave must close after it opens."]}
        with pytest.raises(ValidationError):
            services.wave_create(survey=q.survey, name="Q4", opens_at=opens, closes_at=opens - timedelta(days=1))

    def test_a_close_in_the_past_is_refused(self, q):
        now = timezone.now()
        with pytest.raises(ValidationError) as excinfo:
            services.wave_create(survey=q.survey, name="Q1", opens_at=now - timedelta(days=30), closes_at=now - timedelta(days=1))
        assert _errors(excinfo) == {"closes_at": ["This date is in the past."]}

    def test_a_survey_without_questions_is_refused(self):
        survey = Survey.objects.create(title="Empty")
        now = timezone.now()
        with pytest.raises(ValidationError, match="Add at least one question"):
            services.wave_create(survey=survey, name="Q4", opens_at=now, closes_at=now + timedelta(days=7))
        assert not Wave.objects.exists()

    def test_a_duplicate_name_is_refused(self, q):
        now = timezone.now()
        with pytest.raises(ValidationError) as excinfo:
            services.wave_create(survey=q.survey, name=q.wave.name, opens_at=now, closes_at=now + timedelta(days=7))
        assert _errors(excinfo) == {"name": ["This survey already has a wave with that name."]}
        # the same name in another survey is fine
        other = Questionnaire()
        services.wave_create(survey=other.survey, name="Q4 2026", opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=7))


class TestWaveInvite:
    def test_invites_the_active_users_of_active_partners(self, q, django_assert_max_num_queries):
        active = PartnerFactory()
        alice, bob = MembershipFactory(partner=active).user, MembershipFactory(partner=active).user
        gone = MembershipFactory(partner=active, user__is_active=False).user
        churned = PartnerFactory(status=PartnerStatus.CHURNED)
        MembershipFactory(partner=churned)
        onboarding = PartnerFactory(status=PartnerStatus.ONBOARDING)
        MembershipFactory(partner=onboarding)
        PartnerFactory()  # active, but nobody to invite
        ManagerFactory()  # staff are never invited
        wave = make_wave(q.survey, "Fresh")

        ids = services.wave_invite(wave=wave)

        invitations = Invitation.objects.filter(wave=wave)
        assert sorted(ids) == sorted(invitations.values_list("pk", flat=True))
        assert {(i.partner_id, i.user_id) for i in invitations} == {(active.pk, alice.pk), (active.pk, bob.pk)}
        assert gone.pk not in invitations.values_list("user_id", flat=True)
        assert all(i.sent_at is not None for i in invitations)
        wave.refresh_from_db()
        assert wave.invitations_sent_at is not None

    @pytest.mark.parametrize(
        ("audience", "outside"),
        [("type", {"partner_type": PartnerType.RESELLER}), ("tier", {"tier": "silver"}), ("territory", {"territory": "dach"})],
    )
    def test_only_the_surveys_audience_is_invited(self, audience, outside):
        tiers = {"gold": TierFactory(name="Gold", rank=3), "silver": TierFactory(name="Silver", rank=2)}
        territories = {"benelux": TerritoryFactory(name="Benelux"), "dach": TerritoryFactory(name="DACH", countries=["DE"])}
        named = {**tiers, **territories}
        base = {"partner_type": PartnerType.MSP, "tier": tiers["gold"], "territory": territories["benelux"]}
        inside = PartnerFactory(**base)
        left_out = PartnerFactory(**{**base, **{key: named.get(value, value) for key, value in outside.items()}})
        for partner in (inside, left_out):
            MembershipFactory(partner=partner)
        q = Questionnaire()
        if audience == "type":
            q.survey.partner_types = [PartnerType.MSP, PartnerType.VAR]
            q.survey.save()
        elif audience == "tier":
            q.survey.tiers.set([tiers["gold"], TierFactory(name="Platinum", rank=4)])
        else:
            q.survey.territories.set([territories["benelux"]])

        services.wave_invite(wave=q.wave)

        assert set(Invitation.objects.filter(wave=q.wave).values_list("partner_id", flat=True)) == {inside.pk}

    def test_audience_filters_combine(self):
        gold = TierFactory(name="Gold", rank=3)
        both = PartnerFactory(partner_type=PartnerType.MSP, tier=gold)
        only_type = PartnerFactory(partner_type=PartnerType.MSP)
        only_tier = PartnerFactory(partner_type=PartnerType.RESELLER, tier=gold)
        for partner in (both, only_type, only_tier):
            MembershipFactory(partner=partner)
        q = Questionnaire(partner_types=[PartnerType.MSP])
        q.survey.tiers.set([gold])

        services.wave_invite(wave=q.wave)

        assert set(Invitation.objects.filter(wave=q.wave).values_list("partner_id", flat=True)) == {both.pk}

    def test_is_idempotent(self, q, partner_a, admin_a):
        first = services.wave_invite(wave=q.wave)
        MembershipFactory(partner=partner_a)  # joins after the wave opened

        second = services.wave_invite(wave=q.wave)

        assert len(first) == 1
        assert second == []
        assert Invitation.objects.filter(wave=q.wave).count() == 1

    def test_a_wave_that_has_not_opened_is_not_invited(self, q, partner_a, admin_a):
        wave = make_wave(q.survey, "Later", opens_at=timezone.now() + timedelta(days=2), closes_at=timezone.now() + timedelta(days=9))

        assert services.wave_invite(wave=wave) == []
        assert not Invitation.objects.filter(wave=wave).exists()
        assert services.wave_invite(wave=wave, now=wave.opens_at) != []

    def test_an_existing_invitation_is_kept(self, q, partner_a, admin_a, user_a):
        existing = q.invite(admin_a, partner_a)

        ids = services.wave_invite(wave=q.wave)

        assert Invitation.objects.filter(wave=q.wave).count() == 2
        assert existing.pk in Invitation.objects.filter(wave=q.wave).values_list("pk", flat=True)
        assert Invitation.objects.get(wave=q.wave, user=user_a).pk in ids


class TestWaveClose:
    def test_closes_now_and_refuses_later_answers(self, q, invitation):
        services.wave_close(wave=q.wave)

        q.wave.refresh_from_db()
        assert q.wave.closes_at <= timezone.now()
        with pytest.raises(ValidationError, match="closed"):
            services.response_submit(invitation=invitation, data=q.answers())

    def test_a_closed_wave_keeps_its_close(self, q):
        closes = timezone.now() - timedelta(days=1)
        Wave.objects.filter(pk=q.wave.pk).update(opens_at=closes - timedelta(days=7), closes_at=closes)
        q.wave.refresh_from_db()

        with pytest.raises(ValidationError) as excinfo:
            services.wave_close(wave=q.wave)

        assert excinfo.value.messages == ["This wave is already closed."]
        q.wave.refresh_from_db()
        assert q.wave.closes_at == closes

    def test_a_scheduled_wave_is_cancelled_and_never_invites(self, q, partner_a, admin_a):
        now = timezone.now()
        opens = now + timedelta(days=5)
        Wave.objects.filter(pk=q.wave.pk).update(opens_at=opens, closes_at=opens + timedelta(days=14))
        q.wave.refresh_from_db()

        wave = services.wave_close(wave=q.wave, now=now)

        assert (wave.opens_at, wave.closes_at) == (now - timedelta(seconds=1), now)
        assert services.wave_invite(wave=wave, now=now) == []
        assert services.wave_invite(wave=wave, now=opens) == []  # the day it was to open
        assert not Invitation.objects.filter(wave=wave).exists()
        with pytest.raises(ValidationError, match="closed"):
            services.draft_save(invitation=q.invite(admin_a, partner_a), data={})


# --- surveys -------------------------------------------------------------------------------------


class TestSurveyDuplicate:
    def test_copies_questions_and_choices_in_every_language_without_waves(self, manager_user):
        tier, territory = TierFactory(), TerritoryFactory()
        survey = Survey.objects.create(
            title_en="Satisfaction",
            title_nl="Tevredenheid",
            title_de="Zufriedenheit",
            intro_en="Hello",
            intro_nl="Hallo",
            intro_de="Guten Tag",
            one_response_per_partner=True,
            recurrence=Recurrence.QUARTERLY,
            partner_types=[PartnerType.MSP],
        )
        survey.tiers.set([tier])
        survey.territories.set([territory])
        single = Question.objects.create(
            survey=survey, kind=QuestionKind.SINGLE, position=2, text_en="Best?", text_nl="Beste?", text_de="Beste?", help_text_de="Eine"
        )
        Choice.objects.create(question=single, position=1, text_en="Yes", text_nl="Ja", text_de="Ja")
        Choice.objects.create(question=single, position=2, text_en="No", text_nl="Nee", text_de="Nein")
        Question.objects.create(survey=survey, kind=QuestionKind.NPS, position=1, text_en="Recommend?", text_nl="Aanbevelen?")
        make_wave(survey)

        copy = services.survey_duplicate(survey=survey, by=manager_user)

        assert copy.pk != survey.pk
        assert (copy.title_en, copy.title_nl, copy.title_de) == (
            "Copy of Satisfaction",
            "Kopie van Tevredenheid",
            "Kopie von Zufriedenheit",
        )
        assert (copy.intro_en, copy.intro_nl, copy.intro_de) == ("Hello", "Hallo", "Guten Tag")
        assert copy.created_by == manager_user
        assert (copy.one_response_per_partner, copy.recurrence, copy.partner_types) == (True, Recurrence.QUARTERLY, [PartnerType.MSP])
        assert list(copy.tiers.all()) == [tier]
        assert list(copy.territories.all()) == [territory]
        assert not copy.waves.exists()
        fields = ("kind", "position", "text_en", "text_nl", "text_de", "help_text_de", "is_required")
        assert list(copy.questions.values_list(*fields)) == list(survey.questions.values_list(*fields))
        copied_single = copy.questions.get(kind=QuestionKind.SINGLE)
        assert copied_single.pk != single.pk
        assert list(copied_single.choices.values_list("position", "text_en", "text_nl", "text_de")) == [
            (1, "Yes", "Ja", "Ja"),
            (2, "No", "Nee", "Nein"),
        ]
        # the original is untouched
        assert survey.questions.count() == 2
        assert single.choices.count() == 2
        assert Survey.objects.get(pk=survey.pk).title_en == "Satisfaction"

    def test_the_copy_prefix_does_not_depend_on_the_managers_language(self, manager_user):
        survey = Survey.objects.create(title_en="Satisfaction", title_nl="Tevredenheid", title_de="Zufriedenheit")

        with translation.override("de"):
            copy = services.survey_duplicate(survey=survey, by=manager_user)

        assert (copy.title_en, copy.title_nl, copy.title_de) == (
            "Copy of Satisfaction",
            "Kopie van Tevredenheid",
            "Kopie von Zufriedenheit",
        )

    def test_a_long_title_is_cut_to_fit(self, manager_user):
        survey = Survey.objects.create(title_en="t" * 200, title_nl="")

        copy = services.survey_duplicate(survey=survey, by=manager_user)

        assert copy.title_en == "Copy of " + "t" * 192
        assert copy.title_nl in ("", None)


# --- pulse waves ---------------------------------------------------------------------------------


class TestPulseWaves:
    @pytest.mark.parametrize(
        ("recurrence", "day", "start", "name"),
        [
            (Recurrence.QUARTERLY, (2026, 11, 5), (2026, 10, 1), "Q4 2026"),
            (Recurrence.QUARTERLY, (2026, 1, 1), (2026, 1, 1), "Q1 2026"),
            (Recurrence.QUARTERLY, (2026, 6, 30), (2026, 4, 1), "Q2 2026"),
            (Recurrence.MONTHLY, (2026, 11, 5), (2026, 11, 1), "2026-11"),
            (Recurrence.YEARLY, (2026, 11, 5), (2026, 1, 1), "2026"),
        ],
    )
    def test_period_names(self, recurrence, day, start, name):
        assert services.period_start(recurrence, date(*day)) == date(*start)
        assert services.period_name(recurrence, date(*start)) == name

    def test_one_wave_per_period_and_idempotent(self):
        quarterly = Questionnaire(recurrence=Recurrence.QUARTERLY, wave_length_days=14)
        monthly = Questionnaire(recurrence=Recurrence.MONTHLY)
        Questionnaire()  # one-off: never a pulse
        Questionnaire(recurrence=Recurrence.QUARTERLY, is_archived=True)
        Survey.objects.create(title="No questions yet", recurrence=Recurrence.QUARTERLY)
        now = timezone.now()
        today = timezone.localdate(now)

        created = services.pulse_waves_create(now=now)
        again = services.pulse_waves_create(now=now + timedelta(minutes=15))

        assert again == []
        assert {(wave.survey_id, wave.name) for wave in created} == {
            (quarterly.survey.pk, f"Q{(today.month - 1) // 3 + 1} {today.year}"),
            (monthly.survey.pk, f"{today:%Y-%m}"),
        }
        wave = next(wave for wave in created if wave.survey_id == quarterly.survey.pk)
        assert (wave.opens_at, wave.closes_at) == (now, now + timedelta(days=14))
        assert Wave.objects.filter(survey=quarterly.survey).count() == 2  # the fixture's wave and this quarter's

    def test_a_run_for_a_past_moment_opens_that_periods_wave(self, django_capture_on_commit_callbacks):
        """Every date comes from `now`: a run pinned in 2024 opens Q1 2024 as it would have then."""
        quarterly = Questionnaire(recurrence=Recurrence.QUARTERLY, wave_length_days=21)
        when = datetime(2024, 2, 10, 9, 0, tzinfo=UTC)

        with django_capture_on_commit_callbacks() as callbacks:
            created = services.pulse_waves_create(now=when)

        assert [(wave.survey_id, wave.name, wave.opens_at, wave.closes_at) for wave in created] == [
            (quarterly.survey.pk, "Q1 2024", when, when + timedelta(days=21))
        ]
        assert len(callbacks) == 1  # opened at `now`: its invitations go out after commit

    def test_the_quarterly_wave_is_named_after_its_quarter(self):
        """A fixed date (in the future, so that wave_create accepts the close): Q4, then Q1 of the next year."""
        quarterly = Questionnaire(recurrence=Recurrence.QUARTERLY)
        when = datetime(2036, 11, 20, 8, 0, tzinfo=UTC)

        created = services.pulse_waves_create(now=when)

        assert [wave.name for wave in created] == ["Q4 2036"]
        assert services.pulse_waves_create(now=when + timedelta(days=20)) == []  # still Q4
        assert [wave.name for wave in services.pulse_waves_create(now=when + timedelta(days=45))] == ["Q1 2037"]
        assert list(Wave.objects.filter(survey=quarterly.survey).order_by("opens_at").values_list("name", flat=True))[-2:] == [
            "Q4 2036",
            "Q1 2037",
        ]


# --- reminders -----------------------------------------------------------------------------------


@pytest.fixture
def reminder_world(partner_a, admin_a):
    """An open wave (max 2 reminders, 7 days apart) and admin_a's invitation sent 8 days ago."""
    q = Questionnaire(max_reminders=2, reminder_interval_days=7)
    now = timezone.now()
    Wave.objects.filter(pk=q.wave.pk).update(opens_at=now - timedelta(days=8), closes_at=now + timedelta(days=30))
    q.wave.refresh_from_db()
    invitation = q.invite(admin_a, partner_a)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=now - timedelta(days=8))
    return q, Invitation.objects.get(pk=invitation.pk), now


class TestDueReminders:
    def test_due_once_the_interval_has_passed(self, reminder_world):
        q, invitation, now = reminder_world

        assert services.due_reminders(now=now) == [invitation.pk]
        assert services.due_reminders(now=invitation.sent_at + timedelta(days=7)) == [invitation.pk]
        assert services.due_reminders(now=invitation.sent_at + timedelta(days=6, hours=23)) == []

    def test_the_interval_counts_from_the_last_reminder(self, reminder_world):
        q, invitation, now = reminder_world
        assert services.reminder_mark_sent(invitation_id=invitation.pk, now=now)

        assert services.due_reminders(now=now + timedelta(days=6)) == []
        assert services.due_reminders(now=now + timedelta(days=7)) == [invitation.pk]

    def test_stops_at_the_limit(self, reminder_world):
        q, invitation, now = reminder_world
        sent = 0
        for day in range(0, 60, 7):
            when = now + timedelta(days=day)
            if when >= q.wave.closes_at:
                break
            for invitation_id in services.due_reminders(now=when):
                sent += services.reminder_mark_sent(invitation_id=invitation_id, now=when)

        assert sent == 2
        invitation.refresh_from_db()
        assert invitation.reminders_sent == 2
        assert services.due_reminders(now=now + timedelta(days=29)) == []

    def test_a_survey_without_reminders_never_reminds(self, reminder_world):
        q, invitation, now = reminder_world
        Survey.objects.filter(pk=q.survey.pk).update(max_reminders=0)

        assert services.due_reminders(now=now) == []

    def test_never_after_the_close(self, reminder_world):
        q, invitation, now = reminder_world

        assert services.due_reminders(now=q.wave.closes_at) == []
        assert services.due_reminders(now=q.wave.closes_at + timedelta(days=10)) == []
        assert not services.reminder_mark_sent(invitation_id=invitation.pk, now=q.wave.closes_at)

    def test_not_before_the_invitation_was_sent(self, reminder_world):
        q, invitation, now = reminder_world
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=None)

        assert services.due_reminders(now=now) == []

    def test_answered_invitations_are_not_reminded(self, reminder_world):
        q, invitation, now = reminder_world
        services.response_submit(invitation=invitation, data=q.answers())

        assert services.due_reminders(now=now) == []
        assert not services.reminder_mark_sent(invitation_id=invitation.pk, now=now)

    def test_a_colleague_answering_for_the_company_ends_the_reminders(self, partner_a, admin_a, user_a, admin_b, partner_b):
        q = Questionnaire(one_response_per_partner=True)
        now = timezone.now()
        Wave.objects.filter(pk=q.wave.pk).update(opens_at=now - timedelta(days=8))
        mine, colleagues, others = q.invite(admin_a, partner_a), q.invite(user_a, partner_a), q.invite(admin_b, partner_b)
        Invitation.objects.filter(wave=q.wave).update(sent_at=now - timedelta(days=8))
        services.response_submit(invitation=colleagues, data=q.answers())

        assert services.due_reminders(now=now) == [others.pk]
        assert mine.pk not in services.due_reminders(now=now)

    def test_a_colleague_answering_for_themselves_does_not(self, reminder_world, partner_a, user_a):
        q, invitation, now = reminder_world
        colleague = q.invite(user_a, partner_a)
        services.response_submit(invitation=colleague, data=q.answers())

        assert services.due_reminders(now=now) == [invitation.pk]


class TestReminderMarkSent:
    def test_counts_once_per_call_up_to_the_limit(self, reminder_world):
        q, invitation, now = reminder_world

        assert services.reminder_mark_sent(invitation_id=invitation.pk, now=now) is True
        invitation.refresh_from_db()
        assert (invitation.reminders_sent, invitation.last_reminded_at) == (1, now)
        assert services.reminder_mark_sent(invitation_id=invitation.pk, now=now + timedelta(days=7)) is True
        assert services.reminder_mark_sent(invitation_id=invitation.pk, now=now + timedelta(days=14)) is False
        invitation.refresh_from_db()
        assert (invitation.reminders_sent, invitation.last_reminded_at) == (2, now + timedelta(days=7))

    def test_a_concurrent_count_wins_once(self, reminder_world, monkeypatch):
        """Compare-and-set: when another worker counted the reminder between the read and the update, this one does not."""
        q, invitation, now = reminder_world
        stale = Invitation.objects.select_related("wave__survey").get(pk=invitation.pk)  # reads 0 reminders sent
        Invitation.objects.filter(pk=invitation.pk).update(reminders_sent=1, last_reminded_at=now)  # the other worker

        class StaleRead:
            def get(self, **kwargs):
                return stale

        monkeypatch.setattr(Invitation.objects, "select_related", lambda *fields: StaleRead())

        assert services.reminder_mark_sent(invitation_id=invitation.pk, now=now + timedelta(minutes=1)) is False
        monkeypatch.undo()
        invitation.refresh_from_db()
        assert (invitation.reminders_sent, invitation.last_reminded_at) == (1, now)


# --- ideas board ---------------------------------------------------------------------------------


@pytest.fixture
def idea(partner_a, user_a):
    return services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title=" Localised kits ", body=" In Dutch please. ")


def _to(mail):
    return [message.to for message in mail]


class TestIdeaPost:
    def test_stores_the_idea(self, idea, partner_a, user_a):
        assert (idea.partner, idea.author, idea.title, idea.body, idea.status) == (
            partner_a,
            user_a,
            "Localised kits",
            "In Dutch please.",
            IdeaStatus.NEW,
        )
        assert idea.first_answered_at is None

    def test_notifies_the_account_manager_first(self, partner_a, user_a, mailoutbox, django_capture_on_commit_callbacks):
        account_manager = ManagerFactory(email="am@vendor.test")
        ManagerFactory(email="other@vendor.test")
        partner_a.account_manager = account_manager
        partner_a.save()

        with django_capture_on_commit_callbacks(execute=True):
            idea = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.CONCERN, title="Late payouts", body="Three months.")

        assert _to(mailoutbox) == [["am@vendor.test"]]
        assert "Late payouts" in mailoutbox[0].subject + mailoutbox[0].body
        assert f"/{idea.pk}/" in mailoutbox[0].body

    def test_without_an_account_manager_every_manager_is_told(self, partner_a, user_a, mailoutbox, django_capture_on_commit_callbacks):
        ManagerFactory(email="one@vendor.test")
        ManagerFactory(email="two@vendor.test")
        ManagerFactory(email="gone@vendor.test", is_active=False)
        UserFactory(email="root@vendor.test", is_superuser=True, is_staff=True)
        staff_without_group = UserFactory(email="staff@vendor.test", is_staff=True)
        assert not staff_without_group.groups.filter(name=MANAGER_GROUP).exists()

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.QUESTION, title="Who?", body="Who do we call?")

        assert len(mailoutbox) == 1
        assert sorted(mailoutbox[0].to) == ["one@vendor.test", "root@vendor.test", "two@vendor.test"]

    def test_an_empty_title_is_refused(self, partner_a, user_a):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="  ", body="Body")

        assert "title" in _errors(excinfo)
        assert not Idea.objects.exists()

    @pytest.mark.parametrize(
        ("title", "body", "errors"),
        [
            ("t" * 201, "Body", {"title": ["Keep it to 200 characters at most (this text has 201)."]}),
            ("Title", "b" * 10_001, {"body": ["Keep it to 10000 characters at most (this text has 10001)."]}),
            (
                "Ti\x00tle",
                "Bo\x00dy",
                {
                    "title": ["The text contains characters that are not allowed."],
                    "body": ["The text contains characters that are not allowed."],
                },
            ),
            ("Title", " \n ", {"body": ["Describe your idea, concern or question."]}),
        ],
    )
    def test_limits_and_characters_are_checked(self, partner_a, user_a, title, body, errors):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title=title, body=body)

        assert _errors(excinfo) == errors
        assert not Idea.objects.exists()

    def test_the_longest_allowed_post_is_stored(self, partner_a, user_a):
        idea = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="t" * 200, body="b" * 10_000)
        assert (len(idea.title), len(idea.body)) == (200, 10_000)

    def test_an_unknown_kind_is_refused(self, partner_a, user_a):
        with pytest.raises(ValidationError):
            services.idea_post(partner=partner_a, author=user_a, kind="rant", title="T", body="B")


class TestIdeaSetStatus:
    def test_creates_an_event_and_notifies_the_author_once(
        self, idea, manager_user, user_a, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.idea_set_status(idea=idea, status=IdeaStatus.PLANNED, by=manager_user, note="Next release.")

        idea.refresh_from_db()
        assert idea.status == IdeaStatus.PLANNED
        assert idea.first_answered_at is not None
        event = IdeaEvent.objects.get(idea=idea)
        assert (event.kind, event.from_status, event.to_status, event.author, event.body, event.partner_id) == (
            IdeaEvent.Kind.STATUS,
            IdeaStatus.NEW,
            IdeaStatus.PLANNED,
            manager_user,
            "Next release.",
            idea.partner_id,
        )
        assert _to(mailoutbox) == [[user_a.email]]
        assert f"/portal/ideas/{idea.pk}/" in mailoutbox[0].body

    def test_keeps_the_first_answer_time(self, idea, manager_user):
        services.idea_set_status(idea=idea, status=IdeaStatus.UNDER_REVIEW, by=manager_user)
        first = Idea.objects.get(pk=idea.pk).first_answered_at

        services.idea_set_status(idea=idea, status=IdeaStatus.DONE, by=manager_user)

        idea.refresh_from_db()
        assert idea.first_answered_at == first
        assert list(IdeaEvent.objects.filter(idea=idea).values_list("from_status", "to_status")) == [
            (IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW),
            (IdeaStatus.UNDER_REVIEW, IdeaStatus.DONE),
        ]

    def test_refuses_the_same_status(self, idea, manager_user, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as excinfo:
            services.idea_set_status(idea=idea, status=IdeaStatus.NEW, by=manager_user)

        assert _errors(excinfo) == {"status": ["The idea already has this status."]}
        assert not IdeaEvent.objects.exists()
        assert mailoutbox == []

    def test_refuses_a_note_with_nul_characters(self, idea, manager_user):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_set_status(idea=idea, status=IdeaStatus.PLANNED, by=manager_user, note="a\x00b")

        assert _errors(excinfo) == {"note": ["The text contains characters that are not allowed."]}
        assert Idea.objects.get(pk=idea.pk).status == IdeaStatus.NEW

    def test_refuses_an_unknown_status(self, idea, manager_user):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_set_status(idea=idea, status="shelved", by=manager_user)

        assert _errors(excinfo) == {"status": ["Unknown status."]}
        assert Idea.objects.get(pk=idea.pk).status == IdeaStatus.NEW

    def test_propagates_to_merged_duplicates_and_tells_each_author(
        self, idea, manager_user, partner_b, admin_b, user_a, mailoutbox, django_capture_on_commit_callbacks
    ):
        duplicate = services.idea_post(partner=partner_b, author=admin_b, kind=IdeaKind.IDEA, title="Dutch kits", body="Same.")
        services.idea_merge(idea=duplicate, into=idea, by=manager_user)

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_set_status(idea=idea, status=IdeaStatus.PLANNED, by=manager_user)

        duplicate.refresh_from_db()
        assert duplicate.status == IdeaStatus.PLANNED
        assert IdeaEvent.objects.filter(idea=duplicate, kind=IdeaEvent.Kind.STATUS, to_status=IdeaStatus.PLANNED).count() == 1
        assert IdeaEvent.objects.get(idea=duplicate, kind=IdeaEvent.Kind.STATUS).partner_id == partner_b.pk
        assert sorted(_to(mailoutbox)) == sorted([[user_a.email], [admin_b.email]])

    def test_a_merged_idea_follows_and_cannot_be_changed_itself(self, idea, manager_user, partner_b, admin_b):
        duplicate = services.idea_post(partner=partner_b, author=admin_b, kind=IdeaKind.IDEA, title="Dutch kits", body="Same.")
        services.idea_merge(idea=duplicate, into=idea, by=manager_user)

        with pytest.raises(ValidationError, match="merged"):
            services.idea_set_status(idea=duplicate, status=IdeaStatus.DONE, by=manager_user)

    def test_an_inactive_author_is_not_mailed(self, idea, manager_user, user_a, mailoutbox, django_capture_on_commit_callbacks):
        user_a.is_active = False
        user_a.save()

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_set_status(idea=idea, status=IdeaStatus.DECLINED, by=manager_user)

        assert mailoutbox == []
        assert Idea.objects.get(pk=idea.pk).status == IdeaStatus.DECLINED


class TestIdeaReply:
    def test_a_manager_reply_answers_the_idea_and_notifies(
        self, idea, manager_user, user_a, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            event = services.idea_reply(idea=idea, by=manager_user, body="  We are on it.  ")

        assert (event.kind, event.body, event.author, event.partner_id) == (
            IdeaEvent.Kind.REPLY,
            "We are on it.",
            manager_user,
            idea.partner_id,
        )
        idea.refresh_from_db()
        assert idea.first_answered_at == event.created_at
        assert idea.status == IdeaStatus.NEW
        assert _to(mailoutbox) == [[user_a.email]]

    def test_a_partner_comment_is_no_answer_and_tells_the_account_manager(
        self, idea, admin_a, partner_a, mailoutbox, django_capture_on_commit_callbacks
    ):
        partner_a.account_manager = ManagerFactory(email="am@vendor.test")
        partner_a.save()
        ManagerFactory(email="other@vendor.test")

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_reply(idea=idea, by=admin_a, body="Any news?")

        assert Idea.objects.get(pk=idea.pk).first_answered_at is None
        assert _to(mailoutbox) == [["am@vendor.test"]]  # the channel team, not the idea's author
        assert "Alpha Resellers B.V." in mailoutbox[0].subject
        assert "Any news?" in mailoutbox[0].body
        assert f"/surveys/ideas/{idea.pk}/" in mailoutbox[0].body

    def test_a_partner_comment_after_the_teams_reply_keeps_the_first_answer_time(self, idea, admin_a, manager_user):
        reply = services.idea_reply(idea=idea, by=manager_user, body="On it.")
        services.idea_reply(idea=idea, by=admin_a, body="Thanks!")

        assert Idea.objects.get(pk=idea.pk).first_answered_at == reply.created_at

    def test_without_an_account_manager_every_manager_hears_of_a_comment(
        self, idea, admin_a, mailoutbox, django_capture_on_commit_callbacks
    ):
        ManagerFactory(email="one@vendor.test")
        ManagerFactory(email="two@vendor.test")

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_reply(idea=idea, by=admin_a, body="Any news?")

        assert [sorted(to) for to in _to(mailoutbox)] == [["one@vendor.test", "two@vendor.test"]]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("x" * 5001, "Keep it to 5000 characters at most (this text has 5001)."),
            ("Nul\x00byte", "The text contains characters that are not allowed."),
        ],
    )
    def test_a_too_long_or_nul_reply_is_refused(self, idea, manager_user, body, message):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_reply(idea=idea, by=manager_user, body=body)

        assert _errors(excinfo) == {"body": [message]}
        assert not IdeaEvent.objects.exists()

    def test_a_reply_of_exactly_5000_characters_is_kept(self, idea, manager_user):
        assert len(services.idea_reply(idea=idea, by=manager_user, body="x" * 5000).body) == 5000

    def test_an_empty_reply_is_refused(self, idea, manager_user):
        with pytest.raises(ValidationError) as excinfo:
            services.idea_reply(idea=idea, by=manager_user, body="   ")

        assert _errors(excinfo) == {"body": ["Write a reply."]}
        assert not IdeaEvent.objects.exists()


class TestIdeaMerge:
    @pytest.fixture
    def pair(self, idea, manager_user, partner_b, admin_b):
        services.idea_set_status(idea=idea, status=IdeaStatus.UNDER_REVIEW, by=manager_user)
        duplicate = services.idea_post(partner=partner_b, author=admin_b, kind=IdeaKind.IDEA, title="Dutch kits", body="Same.")
        return Idea.objects.get(pk=idea.pk), duplicate

    def test_the_duplicate_takes_the_status_and_records_the_merge(
        self, pair, manager_user, admin_b, mailoutbox, django_capture_on_commit_callbacks
    ):
        original, duplicate = pair

        with django_capture_on_commit_callbacks(execute=True):
            services.idea_merge(idea=duplicate, into=original, by=manager_user)

        duplicate.refresh_from_db()
        assert (duplicate.merged_into, duplicate.status) == (original, IdeaStatus.UNDER_REVIEW)
        assert duplicate.first_answered_at is not None
        event = IdeaEvent.objects.get(idea=duplicate)
        assert (event.kind, event.from_status, event.to_status) == (IdeaEvent.Kind.MERGED, IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW)
        assert _to(mailoutbox) == [[admin_b.email]]

    def test_not_into_itself(self, pair, manager_user):
        original, _duplicate = pair

        with pytest.raises(ValidationError) as excinfo:
            services.idea_merge(idea=original, into=original, by=manager_user)

        assert "into" in _errors(excinfo)

    def test_not_into_an_idea_that_was_merged_itself(self, pair, manager_user, partner_a, user_a):
        original, duplicate = pair
        services.idea_merge(idea=duplicate, into=original, by=manager_user)
        third = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="Kits in German", body="Also.")

        with pytest.raises(ValidationError) as excinfo:
            services.idea_merge(idea=third, into=Idea.objects.get(pk=duplicate.pk), by=manager_user)

        assert "into" in _errors(excinfo)
        assert Idea.objects.get(pk=third.pk).merged_into is None

    def test_the_duplicates_of_a_merged_idea_move_along(self, pair, manager_user, partner_a, user_a):
        original, duplicate = pair
        target = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="Translations", body="All of them.")
        services.idea_set_status(idea=target, status=IdeaStatus.PLANNED, by=manager_user)
        services.idea_merge(idea=duplicate, into=original, by=manager_user)

        services.idea_merge(idea=original, into=Idea.objects.get(pk=target.pk), by=manager_user)

        assert Idea.objects.get(pk=duplicate.pk).merged_into_id == target.pk
        assert set(Idea.objects.filter(merged_into=target).values_list("status", flat=True)) == {IdeaStatus.PLANNED}
        assert set(Idea.objects.filter(merged_into=target).values_list("pk", flat=True)) == {original.pk, duplicate.pk}


# --- the demo seed (a CLI over the services above) -------------------------------------------------


class TestSeedSurveys:
    @pytest.fixture
    def demo_partners(self, manager_user):
        partners = [
            PartnerFactory(tier=TierFactory(name=name, rank=rank), account_manager=manager_user)
            for name, rank in (("Gold", 3), ("Silver", 2))
        ]
        partners.append(PartnerFactory())
        for partner in partners:
            MembershipFactory(partner=partner)
            MembershipFactory(partner=partner)
        return partners

    def _run(self):
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("seed_surveys", stdout=out)
        return out.getvalue()

    def test_creates_the_survey_waves_answers_and_ideas_once(self, demo_partners):
        first = self._run()

        survey = Survey.objects.get(title_en="Partner satisfaction (NPS)")
        assert (survey.title_nl, survey.title_de) == ("Partnertevredenheid (NPS)", "Partnerzufriedenheit (NPS)")
        assert survey.recurrence == Recurrence.QUARTERLY
        kinds = list(survey.questions.values_list("kind", flat=True))
        assert kinds == [
            QuestionKind.NPS,
            QuestionKind.RATING,
            QuestionKind.RATING,
            QuestionKind.SINGLE,
            QuestionKind.MULTIPLE,
            QuestionKind.TEXT,
        ]
        assert survey.questions.get(kind=QuestionKind.TEXT).text_en == "What should we improve?"
        assert all(q.text_nl and q.text_de for q in survey.questions.all())
        assert all(c.text_nl and c.text_de for c in Choice.objects.filter(question__survey=survey))
        waves = list(survey.waves.order_by("opens_at"))
        assert [wave.state for wave in waves] == ["closed", "closed", "open"]
        today = timezone.localdate()
        assert waves[-1].name == services.period_name(Recurrence.QUARTERLY, services.period_start(Recurrence.QUARTERLY, today))
        for wave in waves:
            assert Invitation.objects.filter(wave=wave).count() == 6  # every membership, nobody else
            assert Response.objects.filter(wave=wave).exists()
        assert not Invitation.objects.exclude(user__membership__partner=models.F("partner")).exists()
        assert Answer.objects.filter(question__kind=QuestionKind.TEXT).exclude(text="").exists()
        ideas = Idea.objects.all()
        assert ideas.count() == 12
        assert set(ideas.values_list("status", flat=True)) == set(IdeaStatus.values)
        assert ideas.filter(merged_into__isnull=False).count() == 1
        assert IdeaEvent.objects.filter(kind=IdeaEvent.Kind.REPLY).exists()
        assert IdeaEvent.objects.filter(kind=IdeaEvent.Kind.STATUS).count() >= 10
        assert all(idea.author.membership.partner_id == idea.partner_id for idea in ideas.select_related("author__membership"))
        assert "Created 1 surveys, 6 questions, 3 waves, 18 invitations" in first

        counts = (
            Survey.objects.count(),
            Wave.objects.count(),
            Invitation.objects.count(),
            Response.objects.count(),
            IdeaEvent.objects.count(),
        )
        second = self._run()

        assert (
            Survey.objects.count(),
            Wave.objects.count(),
            Invitation.objects.count(),
            Response.objects.count(),
            IdeaEvent.objects.count(),
        ) == counts
        assert "Created 0 surveys, 0 questions, 0 waves, 0 invitations, 0 responses, 0 ideas, 0 idea events." in second

    def test_needs_the_demo_partners(self):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="seed_demo"):
            self._run()
