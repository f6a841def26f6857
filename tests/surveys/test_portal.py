"""The partner side of the feedback loop in the portal: answering surveys and the ideas board.

Personas (tests/conftest.py): `admin_a` is partner A's partner admin, `user_a` a plain user of A,
`admin_b` the admin of partner B, who must never see A's invitations or ideas.
"""

from datetime import timedelta

import factory
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

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
    Response,
    Survey,
    Wave,
)
from tests.partners.factories import ManagerFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSING_PK = 2_147_483_000


# --- factories (local: only what these tests need) ------------------------------------------------


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Partner satisfaction {n}")
    intro = "Tell us how we are doing."


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    kind = QuestionKind.NPS
    text = factory.Sequence(lambda n: f"Question {n}?")
    position = factory.Sequence(lambda n: n)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory, kind=QuestionKind.SINGLE)
    text = factory.Sequence(lambda n: f"Option {n}")
    position = factory.Sequence(lambda n: n)


class WaveFactory(factory.django.DjangoModelFactory):
    """An open wave: opened yesterday, closes in a week."""

    class Meta:
        model = Wave

    survey = factory.SubFactory(SurveyFactory)
    name = factory.Sequence(lambda n: f"Wave {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    invitations_sent_at = factory.SelfAttribute("opens_at")


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    wave = factory.SubFactory(WaveFactory)
    partner = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    sent_at = factory.LazyFunction(timezone.now)


class IdeaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Idea

    partner = factory.SubFactory(PartnerFactory)
    author = factory.SubFactory(UserFactory)
    kind = IdeaKind.IDEA
    title = factory.Sequence(lambda n: f"Idea number {n}")
    body = "It would help us a lot."


# --- helpers and fixtures ------------------------------------------------------------------------


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def answer_url(invitation):
    return reverse("portal:survey_answer", args=[invitation.pk])


def idea_url(idea):
    return reverse("portal:idea_detail", args=[idea.pk])


class Questionnaire:
    """A survey with one question of every kind, and an open wave."""

    def __init__(self, **survey_fields):
        self.survey = SurveyFactory(title="Partner satisfaction Q3", intro="Five minutes, promised.", **survey_fields)
        self.nps = QuestionFactory(survey=self.survey, kind=QuestionKind.NPS, text="Would you recommend us?", position=1)
        self.rating = QuestionFactory(
            survey=self.survey, kind=QuestionKind.RATING, text="How is the portal?", position=2, is_required=False
        )
        self.single = QuestionFactory(survey=self.survey, kind=QuestionKind.SINGLE, text="Main product line?", position=3)
        self.single_a = ChoiceFactory(question=self.single, text="Routers")
        self.single_b = ChoiceFactory(question=self.single, text="Switches")
        self.multiple = QuestionFactory(
            survey=self.survey, kind=QuestionKind.MULTIPLE, text="Which programmes?", position=4, is_required=False
        )
        self.multi_a = ChoiceFactory(question=self.multiple, text="Rebates")
        self.multi_b = ChoiceFactory(question=self.multiple, text="Training")
        self.text = QuestionFactory(survey=self.survey, kind=QuestionKind.TEXT, text="Anything else?", position=5, is_required=False)
        self.wave = WaveFactory(survey=self.survey, name="Q3 2026")

    def invite(self, user, partner):
        return InvitationFactory(wave=self.wave, partner=partner, user=user)

    def complete_answers(self, **overrides):
        data = {
            f"q{self.nps.pk}": "9",
            f"q{self.rating.pk}": "4",
            f"q{self.single.pk}": str(self.single_b.pk),
            f"q{self.multiple.pk}": [str(self.multi_a.pk), str(self.multi_b.pk)],
            f"q{self.text.pk}": "Keep the rebates simple.",
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def questionnaire():
    return Questionnaire()


@pytest.fixture
def invitation_a(questionnaire, admin_a, partner_a):
    """Partner A's admin is invited to the open wave."""
    return questionnaire.invite(admin_a, partner_a)


def rows_by_question(response):
    return {row["question"].pk: row for row in response.context["rows"]}


# --- the survey list -----------------------------------------------------------------------------


class TestSurveyList:
    def test_empty_state(self, client_a):
        response = client_a.get(reverse("portal:surveys"))

        assert response.status_code == 200
        assert 'id="surveys-empty"' in response.content.decode()

    def test_open_surveys_first_with_answer_button_then_answered_and_closed(self, client_a, admin_a, partner_a, invitation_a):
        closed = Questionnaire()
        closed.survey.title = "Last year's survey"
        closed.survey.save()
        closed.wave.opens_at = timezone.now() - timedelta(days=60)
        closed.wave.closes_at = timezone.now() - timedelta(days=30)
        closed.wave.save()
        closed_invitation = closed.invite(admin_a, partner_a)
        answered = Questionnaire()
        answered.survey.title = "Onboarding survey"
        answered.survey.save()
        answered_invitation = answered.invite(admin_a, partner_a)
        Invitation.objects.filter(pk=answered_invitation.pk).update(responded_at=timezone.now())

        response = client_a.get(reverse("portal:surveys"))

        assert response.status_code == 200
        assert [i.pk for i in response.context["current"]] == [invitation_a.pk]
        assert {i.pk for i in response.context["past"]} == {closed_invitation.pk, answered_invitation.pk}
        html = response.content.decode()
        assert html.index("Partner satisfaction Q3") < html.index("Onboarding survey")
        assert html.index("Partner satisfaction Q3") < html.index("Last year&#x27;s survey")
        assert f'href="{answer_url(invitation_a)}">Answer</a>' in html
        assert "open until" in html
        assert "answered on" in html
        assert "closed" in html

    def test_a_saved_draft_offers_to_continue(self, client_a, invitation_a, questionnaire):
        Invitation.objects.filter(pk=invitation_a.pk).update(draft={str(questionnaire.nps.pk): "8"})

        html = client_a.get(reverse("portal:surveys")).content.decode()

        assert f'href="{answer_url(invitation_a)}">Continue</a>' in html

    def test_per_company_survey_answered_by_a_colleague(self, admin_a, user_a, partner_a):
        per_company = Questionnaire(one_response_per_partner=True)
        admins_invitation = per_company.invite(admin_a, partner_a)
        colleague_invitation = per_company.invite(user_a, partner_a)
        answered = logged_in(admin_a).post(answer_url(admins_invitation), {"action": "submit", **per_company.complete_answers()})
        assert answered.status_code == 302

        response = logged_in(user_a).get(reverse("portal:surveys"))

        assert response.context["current"] == []
        assert [i.pk for i in response.context["past"]] == [colleague_invitation.pk]
        assert "answered by your company" in response.content.decode()

    def test_lists_only_the_users_own_invitations(self, admin_a, user_a, partner_a, admin_b, partner_b, questionnaire):
        mine = questionnaire.invite(user_a, partner_a)
        colleagues = questionnaire.invite(admin_a, partner_a)
        other_partners = questionnaire.invite(admin_b, partner_b)

        response = logged_in(user_a).get(reverse("portal:surveys"))

        assert [i.pk for i in response.context["current"]] == [mine.pk]
        html = response.content.decode()
        assert answer_url(colleagues) not in html
        assert answer_url(other_partners) not in html

    def test_query_count_does_not_grow_with_invitations(self, client_a, admin_a, partner_a):
        Questionnaire().invite(admin_a, partner_a)
        with CaptureQueriesContext(connection) as one:
            assert client_a.get(reverse("portal:surveys")).status_code == 200
        for _ in range(4):
            Questionnaire().invite(admin_a, partner_a)
        with CaptureQueriesContext(connection) as five:
            response = client_a.get(reverse("portal:surveys"))
        assert len(response.context["current"]) == 5
        assert len(five) == len(one)


# --- answering -----------------------------------------------------------------------------------


class TestAnswerPage:
    def test_shows_survey_intro_anonymity_note_and_every_question(self, client_a, invitation_a, questionnaire):
        response = client_a.get(answer_url(invitation_a))

        assert response.status_code == 200
        html = response.content.decode()
        assert "Partner satisfaction Q3" in html
        assert "Five minutes, promised." in html
        assert "recorded with your name" in html
        for question in (questionnaire.nps, questionnaire.rating, questionnaire.single, questionnaire.multiple, questionnaire.text):
            assert question.text.replace("?", "") in html
            assert f'name="q{question.pk}"' in html
        assert "Save and continue later" in html
        assert "Send answers" in html

    def test_anonymous_and_per_company_notes(self, admin_a, partner_a):
        anonymous = Questionnaire(is_anonymous=True, one_response_per_partner=True)
        invitation = anonymous.invite(admin_a, partner_a)

        html = logged_in(admin_a).get(answer_url(invitation)).content.decode()

        assert "This survey is anonymous" in html
        assert "One answer per company" in html

    def test_title_and_intro_in_the_active_language(self, client_a, invitation_a, questionnaire):
        survey = questionnaire.survey
        survey.title_nl = "Partnertevredenheid Q3"
        survey.intro_nl = "Vijf minuten, beloofd."
        survey.save()
        client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"

        html = client_a.get(answer_url(invitation_a)).content.decode()

        assert "Partnertevredenheid Q3" in html
        assert "Vijf minuten, beloofd." in html

    def test_draft_is_saved_and_prefilled(self, client_a, invitation_a, questionnaire):
        q = questionnaire
        data = {"action": "save", f"q{q.nps.pk}": "7", f"q{q.multiple.pk}": [str(q.multi_b.pk)], f"q{q.text.pk}": "Half done"}

        response = client_a.post(answer_url(invitation_a), data)

        assert response.status_code == 302
        assert "Your answers are saved" in " ".join(_messages(response))
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {str(q.nps.pk): "7", str(q.multiple.pk): [str(q.multi_b.pk)], str(q.text.pk): "Half done"}
        assert invitation_a.responded_at is None
        assert not Response.objects.exists()

        page = client_a.get(answer_url(invitation_a))
        rows = rows_by_question(page)
        assert rows[q.nps.pk]["value"] == "7"
        assert rows[q.multiple.pk]["value"] == [str(q.multi_b.pk)]
        assert rows[q.text.pk]["value"] == "Half done"
        assert rows[q.single.pk]["value"] is None
        assert "Half done" in page.content.decode()

    def test_draft_save_still_checks_ranges_and_choices(self, client_a, invitation_a, questionnaire):
        q = questionnaire
        Invitation.objects.filter(pk=invitation_a.pk).update(draft={str(q.nps.pk): "8"})

        response = client_a.post(answer_url(invitation_a), {"action": "save", f"q{q.nps.pk}": "11", f"q{q.single.pk}": str(q.multi_a.pk)})

        assert response.status_code == 400
        rows = rows_by_question(response)
        assert rows[q.nps.pk]["errors"]
        assert rows[q.single.pk]["errors"]
        assert rows[q.nps.pk]["value"] == "11"  # what was typed is shown back
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {str(q.nps.pk): "8"}

    def test_save_with_htmx_swaps_the_form_only(self, client_a, invitation_a, questionnaire):
        response = client_a.post(answer_url(invitation_a), {"action": "save", f"q{questionnaire.nps.pk}": "10"}, HTTP_HX_REQUEST="true")

        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith("<form")
        assert "<html" not in html
        assert 'id="survey-notice"' in html
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {str(questionnaire.nps.pk): "10"}

    def test_htmx_save_with_an_error_answers_400_with_the_form(self, client_a, invitation_a, questionnaire):
        response = client_a.post(answer_url(invitation_a), {"action": "save", f"q{questionnaire.nps.pk}": "eleven"}, HTTP_HX_REQUEST="true")

        assert response.status_code == 400
        assert 'id="survey-errors"' in response.content.decode()
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {}

    def test_submit_end_to_end(self, client_a, admin_a, partner_a, invitation_a, questionnaire):
        q = questionnaire
        client_a.post(answer_url(invitation_a), {"action": "save", f"q{q.nps.pk}": "3"})

        response = client_a.post(answer_url(invitation_a), {"action": "submit", **q.complete_answers()})

        assert response.status_code == 302
        assert response.url == answer_url(invitation_a)
        saved = Response.objects.get()
        assert (saved.wave, saved.partner, saved.user) == (q.wave, partner_a, admin_a)
        answers = {answer.question_id: answer for answer in Answer.objects.filter(response=saved)}
        assert answers[q.nps.pk].number == 9
        assert answers[q.rating.pk].number == 4
        assert list(answers[q.single.pk].choices.all()) == [q.single_b]
        assert set(answers[q.multiple.pk].choices.all()) == {q.multi_a, q.multi_b}
        assert answers[q.text.pk].text == "Keep the rebates simple."
        invitation_a.refresh_from_db()
        assert invitation_a.responded_at is not None
        assert invitation_a.draft == {}

        page = client_a.get(response.url)
        html = page.content.decode()
        assert "Thank you! Your answers have been sent." in html
        assert 'id="survey-done"' in html
        assert "Send answers" not in html

    def test_optional_questions_may_stay_empty(self, client_a, invitation_a, questionnaire):
        q = questionnaire
        data = q.complete_answers(**{f"q{q.rating.pk}": "", f"q{q.multiple.pk}": None, f"q{q.text.pk}": ""})

        response = client_a.post(answer_url(invitation_a), {"action": "submit", **data})

        assert response.status_code == 302
        assert set(Answer.objects.values_list("question_id", flat=True)) == {q.nps.pk, q.single.pk}

    @pytest.mark.parametrize(
        ("case", "expected"),
        [
            ("nps_out_of_range", "Choose a score from 0 to 10."),
            ("nps_not_a_number", "Choose a score."),
            ("nps_huge_number", "Choose a score"),
            ("foreign_choice", "Choose one of the options shown."),
            ("choice_not_a_number", "Choose one of the options shown."),
            ("missing_required", "This question needs an answer."),
            ("blank_required_text", "This question needs an answer."),
            ("text_too_long", "The answer is too long"),
            ("nul_character", "characters that are not allowed"),
        ],
    )
    def test_invalid_answers_are_shown_next_to_the_question_and_nothing_is_saved(
        self, client_a, invitation_a, questionnaire, case, expected
    ):
        q = questionnaire
        other_survey_choice = ChoiceFactory(text="Somebody else's option")
        field, value = {
            "nps_out_of_range": (q.nps, "11"),
            "nps_not_a_number": (q.nps, "ten"),
            "nps_huge_number": (q.nps, "9" * 5000),
            "foreign_choice": (q.single, str(other_survey_choice.pk)),
            "choice_not_a_number": (q.multiple, ["1x"]),
            "missing_required": (q.single, ""),
            "blank_required_text": (q.text, "   "),
            "text_too_long": (q.text, "x" * 5001),
            "nul_character": (q.text, "null\x00byte"),
        }[case]
        if case == "blank_required_text":
            Question.objects.filter(pk=q.text.pk).update(is_required=True)

        response = client_a.post(answer_url(invitation_a), {"action": "submit", **q.complete_answers(**{f"q{field.pk}": value})})

        assert response.status_code == 400
        errors = rows_by_question(response)[field.pk]["errors"]
        assert any(expected in str(error) for error in errors), errors
        html = response.content.decode()
        assert expected.replace("'", "&#x27;") in html
        assert 'id="survey-errors"' in html
        assert not Response.objects.exists()
        assert not Answer.objects.exists()
        invitation_a.refresh_from_db()
        assert invitation_a.responded_at is None
        assert invitation_a.draft == {}

    def test_a_choice_of_another_question_of_the_same_survey_is_refused(self, client_a, invitation_a, questionnaire):
        q = questionnaire
        response = client_a.post(
            answer_url(invitation_a), {"action": "submit", **q.complete_answers(**{f"q{q.single.pk}": str(q.multi_a.pk)})}
        )

        assert response.status_code == 400
        assert rows_by_question(response)[q.single.pk]["errors"]
        assert not Response.objects.exists()

    def test_unknown_question_ids_are_refused_on_top(self, client_a, invitation_a, questionnaire):
        foreign_question = QuestionFactory(text="Not in this survey")
        data = {"action": "submit", **questionnaire.complete_answers(), f"q{foreign_question.pk}": "5", "q99999999999999999": "1"}

        response = client_a.post(answer_url(invitation_a), data)

        assert response.status_code == 400
        assert response.context["form_errors"] == ["The answers refer to questions that are not in this survey."]
        assert "The answers refer to questions that are not in this survey." in response.content.decode()
        assert not Response.objects.exists()

    def test_unrelated_and_malformed_fields_are_ignored(self, client_a, invitation_a, questionnaire):
        data = {"action": "submit", **questionnaire.complete_answers(), "qabc": "1", "partner": "999", "user": "1"}

        assert client_a.post(answer_url(invitation_a), data).status_code == 302
        assert Response.objects.get().user_id == invitation_a.user_id

    def test_answer_after_the_close_is_refused(self, client_a, invitation_a, questionnaire):
        q = questionnaire
        Invitation.objects.filter(pk=invitation_a.pk).update(draft={str(q.nps.pk): "6"})
        Wave.objects.filter(pk=q.wave.pk).update(
            opens_at=timezone.now() - timedelta(days=30), closes_at=timezone.now() - timedelta(minutes=1)
        )

        page = client_a.get(answer_url(invitation_a))
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="survey-closed"' in html
        assert "Send answers" not in html
        assert rows_by_question(page)[q.nps.pk]["value"] == "6"  # shown read-only

        for action in ("submit", "save"):
            response = client_a.post(answer_url(invitation_a), {"action": action, **q.complete_answers()})
            assert response.status_code == 400
            assert "This survey is closed" in response.content.decode()
        assert not Response.objects.exists()
        invitation_a.refresh_from_db()
        assert invitation_a.responded_at is None
        assert invitation_a.draft == {str(q.nps.pk): "6"}

    def test_htmx_save_on_a_stale_page_reloads_it(self, client_a, invitation_a, questionnaire):
        Wave.objects.filter(pk=questionnaire.wave.pk).update(closes_at=timezone.now() - timedelta(minutes=1))

        response = client_a.post(answer_url(invitation_a), {"action": "save", f"q{questionnaire.nps.pk}": "5"}, HTTP_HX_REQUEST="true")

        assert response.headers["HX-Refresh"] == "true"
        assert "This survey is closed; answers can no longer be changed or sent." in _messages(response)
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {}

    def test_double_submission_is_refused(self, client_a, invitation_a, questionnaire):
        data = {"action": "submit", **questionnaire.complete_answers()}
        assert client_a.post(answer_url(invitation_a), data).status_code == 302

        again = client_a.post(answer_url(invitation_a), {**data, f"q{questionnaire.nps.pk}": "0"})

        assert again.status_code == 400
        assert "You have already answered this survey" in again.content.decode()
        assert Response.objects.count() == 1
        assert Answer.objects.get(question=questionnaire.nps).number == 9
        # Saving a draft after answering is refused too.
        assert client_a.post(answer_url(invitation_a), {**data, "action": "save"}).status_code == 400
        invitation_a.refresh_from_db()
        assert invitation_a.draft == {}

    def test_the_service_refusal_is_shown_when_a_race_was_lost(self, client_a, invitation_a, questionnaire, monkeypatch):
        """The page said "open", but the service (which locks the invitation) finds it answered meanwhile."""
        from django.core.exceptions import ValidationError

        from surveys import services

        def answered_meanwhile(**kwargs):
            raise ValidationError("You have already answered this survey.")

        monkeypatch.setattr(services, "response_submit", answered_meanwhile)

        response = client_a.post(answer_url(invitation_a), {"action": "submit", **questionnaire.complete_answers()})

        assert response.status_code == 400
        assert response.context["form_errors"] == ["You have already answered this survey."]

    def test_per_company_a_colleague_cannot_answer_again(self, admin_a, user_a, partner_a):
        per_company = Questionnaire(one_response_per_partner=True)
        first = per_company.invite(admin_a, partner_a)
        second = per_company.invite(user_a, partner_a)
        assert logged_in(admin_a).post(answer_url(first), {"action": "submit", **per_company.complete_answers()}).status_code == 302
        colleague = logged_in(user_a)

        page = colleague.get(answer_url(second))
        assert page.status_code == 200
        html = page.content.decode()
        assert "answered by your company" in html
        assert "Send answers" not in html

        refused = colleague.post(answer_url(second), {"action": "submit", **per_company.complete_answers()})
        assert refused.status_code == 400
        assert "A colleague has already answered this survey for your company." in refused.content.decode()
        assert Response.objects.count() == 1
        assert colleague.post(answer_url(second), {"action": "save", **per_company.complete_answers()}).status_code == 400
        second.refresh_from_db()
        assert second.responded_at is None
        assert second.draft == {}

    def test_anonymous_survey_records_no_user(self, client_a, admin_a, partner_a):
        anonymous = Questionnaire(is_anonymous=True)
        invitation = anonymous.invite(admin_a, partner_a)

        assert client_a.post(answer_url(invitation), {"action": "submit", **anonymous.complete_answers()}).status_code == 302

        response = Response.objects.get()
        assert response.user is None
        assert response.partner == partner_a
        assert response.respondent_key.startswith("anon:")
        invitation.refresh_from_db()
        assert invitation.responded_at is not None
        assert "Thank you" in client_a.get(answer_url(invitation)).content.decode()


# --- scoping -------------------------------------------------------------------------------------


class TestSurveyScoping:
    def test_another_partners_user_gets_404_on_the_invitation(self, invitation_a, admin_b, questionnaire):
        client_b = logged_in(admin_b)
        data = {"action": "submit", **questionnaire.complete_answers()}

        assert client_b.get(answer_url(invitation_a)).status_code == 404
        assert client_b.post(answer_url(invitation_a), data).status_code == 404
        assert client_b.post(answer_url(invitation_a), {**data, "action": "save"}).status_code == 404
        assert not Response.objects.exists()
        invitation_a.refresh_from_db()
        assert (invitation_a.responded_at, invitation_a.draft) == (None, {})

    def test_another_partners_user_gets_404_even_when_invited_to_the_same_wave(self, invitation_a, admin_b, partner_b, questionnaire):
        own = questionnaire.invite(admin_b, partner_b)
        client_b = logged_in(admin_b)

        assert client_b.get(answer_url(own)).status_code == 200
        assert client_b.get(answer_url(invitation_a)).status_code == 404

    def test_a_colleague_cannot_open_the_admins_invitation(self, invitation_a, user_a, partner_a, questionnaire):
        own = questionnaire.invite(user_a, partner_a)
        client = logged_in(user_a)

        assert client.get(answer_url(own)).status_code == 200
        assert client.get(answer_url(invitation_a)).status_code == 404
        assert client.post(answer_url(invitation_a), {"action": "submit", **questionnaire.complete_answers()}).status_code == 404
        assert not Response.objects.exists()

    def test_missing_invitation_is_404(self, client_a):
        assert client_a.get(reverse("portal:survey_answer", args=[MISSING_PK])).status_code == 404
        assert client_a.get("/portal/surveys/99999999999999999999999/").status_code == 404

    def test_signed_out_is_sent_to_login_and_managers_to_their_start_page(self, client, invitation_a):
        response = client.get(answer_url(invitation_a))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        manager = logged_in(ManagerFactory())
        assert manager.get(reverse("portal:surveys")).status_code == 302


# --- ideas board ---------------------------------------------------------------------------------


class TestIdeaList:
    def test_lists_the_companys_ideas_with_status_kind_and_update(self, client_a, partner_a, user_a, partner_b):
        IdeaFactory(partner=partner_a, author=user_a, title="Colleague's concern", kind=IdeaKind.CONCERN, status=IdeaStatus.PLANNED)
        IdeaFactory(partner=partner_b, title="Beta's secret plan")

        response = client_a.get(reverse("portal:ideas"))

        assert response.status_code == 200
        html = response.content.decode()
        assert "Colleague&#x27;s concern" in html
        assert "Concern" in html
        assert 'data-status="planned"' in html
        assert "last update" in html
        assert "Beta&#x27;s secret plan" not in html

    def test_empty_state(self, client_a):
        assert 'id="ideas-empty"' in client_a.get(reverse("portal:ideas")).content.decode()

    def test_filter_by_status(self, client_a, partner_a):
        IdeaFactory(partner=partner_a, title="Still new")
        IdeaFactory(partner=partner_a, title="Already done", status=IdeaStatus.DONE)

        done = client_a.get(reverse("portal:ideas"), {"status": "done"})
        assert [idea.title for idea in done.context["page_obj"]] == ["Already done"]
        assert ("done", "Done", 1) in done.context["statuses"]

        bogus = client_a.get(reverse("portal:ideas"), {"status": "<script>", "page": "x"})
        assert bogus.status_code == 200
        assert {idea.title for idea in bogus.context["page_obj"]} == {"Still new", "Already done"}

    def test_another_partners_user_does_not_see_the_ideas(self, partner_a, admin_b):
        IdeaFactory(partner=partner_a, title="Alpha wants lower prices")

        response = logged_in(admin_b).get(reverse("portal:ideas"))

        assert response.status_code == 200
        assert "Alpha wants lower prices" not in response.content.decode()
        assert response.context["total"] == 0

    def test_post_an_idea(self, client_a, admin_a, partner_a, partner_b, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks:
            response = client_a.post(
                reverse("portal:ideas"),
                {
                    "kind": "question",
                    "title": "  When is the next price list?  ",
                    "body": "We need it for a tender.",
                    "partner": partner_b.pk,
                },
            )

        idea = Idea.objects.get()
        assert response.status_code == 302
        assert response.url == idea_url(idea)
        assert (idea.partner, idea.author, idea.kind, idea.title, idea.status) == (
            partner_a,
            admin_a,
            IdeaKind.QUESTION,
            "When is the next price list?",
            IdeaStatus.NEW,
        )
        assert len(callbacks) == 1  # the channel team is told after commit

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"kind": "idea", "title": "", "body": "Body"}, "title"),
            ({"kind": "idea", "title": "Title", "body": ""}, "body"),
            ({"kind": "rumour", "title": "Title", "body": "Body"}, "kind"),
            ({"kind": "idea", "title": "T" * 201, "body": "Body"}, "title"),
            ({"kind": "idea", "title": "Title", "body": "B" * 10_001}, "body"),
            ({"kind": "idea", "title": "Nul\x00", "body": "Body"}, "title"),
        ],
    )
    def test_invalid_posts_show_field_errors_and_save_nothing(self, client_a, data, field):
        response = client_a.post(reverse("portal:ideas"), data)

        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert "Please correct the errors below" in response.content.decode()
        assert not Idea.objects.exists()

    def test_query_count_does_not_grow_with_ideas(self, client_a, partner_a):
        IdeaFactory(partner=partner_a)
        with CaptureQueriesContext(connection) as one:
            client_a.get(reverse("portal:ideas"))
        IdeaFactory.create_batch(5, partner=partner_a, status=IdeaStatus.UNDER_REVIEW)
        with CaptureQueriesContext(connection) as six:
            response = client_a.get(reverse("portal:ideas"))
        assert len(response.context["page_obj"]) == 6
        assert len(six) == len(one)


class TestIdeaDetail:
    def test_history_in_order(self, client_a, partner_a, admin_a):
        manager = ManagerFactory(first_name="Maria", last_name="Manager")
        idea = IdeaFactory(partner=partner_a, author=admin_a, title="Quarterly rebate report", body="Line one\nLine two")
        now = timezone.now()
        IdeaEvent.objects.create(
            idea=idea,
            partner=partner_a,
            kind=IdeaEvent.Kind.STATUS,
            author=manager,
            from_status="new",
            to_status="under_review",
            body="Looking into it",
            created_at=now - timedelta(days=3),
        )
        IdeaEvent.objects.create(
            idea=idea,
            partner=partner_a,
            kind=IdeaEvent.Kind.REPLY,
            author=manager,
            body="We will ship it in Q4",
            created_at=now - timedelta(days=2),
        )
        IdeaEvent.objects.create(
            idea=idea,
            partner=partner_a,
            kind=IdeaEvent.Kind.REPLY,
            author=admin_a,
            body="Great, thanks!",
            created_at=now - timedelta(days=1),
        )

        response = client_a.get(idea_url(idea))

        assert response.status_code == 200
        html = response.content.decode()
        assert "Quarterly rebate report" in html
        assert "Line one<br>Line two" in html
        positions = [html.index(text) for text in ("Looking into it", "We will ship it in Q4", "Great, thanks!")]
        assert positions == sorted(positions)
        assert "Status changed from New to Under review." in html
        assert "Channel team" in html
        assert "Maria Manager" in html

    def test_merged_into_another_partners_idea_hides_its_title(self, client_a, partner_a, partner_b, manager_user):
        target = IdeaFactory(partner=partner_b, title="Beta's original request", status=IdeaStatus.PLANNED)
        duplicate = IdeaFactory(partner=partner_a, title="Our duplicate")
        from surveys import services

        services.idea_merge(idea=duplicate, into=target, by=manager_user)

        response = client_a.get(idea_url(duplicate))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Merged with a similar request" in html
        assert "Beta&#x27;s original request" not in html
        assert "Beta's original request" not in html
        assert idea_url(target) not in html
        assert 'data-status="planned"' in html

    def test_merged_into_an_own_idea_links_to_it(self, client_a, partner_a, manager_user):
        target = IdeaFactory(partner=partner_a, title="Our first request")
        duplicate = IdeaFactory(partner=partner_a, title="Our second request")
        from surveys import services

        services.idea_merge(idea=duplicate, into=target, by=manager_user)

        html = client_a.get(idea_url(duplicate)).content.decode()

        assert f'<a href="{idea_url(target)}">Our first request</a>' in html

    def test_a_colleague_adds_a_comment(self, partner_a, admin_a, user_a, django_capture_on_commit_callbacks, mailoutbox):
        partner_a.account_manager = ManagerFactory(email="am@vendor.test")
        partner_a.save()
        idea = IdeaFactory(partner=partner_a, author=admin_a)
        client = logged_in(user_a)

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(idea_url(idea), {"body": "  We need this too.  "})

        assert response.status_code == 302
        assert response.url == idea_url(idea)
        event = IdeaEvent.objects.get()
        assert (event.idea, event.partner, event.kind, event.author, event.body) == (
            idea,
            partner_a,
            IdeaEvent.Kind.REPLY,
            user_a,
            "We need this too.",
        )
        assert [message.to for message in mailoutbox] == [["am@vendor.test"]]  # the channel team, not the author
        idea.refresh_from_db()
        assert idea.first_answered_at is None  # a partner's comment is not an answer from the channel team
        assert "We need this too." in client.get(idea_url(idea)).content.decode()

    @pytest.mark.parametrize("body", ["", "   ", "x" * 5001, "nul\x00"])
    def test_invalid_comment_is_refused(self, client_a, partner_a, body):
        idea = IdeaFactory(partner=partner_a)

        response = client_a.post(idea_url(idea), {"body": body})

        assert response.status_code == 400
        assert "body" in response.context["form"].errors
        assert not IdeaEvent.objects.exists()

    def test_another_partners_idea_is_404(self, partner_a, admin_b, partner_b):
        idea_a = IdeaFactory(partner=partner_a, title="Alpha's idea")
        idea_b = IdeaFactory(partner=partner_b, title="Beta's idea")
        client_b = logged_in(admin_b)

        assert client_b.get(idea_url(idea_b)).status_code == 200
        assert client_b.get(idea_url(idea_a)).status_code == 404
        assert client_b.post(idea_url(idea_a), {"body": "Taken over"}).status_code == 404
        assert client_b.get(reverse("portal:idea_detail", args=[MISSING_PK])).status_code == 404
        assert not IdeaEvent.objects.exists()

    def test_a_plain_user_of_the_company_sees_a_colleagues_idea(self, partner_a, admin_a, user_a):
        idea = IdeaFactory(partner=partner_a, author=admin_a, title="Admin's idea")

        assert logged_in(user_a).get(idea_url(idea)).status_code == 200


def test_the_portal_nav_links_to_surveys_and_ideas(client_a):
    html = client_a.get(reverse("portal:home")).content.decode()

    assert f'href="{reverse("portal:surveys")}"' in html
    assert f'href="{reverse("portal:ideas")}"' in html
