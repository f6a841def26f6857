"""The channel managers' pages of the feedback loop: survey builder, waves, results, CSV, ideas triage.

Personas (tests/conftest.py): `manager_client` is a channel manager; `admin_a` / `user_a` are partner
users of partner A, who must get 403 on every page here.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation

from partners.models import PartnerType
from surveys import tasks
from surveys.models import (
    Choice,
    Idea,
    IdeaEvent,
    IdeaKind,
    IdeaStatus,
    Question,
    QuestionKind,
    Recurrence,
    Survey,
    Wave,
)
from tests.partners.factories import ManagerFactory, MembershipFactory, PartnerFactory, TerritoryFactory, TierFactory, UserFactory

from .factories import (
    AnswerFactory,
    ChoiceFactory,
    IdeaFactory,
    InvitationFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    WaveFactory,
)

pytestmark = pytest.mark.django_db

MISSING_PK = 2_147_483_000
LIST_URL = reverse("surveys:list")
IDEAS_URL = reverse("surveys:ideas")


def url(name, *args):
    return reverse(f"surveys:{name}", args=args)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def survey_data(**overrides):
    """A complete, valid POST of the survey form."""
    data = {
        "title_en": "Partner satisfaction",
        "title_nl": "Partnertevredenheid",
        "title_de": "",
        "intro_en": "Five minutes.",
        "intro_nl": "",
        "intro_de": "",
        "max_reminders": "2",
        "reminder_interval_days": "7",
        "recurrence": "",
        "wave_length_days": "21",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def question_data(*, kind=QuestionKind.NPS, text="How likely are you to recommend us?", choices=(), existing=(), **overrides):
    """A POST of the question form with its choices formset.

    `choices`: new rows as (en, nl, de); `existing`: (choice, en, delete) for rows already saved.
    """
    data = {
        "question-kind": kind,
        "question-text_en": text,
        "question-text_nl": "",
        "question-text_de": "",
        "question-help_text_en": "",
        "question-help_text_nl": "",
        "question-help_text_de": "",
        "question-is_required": "on",
    }
    rows = []
    for choice, en, delete in existing:
        row = {"id": str(choice.pk), "text_en": en, "text_nl": choice.text_nl or "", "text_de": choice.text_de or ""}
        if delete:
            row["DELETE"] = "on"
        rows.append(row)
    rows += [{"id": "", "text_en": en, "text_nl": nl, "text_de": de} for en, nl, de in choices]
    rows += [{"id": "", "text_en": "", "text_nl": "", "text_de": ""}] * 2  # the empty extra rows a browser posts
    data.update({"choices-TOTAL_FORMS": str(len(rows)), "choices-INITIAL_FORMS": str(len(existing))})
    for index, row in enumerate(rows):
        data.update({f"choices-{index}-{key}": value for key, value in row.items()})
    data.update(overrides)
    return data


class Questionnaire:
    """A survey with one question of every kind."""

    def __init__(self, **survey_fields):
        self.survey = SurveyFactory(title="Partner satisfaction Q3", **survey_fields)
        self.nps = QuestionFactory(
            survey=self.survey, kind=QuestionKind.NPS, text="Would you recommend us?", text_nl="Zou u ons aanbevelen?"
        )
        self.rating = QuestionFactory(survey=self.survey, kind=QuestionKind.RATING, text="Rate our support", help_text="1 is poor")
        self.single = QuestionFactory(survey=self.survey, kind=QuestionKind.SINGLE, text="Main product line?")
        self.single_a = ChoiceFactory(question=self.single, text="Routers", text_nl="Routers NL")
        self.single_b = ChoiceFactory(question=self.single, text="Switches")
        self.multiple = QuestionFactory(survey=self.survey, kind=QuestionKind.MULTIPLE, text="What helps you?", is_required=False)
        self.multi_a = ChoiceFactory(question=self.multiple, text="Rebates")
        self.multi_b = ChoiceFactory(question=self.multiple, text="Training")
        self.text = QuestionFactory(survey=self.survey, kind=QuestionKind.TEXT, text="Anything else?", is_required=False)
        self.questions = [self.nps, self.rating, self.single, self.multiple, self.text]

    def respond(self, wave, *, partner=None, user=None, nps=None, rating=None, single=None, multiple=(), text=""):
        response = ResponseFactory(wave=wave, partner=partner or PartnerFactory(), **({"user": user} if user else {}))
        if nps is not None:
            AnswerFactory(response=response, question=self.nps, number=nps)
        if rating is not None:
            AnswerFactory(response=response, question=self.rating, number=rating)
        if single is not None:
            AnswerFactory(response=response, question=self.single, choices=[single])
        if multiple:
            AnswerFactory(response=response, question=self.multiple, choices=list(multiple))
        if text:
            AnswerFactory(response=response, question=self.text, text=text)
        return response


# --- the survey list ------------------------------------------------------------------------------


class TestSurveyList:
    def test_lists_surveys_with_waves_latest_state_and_nps(self, manager_client):
        q = Questionnaire()
        WaveFactory(
            survey=q.survey, name="Q2", opens_at=timezone.now() - timedelta(days=100), closes_at=timezone.now() - timedelta(days=80)
        )
        latest = WaveFactory(survey=q.survey, name="Q3")
        for score in (10, 10, 6):
            q.respond(latest, nps=score)
        SurveyFactory(title="Empty survey")

        response = manager_client.get(LIST_URL)

        assert response.status_code == 200
        rows = {survey.title: survey for survey in response.context["page_obj"]}
        assert rows["Partner satisfaction Q3"].wave_count == 2
        assert (rows["Partner satisfaction Q3"].latest_wave_name, rows["Partner satisfaction Q3"].latest_state) == ("Q3", "open")
        assert rows["Partner satisfaction Q3"].latest_nps.rounded == 33  # (2 promoters - 1 detractor) / 3
        assert rows["Empty survey"].wave_count == 0
        assert rows["Empty survey"].latest_nps is None
        html = response.content.decode()
        assert 'data-nps="33"' in html
        assert "No wave yet" in html

    def test_search_and_archived_filter(self, manager_client):
        SurveyFactory(title="Satisfaction", title_nl="Tevredenheid")
        SurveyFactory(title="Old onboarding", is_archived=True)

        def titles(**params):
            return {survey.title for survey in manager_client.get(LIST_URL, params).context["page_obj"]}

        assert titles() == {"Satisfaction"}
        assert titles(archived="archived") == {"Old onboarding"}
        assert titles(archived="all") == {"Satisfaction", "Old onboarding"}
        assert titles(q="tevreden") == {"Satisfaction"}  # any language
        assert titles(archived="nonsense") == {"Satisfaction"}  # a bad filter is ignored

    def test_empty_states(self, manager_client):
        assert "No surveys yet" in manager_client.get(LIST_URL).content.decode()
        assert "No surveys match these filters" in manager_client.get(LIST_URL, {"q": "nothing"}).content.decode()

    def test_pagination(self, manager_client, settings):
        settings.PARTNERLOOP_PAGE_SIZE = 2
        SurveyFactory.create_batch(5)
        response = manager_client.get(LIST_URL, {"page": "3"})
        assert len(response.context["page_obj"]) == 1
        assert manager_client.get(LIST_URL, {"page": "x"}).status_code == 200

    @pytest.mark.parametrize("count", [1, 6])
    def test_query_count_does_not_grow_with_the_data(self, manager_client, django_assert_num_queries, count):
        tier, territory = TierFactory(), TerritoryFactory()
        for _ in range(count):
            q = Questionnaire(tiers=[tier], territories=[territory], partner_types=[PartnerType.MSP])
            wave = WaveFactory(survey=q.survey)
            WaveFactory(survey=q.survey, opens_at=timezone.now() - timedelta(days=90), closes_at=timezone.now() - timedelta(days=60))
            q.respond(wave, nps=9)

        with django_assert_num_queries(9):
            # 1 session, 2 user, 3-4 the user's own and group permissions (is_channel_manager and
            # surveys.view_survey), 5 COUNT for the paginator, 6 the page of surveys with wave count
            # and latest wave annotated, 7 their tiers, 8 their territories, 9 NPS of the latest
            # waves of the page in one aggregate.
            response = manager_client.get(LIST_URL)

        assert response.status_code == 200
        assert len(response.context["page_obj"]) == count


# --- creating and editing a survey ----------------------------------------------------------------


class TestSurveyForm:
    def test_create_with_texts_per_language_and_audience(self, manager_client, manager_user):
        gold, benelux = TierFactory(name="Gold"), TerritoryFactory(name="Benelux")
        data = survey_data(
            title_de="Partnerzufriedenheit",
            partner_types=[PartnerType.MSP, PartnerType.VAR],
            tiers=[gold.pk],
            territories=[benelux.pk],
            one_response_per_partner="on",
            is_anonymous="on",
            max_reminders="3",
            reminder_interval_days="5",
            recurrence=Recurrence.QUARTERLY,
            wave_length_days="14",
        )

        response = manager_client.post(url("create"), data, follow=True)

        survey = Survey.objects.get()
        assert response.redirect_chain[-1][0] == url("detail", survey.pk)
        assert (survey.title_en, survey.title_nl, survey.title_de) == (
            "Partner satisfaction",
            "Partnertevredenheid",
            "Partnerzufriedenheit",
        )
        assert survey.intro_en == "Five minutes."
        assert survey.partner_types == [PartnerType.MSP, PartnerType.VAR]
        assert list(survey.tiers.all()) == [gold]
        assert list(survey.territories.all()) == [benelux]
        assert survey.one_response_per_partner
        assert survey.is_anonymous
        assert (survey.max_reminders, survey.reminder_interval_days, survey.recurrence, survey.wave_length_days) == (3, 5, "quarterly", 14)
        assert survey.created_by == manager_user
        assert "Survey “Partner satisfaction” created. Add its questions next." in messages_of(response)

    def test_a_missing_language_falls_back_to_english(self, manager_client):
        manager_client.post(url("create"), survey_data(title_nl=""))
        survey = Survey.objects.get()
        with translation.override("nl"):
            assert survey.title == "Partner satisfaction"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("title_en", ""), ("title_en", "   "), ("wave_length_days", "0"), ("max_reminders", "-1"), ("recurrence", "weekly")],
    )
    def test_bad_input_shows_field_errors_and_saves_nothing(self, manager_client, field, value):
        response = manager_client.post(url("create"), survey_data(**{field: value}))

        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert "nothing was saved" in response.content.decode()
        assert not Survey.objects.exists()

    def test_edit(self, manager_client):
        survey = SurveyFactory(title="Before", partner_types=[PartnerType.MSP])
        tier = TierFactory()

        response = manager_client.post(url("edit", survey.pk), survey_data(title_en="After", tiers=[tier.pk]))

        assert response.status_code == 302
        survey.refresh_from_db()
        assert (survey.title_en, survey.partner_types, list(survey.tiers.all())) == ("After", [], [tier])

    def test_edit_with_bad_input_changes_nothing(self, manager_client):
        survey = SurveyFactory(title="Before")
        response = manager_client.post(url("edit", survey.pk), survey_data(title_en="", wave_length_days="21"))
        assert response.status_code == 400
        survey.refresh_from_db()
        assert survey.title_en == "Before"

    def test_the_edit_page_shows_the_questions(self, manager_client):
        q = Questionnaire()
        html = manager_client.get(url("edit", q.survey.pk)).content.decode()
        assert 'id="question-list"' in html
        assert "Would you recommend us?" in html

    def test_anonymity_cannot_change_once_a_wave_exists(self, manager_client):
        survey = SurveyFactory(is_anonymous=False)
        WaveFactory(survey=survey)

        response = manager_client.post(url("edit", survey.pk), survey_data(is_anonymous="on", one_response_per_partner="on"))

        assert response.status_code == 302
        survey.refresh_from_db()
        assert not survey.is_anonymous
        assert not survey.one_response_per_partner

    def test_unknown_survey_is_404(self, manager_client):
        for name in ("detail", "edit", "archive", "duplicate", "preview", "question_create", "wave_create"):
            assert manager_client.get(url(name, MISSING_PK)).status_code == 404, name


class TestArchive:
    def test_confirmation_then_archive_and_unarchive(self, manager_client):
        survey = SurveyFactory(title="Pulse")

        confirm = manager_client.get(url("archive", survey.pk))
        assert confirm.status_code == 200
        assert "Archive this survey?" in confirm.content.decode()
        survey.refresh_from_db()
        assert not survey.is_archived

        response = manager_client.post(url("archive", survey.pk), follow=True)
        survey.refresh_from_db()
        assert survey.is_archived
        assert "Survey “Pulse” archived." in messages_of(response)

        assert "Unarchive this survey?" in manager_client.get(url("archive", survey.pk)).content.decode()
        manager_client.post(url("archive", survey.pk))
        survey.refresh_from_db()
        assert not survey.is_archived


# --- questions ------------------------------------------------------------------------------------


class TestQuestions:
    def test_add_an_nps_question_at_the_end(self, manager_client):
        survey = SurveyFactory()
        QuestionFactory(survey=survey, position=4)

        response = manager_client.post(url("question_create", survey.pk), question_data(**{"question-text_nl": "Aanbevelen?"}))

        assert response.status_code == 302
        question = survey.questions.order_by("position").last()
        assert (question.kind, question.text_en, question.text_nl, question.position, question.is_required) == (
            QuestionKind.NPS,
            "How likely are you to recommend us?",
            "Aanbevelen?",
            5,
            True,
        )
        assert not question.choices.exists()

    def test_add_a_choice_question_with_choices_per_language(self, manager_client):
        survey = SurveyFactory()
        data = question_data(
            kind=QuestionKind.SINGLE, text="Main line?", choices=[("Routers", "Routers", ""), ("Switches", "Switches NL", "Weichen")]
        )

        assert manager_client.post(url("question_create", survey.pk), data).status_code == 302

        question = survey.questions.get()
        assert list(question.choices.values_list("position", "text_en", "text_nl", "text_de")) == [
            (0, "Routers", "Routers", None),
            (1, "Switches", "Switches NL", "Weichen"),
        ]

    @pytest.mark.parametrize("kind", [QuestionKind.SINGLE, QuestionKind.MULTIPLE])
    def test_a_choice_question_needs_two_choices(self, manager_client, kind):
        survey = SurveyFactory()

        response = manager_client.post(url("question_create", survey.pk), question_data(kind=kind, choices=[("Only one", "", "")]))

        assert response.status_code == 400
        assert response.context["builder"].choice_errors == ["A choice question needs at least two choices."]
        assert "A choice question needs at least two choices." in response.content.decode()
        assert not Question.objects.exists()
        assert not Choice.objects.exists()

    def test_a_question_needs_its_english_text(self, manager_client):
        survey = SurveyFactory()
        response = manager_client.post(url("question_create", survey.pk), question_data(text=""))
        assert response.status_code == 400
        assert "text_en" in response.context["builder"].form.errors
        assert not Question.objects.exists()

    def test_a_choice_without_english_text_is_an_error(self, manager_client):
        survey = SurveyFactory()
        data = question_data(kind=QuestionKind.SINGLE, choices=[("Yes", "", ""), ("No", "", ""), ("", "Alleen NL", "")])
        response = manager_client.post(url("question_create", survey.pk), data)
        assert response.status_code == 400
        assert not Question.objects.exists()

    def test_edit_texts_and_remove_a_choice(self, manager_client):
        q = Questionnaire()
        extra = ChoiceFactory(question=q.single, text="Firewalls")
        data = question_data(
            kind=QuestionKind.SINGLE,
            text="Main product line now?",
            existing=[(q.single_a, "Routers", False), (q.single_b, "Switches!", False), (extra, "Firewalls", True)],
        )

        assert manager_client.post(url("question_edit", q.survey.pk, q.single.pk), data).status_code == 302

        q.single.refresh_from_db()
        assert q.single.text_en == "Main product line now?"
        assert list(q.single.choices.values_list("text_en", flat=True)) == ["Routers", "Switches!"]

    def test_removing_down_to_one_choice_is_refused(self, manager_client):
        q = Questionnaire()
        data = question_data(kind=QuestionKind.SINGLE, existing=[(q.single_a, "Routers", False), (q.single_b, "Switches", True)])

        response = manager_client.post(url("question_edit", q.survey.pk, q.single.pk), data)

        assert response.status_code == 400
        assert q.single.choices.count() == 2

    def test_changing_to_a_kind_without_choices_removes_them(self, manager_client):
        q = Questionnaire()
        data = question_data(kind=QuestionKind.TEXT, existing=[(q.single_a, "Routers", False), (q.single_b, "Switches", False)])
        assert manager_client.post(url("question_edit", q.survey.pk, q.single.pk), data).status_code == 302
        q.single.refresh_from_db()
        assert q.single.kind == QuestionKind.TEXT
        assert not q.single.choices.exists()

    def test_the_kind_of_an_answered_question_is_locked(self, manager_client):
        q = Questionnaire()
        q.respond(WaveFactory(survey=q.survey), nps=9)

        response = manager_client.post(
            url("question_edit", q.survey.pk, q.nps.pk), question_data(kind=QuestionKind.TEXT, text="Recommend?")
        )

        assert response.status_code == 302
        q.nps.refresh_from_db()
        assert (q.nps.kind, q.nps.text_en) == (QuestionKind.NPS, "Recommend?")

    def test_a_chosen_choice_cannot_be_removed(self, manager_client):
        q = Questionnaire()
        ChoiceFactory(question=q.single, text="Firewalls")
        q.respond(WaveFactory(survey=q.survey), single=q.single_a)
        data = question_data(kind=QuestionKind.SINGLE, existing=[(q.single_a, "Routers", True), (q.single_b, "Switches", False)])

        response = manager_client.post(url("question_edit", q.survey.pk, q.single.pk), data)

        assert response.status_code == 400
        assert q.single.choices.count() == 3

    def test_delete_after_confirmation(self, manager_client):
        q = Questionnaire()

        confirm = manager_client.get(url("question_delete", q.survey.pk, q.text.pk))
        assert confirm.status_code == 200
        assert "Anything else?" in confirm.content.decode()
        assert Question.objects.filter(pk=q.text.pk).exists()

        response = manager_client.post(url("question_delete", q.survey.pk, q.text.pk), follow=True)
        assert not Question.objects.filter(pk=q.text.pk).exists()
        assert "Question “Anything else?” deleted." in messages_of(response)

    def test_an_answered_question_cannot_be_deleted(self, manager_client):
        q = Questionnaire()
        q.respond(WaveFactory(survey=q.survey), nps=9)
        response = manager_client.post(url("question_delete", q.survey.pk, q.nps.pk), follow=True)
        assert Question.objects.filter(pk=q.nps.pk).exists()
        assert "cannot be deleted" in messages_of(response)[0]

    def test_a_question_of_another_survey_is_404(self, manager_client):
        q, other = Questionnaire(), SurveyFactory()
        for name in ("question_edit", "question_delete"):
            assert manager_client.get(url(name, other.pk, q.nps.pk)).status_code == 404
        assert manager_client.post(url("question_move", other.pk, q.nps.pk), {"direction": "up"}).status_code == 404
        assert manager_client.get(url("question_edit", q.survey.pk, MISSING_PK)).status_code == 404


class TestReorder:
    def order(self, survey):
        return list(survey.questions.order_by("position", "pk").values_list("text", flat=True))

    def test_move_down_and_up(self, manager_client):
        q = Questionnaire()
        first = self.order(q.survey)

        manager_client.post(url("question_move", q.survey.pk, q.nps.pk), {"direction": "down"})
        assert self.order(q.survey) == [first[1], first[0], *first[2:]]

        manager_client.post(url("question_move", q.survey.pk, q.nps.pk), {"direction": "up"})
        assert self.order(q.survey) == first

    def test_moving_past_the_ends_changes_nothing(self, manager_client):
        q = Questionnaire()
        first = self.order(q.survey)
        manager_client.post(url("question_move", q.survey.pk, q.nps.pk), {"direction": "up"})
        manager_client.post(url("question_move", q.survey.pk, q.text.pk), {"direction": "down"})
        assert self.order(q.survey) == first

    def test_equal_positions_are_renumbered(self, manager_client):
        survey = SurveyFactory()
        a, b, c = (QuestionFactory(survey=survey, position=0, text=text) for text in "abc")
        manager_client.post(url("question_move", survey.pk, c.pk), {"direction": "up"})
        assert self.order(survey) == ["a", "c", "b"]
        assert sorted(survey.questions.values_list("position", flat=True)) == [0, 1, 2]

    def test_htmx_swaps_the_question_list(self, manager_client):
        q = Questionnaire()
        response = manager_client.post(url("question_move", q.survey.pk, q.rating.pk), {"direction": "up"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<ol class="list-group')
        assert 'id="question-list"' in html
        assert html.index("Rate our support") < html.index("Would you recommend us?")
        assert "<nav" not in html  # a fragment, not the page

    def test_a_bad_direction_is_refused(self, manager_client):
        q = Questionnaire()
        first = self.order(q.survey)
        response = manager_client.post(url("question_move", q.survey.pk, q.nps.pk), {"direction": "sideways"}, follow=True)
        assert self.order(q.survey) == first
        assert messages_of(response) == ["Choose to move the question up or down."]


# --- duplicate and preview ------------------------------------------------------------------------


class TestDuplicate:
    def test_confirmation_then_copy(self, manager_client):
        q = Questionnaire(is_archived=True)
        WaveFactory(survey=q.survey)

        assert "Duplicate this survey?" in manager_client.get(url("duplicate", q.survey.pk)).content.decode()
        assert Survey.objects.count() == 1

        response = manager_client.post(url("duplicate", q.survey.pk))

        copy = Survey.objects.exclude(pk=q.survey.pk).get()
        assert response.url == url("detail", copy.pk)
        assert copy.title_en == "Copy of Partner satisfaction Q3"
        assert copy.questions.count() == 5
        assert copy.waves.count() == 0
        assert list(copy.questions.get(kind=QuestionKind.SINGLE).choices.values_list("text", flat=True)) == ["Routers", "Switches"]
        assert not copy.is_archived


class TestPreview:
    def test_renders_every_question_kind_read_only(self, manager_client):
        q = Questionnaire()

        response = manager_client.get(url("preview", q.survey.pk))

        assert response.status_code == 200
        html = response.content.decode()
        assert html.count(f'name="q{q.nps.pk}"') == 11  # 0..10
        assert f'id="q{q.nps.pk}-0"' in html
        assert f'id="q{q.nps.pk}-10"' in html
        assert html.count(f'name="q{q.rating.pk}"') == 5  # 1..5
        assert f'id="q{q.rating.pk}-1"' in html
        assert f'id="q{q.rating.pk}-5"' in html
        assert f'id="q{q.rating.pk}-0"' not in html
        assert html.count(f'type="radio" name="q{q.single.pk}"') == 2
        assert html.count(f'type="checkbox" name="q{q.multiple.pk}"') == 2
        assert f'<textarea class="form-control" name="q{q.text.pk}"' in html
        assert html.count("<fieldset") == 5
        assert html.count('data-kind="') == 5
        for question in q.questions:
            assert f'id="question-{question.pk}-fields" data-kind="{question.kind}" disabled' in html
        assert "1 is poor" in html  # help text
        assert "Routers" in html
        assert "Training" in html

    def test_in_the_current_language(self, manager_client):
        q = Questionnaire()
        manager_client.cookies["django_language"] = "nl"
        html = manager_client.get(url("preview", q.survey.pk), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
        assert "Zou u ons aanbevelen?" in html
        assert "Routers NL" in html
        assert "Rate our support" in html  # no Dutch text: falls back to English

    def test_empty_survey(self, manager_client):
        assert "This survey has no questions yet." in manager_client.get(url("preview", SurveyFactory().pk)).content.decode()


# --- waves ----------------------------------------------------------------------------------------


def local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


class TestWaves:
    def test_create_a_wave(self, manager_client, django_capture_on_commit_callbacks):
        q = Questionnaire()
        now = timezone.now()
        data = {"name": "Q3 2026", "opens_at": local(now + timedelta(days=1)), "closes_at": local(now + timedelta(days=22))}

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = manager_client.post(url("wave_create", q.survey.pk), data, follow=True)

        wave = Wave.objects.get()
        assert (wave.survey, wave.name, wave.state) == (q.survey, "Q3 2026", "scheduled")
        assert callbacks == []  # opens tomorrow: no invitations yet
        assert "Wave “Q3 2026” is scheduled; invitations go out when it opens." in messages_of(response)

    def test_the_form_suggests_dates_and_a_period_name(self, manager_client):
        q = Questionnaire(recurrence=Recurrence.QUARTERLY, wave_length_days=10)
        form = manager_client.get(url("wave_create", q.survey.pk)).context["form"]
        assert form.initial["name"].startswith("Q")
        assert form.initial["closes_at"] - form.initial["opens_at"] == timedelta(days=10)

    def test_closing_before_opening_is_a_field_error(self, manager_client):
        q = Questionnaire()
        now = timezone.now()
        data = {"name": "Backwards", "opens_at": local(now + timedelta(days=5)), "closes_at": local(now + timedelta(days=1))}

        response = manager_client.post(url("wave_create", q.survey.pk), data)

        assert response.status_code == 400
        assert response.context["form"].errors["closes_at"] == ["A wave must close after it opens."]
        assert not Wave.objects.exists()

    def test_service_errors_are_shown(self, manager_client):
        q = Questionnaire()
        WaveFactory(survey=q.survey, name="Q3")
        now = timezone.now()
        data = {"name": "Q3", "opens_at": local(now), "closes_at": local(now + timedelta(days=5))}

        response = manager_client.post(url("wave_create", q.survey.pk), data)
        assert response.status_code == 400
        assert response.context["form"].errors["name"] == ["This survey already has a wave with that name."]

        past = {"name": "Past", "opens_at": local(now - timedelta(days=5)), "closes_at": local(now - timedelta(days=1))}
        assert manager_client.post(url("wave_create", q.survey.pk), past).context["form"].errors["closes_at"] == [
            "This date is in the past."
        ]
        assert Wave.objects.count() == 1

    def test_a_survey_without_questions_cannot_open_a_wave(self, manager_client):
        survey = SurveyFactory()
        now = timezone.now()
        response = manager_client.post(
            url("wave_create", survey.pk), {"name": "W", "opens_at": local(now), "closes_at": local(now + timedelta(days=3))}
        )
        assert response.status_code == 400
        assert "Add at least one question before opening a wave." in response.context["form"].non_field_errors()
        assert not Wave.objects.exists()

    def test_an_archived_survey_cannot_open_a_wave(self, manager_client):
        q = Questionnaire(is_archived=True)
        now = timezone.now()
        response = manager_client.post(
            url("wave_create", q.survey.pk), {"name": "W", "opens_at": local(now), "closes_at": local(now + timedelta(days=3))}
        )
        assert response.status_code == 400
        assert not Wave.objects.exists()

    def test_the_survey_page_lists_waves_with_their_response_rate(self, manager_client):
        q = Questionnaire()
        wave = WaveFactory(survey=q.survey, name="Q3")
        partner = PartnerFactory()
        invitations = InvitationFactory.create_batch(4, wave=wave, partner=partner)
        q.respond(wave, partner=partner, user=invitations[0].user, nps=9)
        WaveFactory(survey=q.survey, name="Q4", opens_at=timezone.now() + timedelta(days=30), closes_at=timezone.now() + timedelta(days=50))

        response = manager_client.get(url("detail", q.survey.pk))

        waves = {wave.name: wave for wave in response.context["waves"]}
        assert (waves["Q3"].invited, waves["Q3"].answered, waves["Q3"].response_rate, waves["Q3"].current_state) == (4, 1, 25.0, "open")
        assert (waves["Q4"].invited, waves["Q4"].response_rate, waves["Q4"].current_state) == (0, None, "scheduled")
        assert "25.0%" in response.content.decode()

    def test_one_answer_per_company_counts_companies(self, manager_client):
        q = Questionnaire(one_response_per_partner=True)
        wave = WaveFactory(survey=q.survey)
        partner = PartnerFactory()
        InvitationFactory.create_batch(3, wave=wave, partner=partner)
        InvitationFactory(wave=wave)
        waves = list(manager_client.get(url("detail", q.survey.pk)).context["waves"])
        assert waves[0].invited == 2

    def test_close_a_wave_after_confirmation(self, manager_client):
        q = Questionnaire()
        wave = WaveFactory(survey=q.survey, name="Q3")

        assert "Close this wave now?" in manager_client.get(url("wave_close", q.survey.pk, wave.pk)).content.decode()
        wave.refresh_from_db()
        assert wave.state == "open"

        response = manager_client.post(url("wave_close", q.survey.pk, wave.pk), follow=True)
        wave.refresh_from_db()
        assert wave.state == "closed"
        assert "Wave “Q3” is closed." in messages_of(response)

        again = manager_client.post(url("wave_close", q.survey.pk, wave.pk), follow=True)
        assert "This wave is already closed." in messages_of(again)
        assert "This wave is already closed." in messages_of(manager_client.get(url("wave_close", q.survey.pk, wave.pk), follow=True))

    def test_cancel_a_scheduled_wave_so_it_never_opens(self, manager_client, mailoutbox):
        q = Questionnaire()
        MembershipFactory(partner=PartnerFactory())
        opens_at = timezone.now() + timedelta(days=3)
        wave = WaveFactory(survey=q.survey, name="Q4", opens_at=opens_at, closes_at=opens_at + timedelta(days=14))
        assert (
            'href="{}">Cancel wave<'.format(url("wave_close", q.survey.pk, wave.pk))
            in manager_client.get(url("detail", q.survey.pk)).content.decode()
        )

        assert "Cancel this scheduled wave?" in manager_client.get(url("wave_close", q.survey.pk, wave.pk)).content.decode()
        response = manager_client.post(url("wave_close", q.survey.pk, wave.pk), follow=True)

        wave.refresh_from_db()
        assert "Wave “Q4” is cancelled; it never opens." in messages_of(response)
        assert wave.state == "closed"
        assert wave.closes_at <= timezone.now()
        tasks.open_due_waves()  # the beat that would have invited the audience on opening day
        assert (wave.invitations.count(), len(mailoutbox)) == (0, 0)

    def test_a_wave_of_another_survey_is_404(self, manager_client):
        wave, other = WaveFactory(), SurveyFactory()
        for name in ("wave_close", "wave_results", "wave_export"):
            assert manager_client.get(url(name, other.pk, wave.pk)).status_code == 404, name
            assert manager_client.get(url(name, wave.survey.pk, MISSING_PK)).status_code == 404, name


# --- results --------------------------------------------------------------------------------------


class TestResults:
    @pytest.fixture
    def handmade(self):
        """NPS [10, 9, 8, 7, 6, 0] -> 2 promoters, 2 passives, 2 detractors: NPS 0. Ratings [5, 4, 4, 2] -> 3.75."""
        q = Questionnaire()
        gold, silver = TierFactory(name="Gold"), TierFactory(name="Silver")
        wave = WaveFactory(survey=q.survey, name="Q3")
        InvitationFactory.create_batch(12, wave=wave)
        ratings = [5, 4, 4, 2, None, None]
        for index, score in enumerate([10, 9, 8, 7, 6, 0]):
            partner = PartnerFactory(
                tier=gold if index < 3 else silver, partner_type=PartnerType.MSP if index % 2 else PartnerType.RESELLER
            )
            q.respond(
                wave,
                partner=partner,
                nps=score,
                rating=ratings[index],
                single=q.single_a if index < 4 else q.single_b,
                multiple=[q.multi_a, q.multi_b] if index == 0 else [q.multi_b],
                text=f"Comment {index}" if index < 2 else "",
            )
        return q, wave, gold

    def test_figures(self, manager_client, handmade):
        q, wave, _gold = handmade

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))

        assert response.status_code == 200
        results = response.context["results"]
        assert (results.invited, results.answered, results.response_rate) == (12, 6, 50.0)
        by_question = {result.question.pk: result for result in results.questions}
        nps = by_question[q.nps.pk]
        assert (nps.nps.count, nps.nps.promoters, nps.nps.passives, nps.nps.detractors, nps.nps.rounded) == (6, 2, 2, 2, 0)
        assert nps.shares == {"promoters": 33.3, "passives": 33.3, "detractors": 33.3}
        assert str(nps.average) == "6.67"  # 40 / 6
        assert dict(nps.distribution)[0] == 1
        assert dict(nps.distribution)[10] == 1
        assert dict(nps.distribution)[5] == 0
        rating = by_question[q.rating.pk]
        assert (rating.count, str(rating.average)) == (4, "3.75")
        assert dict(by_question[q.single.pk].distribution) == {"Routers": 4, "Switches": 2}
        assert dict(by_question[q.multiple.pk].distribution) == {"Rebates": 1, "Training": 6}
        assert sorted(by_question[q.text.pk].texts) == ["Comment 0", "Comment 1"]

        html = response.content.decode()
        assert "Promoters (9–10): 33.3% (2)" in html
        assert "Detractors (0–6): 33.3% (2)" in html
        assert 'data-nps="0"' in html
        assert "3.75" in html
        assert "Comment 1" in html
        assert 'id="survey-chart-data"' in html
        assert "chart.umd.min.js" in html

    def test_chart_data(self, manager_client, handmade):
        q, wave, _gold = handmade
        charts = {
            chart["canvas"]: chart
            for chart in manager_client.get(url("wave_results", q.survey.pk, wave.pk)).context["chart_data"]["charts"]
        }
        assert charts[f"chart-q{q.nps.pk}"]["labels"] == [str(n) for n in range(11)]
        assert charts[f"chart-q{q.nps.pk}"]["values"] == [1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        assert charts[f"chart-q{q.single.pk}"] == {**charts[f"chart-q{q.single.pk}"], "horizontal": True, "values": [4, 2]}
        assert charts["chart-trend"]["type"] == "line"
        assert charts["chart-trend"]["values"] == [0]
        assert f"chart-q{q.text.pk}" not in charts

    def test_breakdown_and_trend(self, manager_client, handmade):
        q, wave, _gold = handmade
        earlier = WaveFactory(
            survey=q.survey, name="Q2", opens_at=timezone.now() - timedelta(days=100), closes_at=timezone.now() - timedelta(days=80)
        )
        q.respond(earlier, nps=10)

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))

        breakdowns = {item["by"]: dict(item["rows"]) for item in response.context["breakdowns"]}
        assert {label: figures.rounded for label, figures in breakdowns["tier"].items()} == {"Gold": 67, "Silver": -67}
        assert set(breakdowns["type"]) == {"Managed service provider", "Reseller"}  # labels, not codes
        assert [(w.name, figures.rounded) for w, figures in response.context["trend"]] == [("Q2", 100), ("Q3", 0)]

    def test_filter_by_group(self, manager_client, handmade):
        q, wave, gold = handmade

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk), {"tier": gold.pk})

        assert response.context["group"] == {"tier_id": gold.pk}
        nps = next(result for result in response.context["results"].questions if result.question.pk == q.nps.pk)
        assert (nps.nps.count, nps.nps.rounded) == (3, 67)  # 10, 9, 8
        assert manager_client.get(url("wave_results", q.survey.pk, wave.pk), {"partner_type": PartnerType.MSP}).context["group"] == {
            "partner_type": PartnerType.MSP
        }
        assert manager_client.get(url("wave_results", q.survey.pk, wave.pk), {"tier": "nonsense"}).context["group"] is None

    @pytest.mark.parametrize(("answers", "shown"), [(4, False), (5, True)])
    def test_anonymity_threshold(self, manager_client, answers, shown):
        q = Questionnaire(is_anonymous=True)
        wave = WaveFactory(survey=q.survey)
        for _ in range(answers):
            q.respond(wave, nps=10, rating=5, text="Secret remark")

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))

        html = response.content.decode()
        assert ("Results are shown from five answers on" in html) is not shown
        assert ("Secret remark" in html) is shown
        assert ('data-nps="100"' in html) is shown
        assert ('id="export-csv"' in html) is shown
        export = manager_client.get(url("wave_export", q.survey.pk, wave.pk))
        assert (export.status_code == 200) is shown
        if not shown:
            assert export.url == url("wave_results", q.survey.pk, wave.pk)
            breakdown = {item["by"]: item["rows"] for item in response.context["breakdowns"]}
            assert breakdown["tier"] == [("—", None)]
            assert "fewer than 5 answers" in html

    def test_an_anonymous_group_below_five_is_hidden(self, manager_client):
        q = Questionnaire(is_anonymous=True)
        wave = WaveFactory(survey=q.survey)
        gold = TierFactory(name="Gold")
        for index in range(6):
            q.respond(wave, partner=PartnerFactory(tier=gold if index < 2 else None), nps=9)

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))
        assert dict(response.context["breakdowns"][0]["rows"])["Gold"] is None
        filtered = manager_client.get(url("wave_results", q.survey.pk, wave.pk), {"tier": gold.pk})
        assert filtered.context["results"].hidden
        assert "Results are shown from five answers on" in filtered.content.decode()

    def test_an_anonymous_group_is_hidden_when_the_rest_of_the_wave_is_below_five(self, manager_client):
        """Gold 5 and 1 other answer: Gold's figures next to the wave's would give the other answer away."""
        q = Questionnaire(is_anonymous=True)
        wave = WaveFactory(survey=q.survey)
        gold, silver = TierFactory(name="Gold"), TierFactory(name="Silver")
        for index in range(6):
            q.respond(wave, partner=PartnerFactory(tier=gold if index < 5 else silver), nps=10 if index < 5 else 0)

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))
        filtered = manager_client.get(url("wave_results", q.survey.pk, wave.pk), {"tier": gold.pk})

        tiers = dict(response.context["breakdowns"][0]["rows"])
        assert (tiers["Gold"], tiers["Silver"]) == (None, None)
        assert "hidden (fewer than 5 answers)" in response.content.decode()
        assert filtered.context["results"].hidden
        assert "the rest of this anonymous wave has fewer than five answers" in filtered.content.decode()
        assert 'data-nps="100"' not in filtered.content.decode()

    def test_an_anonymous_question_answered_fewer_than_five_times_is_hidden(self, manager_client):
        q = Questionnaire(is_anonymous=True)
        wave = WaveFactory(survey=q.survey)
        for index in range(5):
            q.respond(wave, nps=9, rating=2 if index == 0 else None, text="Only one remark" if index == 0 else "")

        response = manager_client.get(url("wave_results", q.survey.pk, wave.pk))

        by_question = {result.question.pk: result for result in response.context["results"].questions}
        assert by_question[q.nps.pk].nps.rounded == 100
        rating, text = by_question[q.rating.pk], by_question[q.text.pk]
        assert (rating.hidden, rating.count, rating.average, rating.distribution) == (True, 1, None, [])
        assert (text.hidden, text.texts) == (True, [])
        html = response.content.decode()
        assert "Only one remark" not in html
        assert "Fewer than five answers to this question" in html
        assert f"chart-q{q.rating.pk}" not in {chart["canvas"] for chart in response.context["chart_data"]["charts"]}

    def test_a_wave_without_answers(self, manager_client):
        q = Questionnaire()
        wave = WaveFactory(survey=q.survey)
        html = manager_client.get(url("wave_results", q.survey.pk, wave.pk)).content.decode()
        assert "No answers to this question." in html


# --- CSV export -----------------------------------------------------------------------------------


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode())))


class TestExport:
    def test_named_survey(self, manager_client):
        q = Questionnaire()
        wave = WaveFactory(survey=q.survey, name="Q3")
        gold, benelux = TierFactory(name="Gold"), TerritoryFactory(name="Benelux")
        partner = PartnerFactory(name="=Evil Corp", tier=gold, territory=benelux, partner_type=PartnerType.MSP)
        user = UserFactory(username="ann@alpha.test")
        q.respond(wave, partner=partner, user=user, nps=9, rating=4, single=q.single_b, multiple=[q.multi_a, q.multi_b], text="@SUM(A1)")
        q.respond(wave, nps=3)

        rows = read_csv(manager_client.get(url("wave_export", q.survey.pk, wave.pk)))

        assert rows[0] == [
            "Wave",
            "Submitted",
            "Partner",
            "Tier",
            "Partner type",
            "Territory",
            "E-mail",
            "Would you recommend us?",
            "Rate our support",
            "Main product line?",
            "What helps you?",
            "Anything else?",
        ]
        assert len(rows) == 3  # one row per response
        ann = next(row for row in rows[1:] if row[6] == "ann@alpha.test")
        assert ann[0] == "Q3"
        assert ann[2:6] == ["'=Evil Corp", "Gold", "Managed service provider", "Benelux"]  # formula neutralised
        assert ann[7:] == ["9", "4", "Switches", "Rebates; Training", "'@SUM(A1)"]
        other = next(row for row in rows[1:] if row[6] != "ann@alpha.test")
        assert other[7:] == ["3", "", "", "", ""]

    @pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
    def test_every_formula_prefix_is_escaped(self, manager_client, prefix):
        q = Questionnaire()
        wave = WaveFactory(survey=q.survey)
        q.respond(wave, text=f"{prefix}cmd")
        rows = read_csv(manager_client.get(url("wave_export", q.survey.pk, wave.pk)))
        assert rows[1][-1] == f"'{prefix}cmd"

    def test_anonymous_survey_exports_the_answers_only(self, manager_client):
        """No person, company, tier, type, territory or date: a unique tier-type-territory or the only answer
        of a day would point at who answered."""
        q = Questionnaire(is_anonymous=True)
        wave = WaveFactory(survey=q.survey, name="Q3")
        platinum, nordics = TierFactory(name="Platinum"), TerritoryFactory(name="Nordics")
        q.respond(wave, partner=PartnerFactory(name="Only Platinum", tier=platinum, territory=nordics), nps=0, text="Unhappy")
        for index in range(4):
            q.respond(wave, partner=PartnerFactory(name=f"Secret Partner {index}"), nps=7)

        response = manager_client.get(url("wave_export", q.survey.pk, wave.pk))

        rows = read_csv(response)
        assert rows[0] == ["Wave", *[question.text for question in q.survey.questions.all()]]
        assert len(rows) == 6
        assert sorted(row[1] for row in rows[1:]) == ["0", "7", "7", "7", "7"]
        assert {row[0] for row in rows[1:]} == {"Q3"}
        content = response.content.decode()
        for leak in ("Secret Partner", "Only Platinum", "Platinum", "Nordics", "@", str(timezone.localdate().year)):
            assert leak not in content, leak


# --- ideas triage ---------------------------------------------------------------------------------


class TestIdeaList:
    def test_lists_ideas_with_counts_and_oldest_unanswered(self, manager_client, partner_a, partner_b):
        old = IdeaFactory(partner=partner_a, title="Old question", kind=IdeaKind.QUESTION, created_at=timezone.now() - timedelta(days=40))
        IdeaFactory(partner=partner_b, title="Planned one", status=IdeaStatus.PLANNED, first_answered_at=timezone.now())
        IdeaFactory(partner=partner_b, title="Fresh concern", kind=IdeaKind.CONCERN)
        IdeaFactory(partner=partner_b, title="Merged away", merged_into=old)

        response = manager_client.get(IDEAS_URL)

        assert response.status_code == 200
        assert [idea.title for idea in response.context["page_obj"]] == ["Fresh concern", "Planned one", "Old question"]
        counts = {status: count for status, _label, count in response.context["counts"]["by_status"]}
        assert (counts["new"], counts["planned"], counts["done"]) == (2, 1, 0)
        assert response.context["counts"]["ages"] == {"week": 2, "month": 0, "older": 1}  # planned is still open
        assert [idea.title for idea in response.context["oldest"]] == ["Old question", "Fresh concern"]

    def test_filters_and_search(self, manager_client, partner_a, partner_b):
        a = IdeaFactory(partner=partner_a, title="Rebate portal", kind=IdeaKind.IDEA)
        b = IdeaFactory(
            partner=partner_b, title="Late payments", kind=IdeaKind.CONCERN, status=IdeaStatus.UNDER_REVIEW, body="Rebates come late"
        )
        merged = IdeaFactory(partner=partner_b, title="Rebates again", merged_into=a)

        def titles(**params):
            return {idea.title for idea in manager_client.get(IDEAS_URL, params).context["page_obj"]}

        assert titles(status="under_review") == {"Late payments"}
        assert titles(kind="idea") == {"Rebate portal"}
        assert titles(partner=partner_a.pk) == {"Rebate portal"}
        assert titles(q="rebate") == {"Rebate portal", "Late payments"}
        assert titles(q="beta") == {"Late payments"}  # partner name
        assert titles(q=f"#{b.pk}") == {"Late payments"}
        assert titles(q="rebate", merged="on") == {"Rebate portal", "Late payments", merged.title}
        assert titles(status="bogus") == {"Rebate portal", "Late payments"}  # ignored

    def test_empty_states(self, manager_client):
        assert "No ideas or concerns yet" in manager_client.get(IDEAS_URL).content.decode()
        assert "No posts match these filters." in manager_client.get(IDEAS_URL, {"q": "x"}).content.decode()

    @pytest.mark.parametrize("count", [1, 8])
    def test_query_count_does_not_grow_with_the_data(self, manager_client, django_assert_num_queries, count):
        for index in range(count):
            partner = PartnerFactory()
            first = IdeaFactory(partner=partner, status=IdeaStatus.PLANNED)
            IdeaFactory(partner=partner, merged_into=first, created_at=timezone.now() - timedelta(days=index * 5))

        with django_assert_num_queries(10):
            # 1 session, 2 user, 3-4 the user's own and group permissions, 5 COUNT for the paginator,
            # 6 counts by status, 7 counts by age, 8 the partner filter's choices (partners that
            # posted), 9 the oldest unanswered with partner and author, 10 the page of ideas with
            # partner, author and merged-into idea in one SELECT.
            response = manager_client.get(IDEAS_URL, {"merged": "on"})

        assert len(response.context["page_obj"]) == 2 * count


class TestIdeaTriage:
    @pytest.fixture
    def idea(self, partner_a, admin_a):
        return IdeaFactory(partner=partner_a, author=admin_a, title="Quarterly rebate report")

    def test_detail_shows_the_history(self, manager_client, idea, manager_user):
        IdeaEvent.objects.create(idea=idea, partner=idea.partner, kind=IdeaEvent.Kind.REPLY, author=manager_user, body="Looking into it")
        html = manager_client.get(url("idea_detail", idea.pk)).content.decode()
        assert "Quarterly rebate report" in html
        assert "Looking into it" in html
        assert "Alpha Resellers B.V." in html

    def test_unknown_idea_is_404(self, manager_client):
        assert manager_client.get(url("idea_detail", MISSING_PK)).status_code == 404
        assert manager_client.post(url("idea_status", MISSING_PK), {"status": "planned"}).status_code == 404
        assert manager_client.post(url("idea_reply", MISSING_PK), {"body": "x"}).status_code == 404
        assert manager_client.get(url("idea_merge", MISSING_PK)).status_code == 404

    def test_status_change_records_an_event_and_mails_the_author_once(
        self, manager_client, idea, manager_user, django_capture_on_commit_callbacks, mailoutbox
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = manager_client.post(
                url("idea_status", idea.pk), {"status": IdeaStatus.PLANNED, "note": "Next quarter."}, follow=True
            )

        idea.refresh_from_db()
        assert idea.status == IdeaStatus.PLANNED
        assert idea.first_answered_at is not None
        event = IdeaEvent.objects.get(idea=idea)
        assert (event.kind, event.from_status, event.to_status, event.body, event.author) == (
            "status",
            "new",
            "planned",
            "Next quarter.",
            manager_user,
        )
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["admin@alpha.test"]
        assert "Status changed to “Planned”; the author is notified." in messages_of(response)

    def test_the_same_status_again_is_refused(self, manager_client, idea, mailoutbox):
        response = manager_client.post(url("idea_status", idea.pk), {"status": IdeaStatus.NEW})
        assert response.status_code == 400
        assert response.context["status_form"].errors["status"] == ["The idea already has this status."]
        assert not IdeaEvent.objects.exists()
        assert not mailoutbox

    def test_an_unknown_status_is_refused(self, manager_client, idea):
        assert manager_client.post(url("idea_status", idea.pk), {"status": "shipped"}).status_code == 400
        idea.refresh_from_db()
        assert idea.status == IdeaStatus.NEW

    def test_reply(self, manager_client, idea, django_capture_on_commit_callbacks, mailoutbox):
        with django_capture_on_commit_callbacks(execute=True):
            manager_client.post(url("idea_reply", idea.pk), {"body": "  Thanks, we are on it.  "})

        event = IdeaEvent.objects.get(idea=idea)
        assert (event.kind, event.body) == ("reply", "Thanks, we are on it.")
        assert len(mailoutbox) == 1

    def test_an_empty_reply_is_refused(self, manager_client, idea):
        response = manager_client.post(url("idea_reply", idea.pk), {"body": "   "})
        assert response.status_code == 400
        assert not IdeaEvent.objects.exists()

    def test_merge(self, manager_client, idea, partner_b, django_capture_on_commit_callbacks, mailoutbox):
        original = IdeaFactory(partner=partner_b, title="Rebate dashboard", status=IdeaStatus.PLANNED)
        already_merged = IdeaFactory(partner=partner_b, title="Rebate report too", merged_into=original)

        page = manager_client.get(url("idea_merge", idea.pk), {"q": "rebate"})
        candidates = [candidate.pk for candidate in page.context["page_obj"]]
        assert candidates == [original.pk]  # not itself, not a merged idea
        assert manager_client.get(url("idea_merge", idea.pk), {"q": f"#{original.pk}"}).context["page_obj"][0] == original

        with django_capture_on_commit_callbacks(execute=True):
            response = manager_client.post(url("idea_merge", idea.pk), {"into": original.pk})

        assert response.url == url("idea_detail", original.pk)
        idea.refresh_from_db()
        assert (idea.merged_into, idea.status) == (original, IdeaStatus.PLANNED)
        assert IdeaEvent.objects.get(idea=idea).kind == "merged"
        assert len(mailoutbox) == 1

        refused = manager_client.post(url("idea_merge", original.pk), {"into": already_merged.pk})
        assert refused.status_code == 400
        assert refused.context["form"].errors["into"] == ["Choose an idea that is not itself merged."]

    def test_a_merged_idea_shows_where_it_went(self, manager_client, idea):
        original = IdeaFactory(title="The original")
        idea.merged_into = original
        idea.save()
        html = manager_client.get(url("idea_detail", idea.pk)).content.decode()
        assert "Merged into" in html
        assert "The original" in html
        assert "change the status there" in html
        assert "Merged duplicates" in manager_client.get(url("idea_detail", original.pk)).content.decode()


# --- permissions ----------------------------------------------------------------------------------


def _walk(resolver=None, namespace=None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and namespace == "surveys":
            yield f"surveys:{entry.name}", list(entry.pattern.regex.groupindex)


SURVEY_ROUTES = sorted(_walk())


@pytest.fixture
def ids(partner_a, admin_a):
    """Real ids, so that a missing permission check would find something to act on."""
    q = Questionnaire()
    wave = WaveFactory(survey=q.survey)
    q.respond(wave, nps=9)
    return {"survey": q.survey.pk, "question_pk": q.nps.pk, "wave_pk": wave.pk, "idea": IdeaFactory(partner=partner_a, author=admin_a).pk}


def route_url(name, kwargs, ids):
    values = {key: ids["idea" if name.startswith("surveys:idea") else "survey"] if key == "pk" else ids[key] for key in kwargs}
    return reverse(name, kwargs=values)


def test_the_routes_are_found():
    assert len(SURVEY_ROUTES) >= 20


def _state():
    return (
        Survey.objects.count(),
        list(Survey.objects.values_list("is_archived", "title_en")),
        list(Question.objects.order_by("pk").values_list("position", "text_en")),
        list(Wave.objects.values_list("closes_at", flat=True)),
        list(Idea.objects.values_list("status", "merged_into")),
        IdeaEvent.objects.count(),
    )


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
@pytest.mark.parametrize(("name", "kwargs"), SURVEY_ROUTES, ids=[name for name, _ in SURVEY_ROUTES])
def test_partner_users_get_403_everywhere(request, persona, name, kwargs, ids):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    target = route_url(name, kwargs, ids)
    before = _state()

    assert client.get(target).status_code == 403
    assert (
        client.post(target, {"title_en": "Taken over", "status": "done", "direction": "up", "body": "x", "into": ids["idea"]}).status_code
        == 403
    )
    assert _state() == before


@pytest.mark.parametrize(("name", "kwargs"), SURVEY_ROUTES, ids=[name for name, _ in SURVEY_ROUTES])
def test_anonymous_visitors_are_sent_to_login(client, name, kwargs, ids):
    target = route_url(name, kwargs, ids)
    for response in (client.get(target), client.post(target)):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), SURVEY_ROUTES, ids=[name for name, _ in SURVEY_ROUTES])
def test_every_page_works_for_a_manager(manager_client, name, kwargs, ids):
    response = manager_client.get(route_url(name, kwargs, ids))
    assert response.status_code in (200, 302, 405), (name, response.status_code)


def test_a_manager_needs_the_model_permission(client):
    """A staff user who may see partners and surveys but not write them."""
    viewer = ManagerFactory()
    viewer.groups.clear()
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="partners", codename="view_partner"),
        Permission.objects.get(content_type__app_label="surveys", codename="view_survey"),
    )
    client.force_login(viewer)
    survey = SurveyFactory()

    assert client.get(LIST_URL).status_code == 200
    assert client.get(url("create")).status_code == 403
    assert client.post(url("archive", survey.pk)).status_code == 403
    assert client.get(IDEAS_URL).status_code == 403
    html = client.get(url("detail", survey.pk)).content.decode()
    assert url("edit", survey.pk) not in html
    assert url("question_create", survey.pk) not in html


def test_the_manager_group_has_the_survey_permissions(manager_user):
    for codename in ("view_survey", "add_survey", "change_survey", "add_question", "delete_question", "add_wave", "change_wave"):
        assert manager_user.has_perm(f"surveys.{codename}"), codename
    for codename in ("view_response", "view_invitation", "view_idea", "change_idea", "add_ideaevent"):
        assert manager_user.has_perm(f"surveys.{codename}"), codename
    assert not manager_user.has_perm("surveys.change_response")


def test_the_navigation_links_for_managers(manager_client):
    html = manager_client.get(LIST_URL).content.decode()
    assert f'href="{LIST_URL}"' in html
    assert f'href="{IDEAS_URL}"' in html


# --- admin ----------------------------------------------------------------------------------------


def test_every_surveys_admin_page_renders(client, superuser, partner_a, admin_a):
    from django.contrib import admin

    q = Questionnaire()
    wave = WaveFactory(survey=q.survey)
    InvitationFactory(wave=wave, partner=partner_a, user=admin_a)
    response = q.respond(wave, partner=partner_a, nps=9, multiple=[q.multi_a], text="Fine")
    idea = IdeaFactory(partner=partner_a, author=admin_a)
    IdeaEvent.objects.create(idea=idea, partner=partner_a, kind=IdeaEvent.Kind.REPLY, body="Thanks")
    client.force_login(superuser)
    objects = {
        Survey: q.survey,
        Question: q.single,
        Choice: q.single_a,
        Wave: wave,
        Idea: idea,
        IdeaEvent: IdeaEvent.objects.get(),
    }
    models = [model for model in admin.site._registry if model._meta.app_label == "surveys"]
    assert {model.__name__ for model in models} == {
        "Survey",
        "Question",
        "Choice",
        "Wave",
        "Invitation",
        "Response",
        "Answer",
        "Idea",
        "IdeaEvent",
    }
    for model in models:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, model
        assert client.get(changelist, {"q": "x"}).status_code == 200, model
        instance = objects.get(model) or model.objects.first()
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])).status_code == 200, model
    page = client.get(reverse("admin:surveys_response_change", args=[response.pk])).content.decode()
    assert "Fine" in page
    assert "Rebates" in page
    assert client.get(reverse("admin:surveys_response_add")).status_code == 403


def test_the_admin_never_shows_anonymous_responses_or_answers(client, superuser, partner_a):
    """An anonymous response shown with its partner (a company with one portal user) would name its author."""
    q = Questionnaire(is_anonymous=True)
    wave = WaveFactory(survey=q.survey)
    secret = q.respond(wave, partner=partner_a, nps=2, text="Secret remark")
    client.force_login(superuser)

    for name in ("response", "answer"):
        html = client.get(reverse(f"admin:surveys_{name}_changelist")).content.decode()
        assert "Secret remark" not in html
        assert partner_a.name not in html, name
    assert client.get(reverse("admin:surveys_response_change", args=[secret.pk])).status_code == 302  # "does not exist"
    answer = secret.answers.get(question=q.text)
    assert client.get(reverse("admin:surveys_answer_change", args=[answer.pk])).status_code == 302
