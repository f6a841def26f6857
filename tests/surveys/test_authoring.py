"""The survey authoring services (create, update with the anonymity lock, archive, delete, question
delete and move), the one NPS counting method and the anonymity threshold setting."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from surveys import selectors, services
from surveys.models import Answer, NpsFigures, Question, QuestionKind, Response, Survey, nps_score
from tests.partners.factories import TierFactory, UserFactory

from .factories import AnswerFactory, QuestionFactory, ResponseFactory, SurveyFactory, WaveFactory

pytestmark = pytest.mark.django_db


def _errors(excinfo):
    return {field: [str(message) for message in messages] for field, messages in excinfo.value.message_dict.items()}


# --- NPS ------------------------------------------------------------------------------------------


def _nps_answers(scores, **survey_fields):
    wave = WaveFactory(survey=SurveyFactory(**survey_fields))
    question = QuestionFactory(survey=wave.survey, kind=QuestionKind.NPS)
    for score in scores:
        AnswerFactory(response=ResponseFactory(wave=wave), question=question, number=score)
    return wave, Answer.objects.filter(question=question)


@pytest.mark.parametrize(
    ("scores", "expected", "score"),
    [
        ([10, 9, 8, 7, 6, 0], NpsFigures(count=6, promoters=2, passives=2, detractors=2), Decimal(0)),
        ([10, 10, 10, 0], NpsFigures(count=4, promoters=3, passives=0, detractors=1), Decimal(50)),
    ],
)
def test_nps_counts_gives_the_hand_computed_result(scores, expected, score, django_assert_num_queries):
    _wave, answers = _nps_answers(scores)

    with django_assert_num_queries(1):
        figures = answers.nps_counts()

    assert figures == expected
    assert figures.score == score
    assert NpsFigures.from_scores(scores) == expected  # the Python count agrees with the SQL one


def test_nps_by_groups_and_the_pure_arithmetic():
    wave, answers = _nps_answers([10, 9, 6])
    rows = list(answers.nps_by("response__wave_id").order_by())

    assert [NpsFigures.from_row(row) for row in rows] == [NpsFigures(3, 2, 0, 1)]
    assert rows[0]["response__wave_id"] == wave.pk
    assert nps_score(count=4, promoters=3, detractors=1) == Decimal(50)
    assert nps_score(count=0, promoters=0, detractors=0) is None


# --- anonymity threshold setting ------------------------------------------------------------------


def test_the_anonymity_threshold_is_the_setting(settings):
    wave, _answers = _nps_answers([10, 10, 10], is_anonymous=True)

    settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN = 5
    assert selectors.wave_results(wave=wave).hidden
    assert selectors.nps_trend(survey=wave.survey) == [(wave, None)]

    settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN = 3
    assert not selectors.wave_results(wave=wave).hidden
    assert selectors.nps_trend(survey=wave.survey) == [(wave, NpsFigures(3, 3, 0, 0))]


# --- surveys --------------------------------------------------------------------------------------


def test_survey_create_sets_the_author_and_the_audience():
    manager, gold = UserFactory(), TierFactory(name="Gold", rank=3)

    survey = services.survey_create(by=manager, title="Pulse", partner_types=["msp"], tiers=[gold], is_anonymous=True)

    survey.refresh_from_db()
    assert (survey.title, survey.created_by, survey.partner_types, list(survey.tiers.all()), survey.is_anonymous) == (
        "Pulse",
        manager,
        ["msp"],
        [gold],
        True,
    )


class TestAnonymityLock:
    def test_anonymity_changes_freely_before_the_first_wave(self):
        survey = SurveyFactory(is_anonymous=False)

        services.survey_update(survey=survey, is_anonymous=True, one_response_per_partner=True)

        survey.refresh_from_db()
        assert (survey.is_anonymous, survey.one_response_per_partner) == (True, True)

    @pytest.mark.parametrize("name", ["is_anonymous", "one_response_per_partner"])
    def test_refused_once_a_wave_exists_keyed_on_the_field(self, name):
        survey = SurveyFactory(is_anonymous=False, one_response_per_partner=False)
        WaveFactory(survey=survey)

        with pytest.raises(ValidationError) as excinfo:
            services.survey_update(survey=survey, **{name: True}, max_reminders=4)

        assert _errors(excinfo) == {name: ["This cannot change once the survey has a wave."]}
        survey.refresh_from_db()
        assert (getattr(survey, name), survey.max_reminders) == (False, 2)

    def test_the_same_value_and_other_settings_pass(self):
        survey = SurveyFactory(is_anonymous=True)
        WaveFactory(survey=survey)

        services.survey_update(survey=survey, is_anonymous=True, title="Renamed")

        survey.refresh_from_db()
        assert (survey.title, survey.is_anonymous) == ("Renamed", True)

    def test_an_instance_already_changed_is_checked_against_the_stored_value(self):
        survey = SurveyFactory(is_anonymous=False)
        WaveFactory(survey=survey)
        survey.is_anonymous = True  # as a form's validation sets it on its instance

        with pytest.raises(ValidationError):
            services.survey_update(survey=survey, is_anonymous=True)

        assert not Survey.objects.get(pk=survey.pk).is_anonymous

    def test_the_form_disables_the_locked_fields(self):
        from surveys.forms import SurveyForm

        survey = SurveyFactory()
        assert not SurveyForm(instance=survey).fields["is_anonymous"].disabled
        WaveFactory(survey=survey)
        form = SurveyForm(instance=survey)
        assert form.fields["is_anonymous"].disabled
        assert form.fields["one_response_per_partner"].disabled


def test_survey_archive_and_back():
    survey = SurveyFactory(is_archived=False)

    services.survey_archive(survey=survey)
    assert Survey.objects.get(pk=survey.pk).is_archived

    services.survey_archive(survey=survey, archived=False)
    assert not Survey.objects.get(pk=survey.pk).is_archived


def test_survey_delete_refuses_a_survey_with_waves():
    kept, gone = SurveyFactory(), SurveyFactory()
    WaveFactory(survey=kept)

    with pytest.raises(ValidationError):
        services.survey_delete(survey=kept)
    services.survey_delete(survey=gone)

    assert list(Survey.objects.values_list("pk", flat=True)) == [kept.pk]


# --- questions ------------------------------------------------------------------------------------


def _positions(survey):
    return list(Question.objects.filter(survey=survey).order_by("position", "pk").values_list("text", "position"))


class TestQuestionMove:
    @pytest.fixture
    def survey(self):
        survey = SurveyFactory()
        for position, text in enumerate("abc"):
            QuestionFactory(survey=survey, text=text, position=position * 10)  # gaps are renumbered
        return survey

    def test_down_then_up(self, survey):
        a = Question.objects.get(survey=survey, text="a")

        assert services.question_move(question=a, direction="down")
        assert _positions(survey) == [("b", 0), ("a", 1), ("c", 2)]

        assert services.question_move(question=a, direction="up")
        assert _positions(survey) == [("a", 0), ("b", 1), ("c", 2)]

    def test_the_first_does_not_move_up_nor_the_last_down(self, survey):
        assert not services.question_move(question=Question.objects.get(survey=survey, text="a"), direction="up")
        assert not services.question_move(question=Question.objects.get(survey=survey, text="c"), direction="down")
        assert _positions(survey) == [("a", 0), ("b", 1), ("c", 2)]

    def test_an_unknown_direction_is_refused(self, survey):
        with pytest.raises(ValidationError) as excinfo:
            services.question_move(question=Question.objects.get(survey=survey, text="b"), direction="sideways")
        assert "direction" in _errors(excinfo)


def test_question_delete_refuses_an_answered_question():
    wave = WaveFactory()
    answered = QuestionFactory(survey=wave.survey, kind=QuestionKind.NPS)
    unanswered = QuestionFactory(survey=wave.survey, kind=QuestionKind.TEXT)
    AnswerFactory(response=ResponseFactory(wave=wave), question=answered, number=9)

    with pytest.raises(ValidationError):
        services.question_delete(question=answered)
    services.question_delete(question=unanswered)

    assert list(Question.objects.values_list("pk", flat=True)) == [answered.pk]
    assert Response.objects.count() == 1
