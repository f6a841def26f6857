"""The feedback loop's REST API: surveys, waves, responses and ideas under /api/v1/.

Personas (tests/conftest.py): `admin_a` and `user_a` belong to partner A, `admin_b` to partner B,
who must never see A's ideas, invitations or answers. Every negative test has a positive side, so a
scope that returned nothing at all would fail as loudly as one that leaked.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from surveys.models import Answer, Choice, Idea, IdeaEvent, IdeaKind, IdeaStatus, Invitation, Question, QuestionKind, Response, Survey, Wave
from tests.partners.factories import MembershipFactory, PartnerFactory, TierFactory

pytestmark = pytest.mark.django_db

MISSING_PK = 2_147_483_000


def token_client(user):
    return APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


@pytest.fixture
def api(manager_user):
    return token_client(manager_user)


@pytest.fixture
def api_a(admin_a):
    return token_client(admin_a)


@pytest.fixture
def api_user_a(user_a):
    return token_client(user_a)


@pytest.fixture
def api_b(admin_b):
    return token_client(admin_b)


class Questionnaire:
    """A survey with an NPS, a rating and a single-choice question, and an open wave."""

    def __init__(self, title="Partner satisfaction", **fields):
        self.survey = Survey.objects.create(title=title, **fields)
        self.nps = Question.objects.create(survey=self.survey, kind=QuestionKind.NPS, text="Recommend us?", position=1)
        self.rating = Question.objects.create(survey=self.survey, kind=QuestionKind.RATING, text="Support?", position=2)
        self.single = Question.objects.create(survey=self.survey, kind=QuestionKind.SINGLE, text="Main line?", position=3)
        self.routers = Choice.objects.create(question=self.single, text="Routers", position=1)
        self.switches = Choice.objects.create(question=self.single, text="Switches", position=2)
        now = timezone.now()
        self.wave = Wave.objects.create(
            survey=self.survey, name="Pilot", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=9)
        )

    def invite(self, user, partner):
        return Invitation.objects.create(wave=self.wave, partner=partner, user=user, sent_at=self.wave.opens_at)

    def answers(self, **overrides):
        data = {str(self.nps.pk): 9, str(self.rating.pk): 4, str(self.single.pk): self.routers.pk}
        data.update({str(getattr(self, name).pk): value for name, value in overrides.items()})
        return data


@pytest.fixture
def q():
    return Questionnaire()


@pytest.fixture
def invitation_a(q, admin_a, partner_a):
    return q.invite(admin_a, partner_a)


@pytest.fixture
def invitation_b(q, admin_b, partner_b):
    return q.invite(admin_b, partner_b)


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- surveys -------------------------------------------------------------------------------------


class TestSurveysAsManager:
    def test_lists_every_survey_with_questions_and_choices(self, api, q):
        other = Questionnaire(title="Onboarding")

        response = api.get("/api/v1/surveys/")

        assert _ids(response) == {q.survey.pk, other.survey.pk}
        row = next(row for row in response.json()["results"] if row["id"] == q.survey.pk)
        assert [(question["kind"], question["text"]) for question in row["questions"]] == [
            ("nps", "Recommend us?"),
            ("rating", "Support?"),
            ("single", "Main line?"),
        ]
        assert [choice["text"] for choice in row["questions"][2]["choices"]] == ["Routers", "Switches"]

    def test_the_list_costs_the_same_with_more_surveys(self, api, q):
        with CaptureQueriesContext(connection) as one:
            api.get("/api/v1/surveys/")
        for index in range(3):
            Questionnaire(title=f"More {index}")
        with CaptureQueriesContext(connection) as four:
            response = api.get("/api/v1/surveys/")

        assert len(response.json()["results"]) == 4
        assert len(four) == len(one)

    def test_creates_updates_and_deletes_a_survey(self, api, manager_user):
        gold = TierFactory(name="Gold", rank=3)

        created = api.post(
            "/api/v1/surveys/",
            {"title": "Pulse", "intro": "Two minutes.", "partner_types": ["msp", "var"], "tiers": [gold.pk], "recurrence": "quarterly"},
            format="json",
        )

        assert created.status_code == 201, created.content
        survey = Survey.objects.get(pk=created.json()["id"])
        assert (survey.title, survey.partner_types, list(survey.tiers.all()), survey.created_by) == (
            "Pulse",
            ["msp", "var"],
            [gold],
            manager_user,
        )
        assert created.json()["questions"] == []

        changed = api.patch(f"/api/v1/surveys/{survey.pk}/", {"is_archived": True, "max_reminders": 3}, format="json")
        assert changed.status_code == 200
        survey.refresh_from_db()
        assert (survey.is_archived, survey.max_reminders) == (True, 3)

        assert api.delete(f"/api/v1/surveys/{survey.pk}/").status_code == 204
        assert not Survey.objects.filter(pk=survey.pk).exists()

    def test_an_unknown_partner_type_is_refused(self, api):
        response = api.post("/api/v1/surveys/", {"title": "Pulse", "partner_types": ["pirate"]}, format="json")

        assert response.status_code == 400
        assert "partner_types" in response.json()

    def test_a_survey_with_waves_is_not_deleted(self, api, q, invitation_a):
        response = api.delete(f"/api/v1/surveys/{q.survey.pk}/")

        assert response.status_code == 409
        assert Survey.objects.filter(pk=q.survey.pk).exists()
        assert Invitation.objects.filter(pk=invitation_a.pk).exists()

    def test_anonymity_cannot_change_once_a_wave_exists(self, api, q):
        response = api.patch(f"/api/v1/surveys/{q.survey.pk}/", {"is_anonymous": True}, format="json")

        assert response.status_code == 400
        assert "is_anonymous" in response.json()
        assert api.patch(f"/api/v1/surveys/{q.survey.pk}/", {"title": "Renamed"}, format="json").status_code == 200


class TestSurveysAsPartnerUser:
    def test_lists_only_surveys_of_waves_the_user_was_invited_to(self, api_a, api_user_a, api_b, q, invitation_a, invitation_b):
        only_b = Questionnaire(title="Only B")
        only_b.invite(invitation_b.user, invitation_b.partner)
        Questionnaire(title="Nobody invited")

        assert _ids(api_a.get("/api/v1/surveys/")) == {q.survey.pk}
        assert _ids(api_b.get("/api/v1/surveys/")) == {q.survey.pk, only_b.survey.pk}
        assert _ids(api_user_a.get("/api/v1/surveys/")) == set()  # a colleague's invitation is not the user's

    def test_another_survey_is_404_like_a_missing_one(self, api_a, invitation_a, admin_b, partner_b):
        only_b = Questionnaire(title="Only B")
        only_b.invite(admin_b, partner_b)

        foreign = api_a.get(f"/api/v1/surveys/{only_b.survey.pk}/")
        missing = api_a.get(f"/api/v1/surveys/{MISSING_PK}/")

        assert foreign.status_code == 404
        assert foreign.json() == missing.json()
        own = api_a.get(f"/api/v1/surveys/{invitation_a.wave.survey_id}/")
        assert own.status_code == 200
        assert [question["text"] for question in own.json()["questions"]] == ["Recommend us?", "Support?", "Main line?"]

    def test_writes_are_refused(self, api_a, q, invitation_a):
        assert api_a.post("/api/v1/surveys/", {"title": "Mine"}, format="json").status_code == 403
        assert api_a.patch(f"/api/v1/surveys/{q.survey.pk}/", {"title": "Taken"}, format="json").status_code == 403
        assert api_a.delete(f"/api/v1/surveys/{q.survey.pk}/").status_code == 403
        assert Survey.objects.get(pk=q.survey.pk).title == "Partner satisfaction"

    def test_signed_out_is_refused(self, q):
        assert APIClient().get("/api/v1/surveys/").status_code in (401, 403)


# --- waves ---------------------------------------------------------------------------------------


class TestWaves:
    def test_a_manager_schedules_a_wave_through_the_service(self, api, q):
        opens = timezone.now() + timedelta(days=2)

        response = api.post(
            "/api/v1/waves/",
            {"survey": q.survey.pk, "name": "Q4", "opens_at": opens.isoformat(), "closes_at": (opens + timedelta(days=14)).isoformat()},
            format="json",
        )

        assert response.status_code == 201, response.content
        assert response.json()["state"] == "scheduled"
        assert response.json()["invitations_sent_at"] is None
        assert Wave.objects.filter(survey=q.survey, name="Q4").exists()

    @pytest.mark.parametrize(
        ("opens_days", "closes_days", "name", "field"),
        [(2, 1, "Q4", "closes_at"), (-30, -1, "Q4", "closes_at"), (1, 9, "Pilot", "name")],
        ids=["close-before-open", "close-in-the-past", "duplicate-name"],
    )
    def test_the_services_rules_answer_400(self, api, q, opens_days, closes_days, name, field):
        now = timezone.now()
        response = api.post(
            "/api/v1/waves/",
            {
                "survey": q.survey.pk,
                "name": name,
                "opens_at": (now + timedelta(days=opens_days)).isoformat(),
                "closes_at": (now + timedelta(days=closes_days)).isoformat(),
            },
            format="json",
        )

        assert response.status_code == 400
        assert field in response.json()
        assert Wave.objects.count() == 1

    def test_a_survey_without_questions_answers_400(self, api):
        survey = Survey.objects.create(title="Empty")
        now = timezone.now()

        response = api.post(
            "/api/v1/waves/",
            {"survey": survey.pk, "name": "Q4", "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=7)).isoformat()},
            format="json",
        )

        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Add at least one question before opening a wave."]}

    def test_partner_users_see_only_their_waves_and_cannot_create(self, api_a, api_b, q, invitation_a, admin_b, partner_b):
        other = Questionnaire(title="Only B")
        other.invite(admin_b, partner_b)

        assert _ids(api_a.get("/api/v1/waves/")) == {q.wave.pk}
        assert _ids(api_b.get("/api/v1/waves/")) == {other.wave.pk}
        assert api_a.get(f"/api/v1/waves/{other.wave.pk}/").status_code == 404
        assert api_a.get(f"/api/v1/waves/{q.wave.pk}/").json()["state"] == "open"
        now = timezone.now()
        payload = {"survey": q.survey.pk, "name": "Mine", "opens_at": now.isoformat(), "closes_at": (now + timedelta(days=7)).isoformat()}
        assert api_a.post("/api/v1/waves/", payload, format="json").status_code == 403

    def test_no_changes_or_deletes(self, api, q):
        assert api.patch(f"/api/v1/waves/{q.wave.pk}/", {"name": "Renamed"}, format="json").status_code == 405
        assert api.delete(f"/api/v1/waves/{q.wave.pk}/").status_code == 405


# --- responses -----------------------------------------------------------------------------------


class TestSubmittingAnswers:
    def test_a_partner_user_answers_its_invitation(self, api_a, q, invitation_a, admin_a, partner_a):
        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": q.answers(nps=10)}, format="json")

        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["invitation"], body["wave"]) == (invitation_a.pk, q.wave.pk)
        stored = Response.objects.get()
        assert (stored.partner, stored.user) == (partner_a, admin_a)
        assert Answer.objects.get(response=stored, question=q.nps).number == 10
        assert list(Answer.objects.get(response=stored, question=q.single).choices.all()) == [q.routers]

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("Fine\x00print", "The answer contains characters that are not allowed."),
            ("x" * 5001, "The answer is too long (5000 characters at most)."),
        ],
    )
    def test_a_nul_or_too_long_text_is_a_400_not_a_500(self, api_a, q, invitation_a, text, message):
        remark = Question.objects.create(survey=q.survey, kind=QuestionKind.TEXT, text="Anything?", position=4, is_required=False)
        data = {**q.answers(), str(remark.pk): text}

        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": data}, format="json")

        assert response.status_code == 400
        assert response.json() == {"answers": {str(remark.pk): [message]}}
        assert not Response.objects.exists()

    def test_invalid_answers_are_a_400_with_messages_by_question(self, api_a, q, invitation_a):
        data = {str(q.nps.pk): 11, str(q.single.pk): [q.routers.pk, q.switches.pk]}  # rating missing

        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": data}, format="json")

        assert response.status_code == 400
        assert response.json() == {
            "answers": {
                str(q.nps.pk): ["Choose a score from 0 to 10."],
                str(q.rating.pk): ["This question needs an answer."],
                str(q.single.pk): ["Choose one option."],
            }
        }
        assert not Response.objects.exists()

    def test_a_choice_of_another_question_and_an_unknown_question(self, api_a, q, invitation_a):
        other = Questionnaire(title="Other")
        data = {**q.answers(single=other.switches.pk), str(other.nps.pk): 3}

        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": data}, format="json")

        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["The answers refer to questions that are not in this survey."],
            "answers": {str(q.single.pk): ["Choose one of the options shown."]},
        }

    @pytest.mark.parametrize("score", [9.5, True, "nine"])
    def test_a_score_that_is_no_whole_number_is_refused(self, api_a, q, invitation_a, score):
        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": q.answers(nps=score)}, format="json")

        assert response.status_code == 400
        assert list(response.json()["answers"]) == [str(q.nps.pk)]

    def test_a_choice_id_that_is_no_whole_number_is_refused(self, api_a, q, invitation_a):
        # Found while fuzzing: 12.5 went through int() as choice 12 and was recorded.
        answers = q.answers(single=q.routers.pk + 0.5)
        response = api_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": answers}, format="json")

        assert response.status_code == 400
        assert response.json() == {"answers": {str(q.single.pk): ["Choose one of the options shown."]}}
        assert not Response.objects.exists()

    def test_a_second_submission_and_a_closed_wave_are_400(self, api_a, q, invitation_a):
        payload = {"invitation": invitation_a.pk, "answers": q.answers()}
        assert api_a.post("/api/v1/responses/", payload, format="json").status_code == 201

        again = api_a.post("/api/v1/responses/", payload, format="json")

        assert again.status_code == 400
        assert again.json() == {"non_field_errors": ["You have already answered this survey."]}
        closed = Questionnaire(title="Closed")
        closed_invitation = closed.invite(invitation_a.user, invitation_a.partner)
        Wave.objects.filter(pk=closed.wave.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
        late = api_a.post("/api/v1/responses/", {"invitation": closed_invitation.pk, "answers": closed.answers()}, format="json")
        assert late.status_code == 400
        assert "closed" in late.json()["non_field_errors"][0]

    def test_the_payload_shape_is_checked(self, api_a, invitation_a):
        response = api_a.post("/api/v1/responses/", {"invitation": "x", "answers": [1, 2]}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"invitation", "answers"}

    def test_the_documented_400_body_allows_a_shape_error_on_answers(self, api_a, signed_in_client):
        # Found by schemathesis: {"answers": ["This field is required."]} broke the documented
        # "messages by question id" object.
        body = api_a.post("/api/v1/responses/", {}, format="json").json()
        assert body == {"invitation": ["This field is required."], "answers": ["This field is required."]}
        schema = signed_in_client.get("/api/schema/", {"format": "json"}).json()
        documented = schema["components"]["schemas"]["ResponseError"]["properties"]["answers"]["oneOf"]
        assert {"type": "array", "items": {"type": "string"}} in documented

    def test_another_partners_invitation_is_unknown(self, api_b, q, invitation_a, invitation_b):
        foreign = api_b.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": q.answers()}, format="json")
        missing = api_b.post("/api/v1/responses/", {"invitation": MISSING_PK, "answers": q.answers()}, format="json")

        assert foreign.status_code == 400
        assert foreign.json() == missing.json() == {"invitation": ["You have no such invitation."]}
        assert not Response.objects.exists()
        invitation_a.refresh_from_db()
        assert invitation_a.responded_at is None
        # B's own invitation works
        assert api_b.post("/api/v1/responses/", {"invitation": invitation_b.pk, "answers": q.answers()}, format="json").status_code == 201
        assert list(Response.objects.values_list("partner_id", flat=True)) == [invitation_b.partner_id]

    def test_a_colleagues_invitation_is_unknown_too(self, api_user_a, q, invitation_a):
        response = api_user_a.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": q.answers()}, format="json")

        assert response.status_code == 400
        assert response.json() == {"invitation": ["You have no such invitation."]}
        assert not Response.objects.exists()

    def test_managers_do_not_answer_for_partners(self, api, q, invitation_a):
        response = api.post("/api/v1/responses/", {"invitation": invitation_a.pk, "answers": q.answers()}, format="json")

        assert response.status_code == 403
        assert not Response.objects.exists()


class TestReadingAnswers:
    @pytest.fixture
    def answered(self, api_a, api_b, q, invitation_a, invitation_b):
        for client, invitation in ((api_a, invitation_a), (api_b, invitation_b)):
            assert (
                client.post("/api/v1/responses/", {"invitation": invitation.pk, "answers": q.answers()}, format="json").status_code == 201
            )
        return {response.partner_id: response for response in Response.objects.all()}

    def test_partner_users_cannot_list_or_read_answers_at_all(self, api_a, api_b, answered, partner_a, partner_b):
        own, foreign = answered[partner_b.pk], answered[partner_a.pk]
        for path in ("/api/v1/responses/", f"/api/v1/responses/{own.pk}/", f"/api/v1/responses/{foreign.pk}/"):
            response = api_b.get(path)
            assert response.status_code == 403, path
            assert "Choose" not in response.content.decode()
        assert api_a.get(f"/api/v1/responses/{foreign.pk}/").status_code == 403
        assert api_b.get(f"/api/v1/responses/{MISSING_PK}/").status_code == 403  # existence is not revealed either

    def test_managers_read_every_named_response_with_its_answers(self, api, q, answered, partner_a):
        listed = api.get("/api/v1/responses/", {"wave": q.wave.pk})
        assert _ids(listed) == {response.pk for response in answered.values()}

        one = api.get(f"/api/v1/responses/{answered[partner_a.pk].pk}/")

        assert one.status_code == 200
        body = one.json()
        assert (body["partner"], body["wave"]) == (partner_a.pk, q.wave.pk)
        answers = {answer["question"]: answer for answer in body["answers"]}
        assert answers[q.nps.pk]["number"] == 9
        assert answers[q.single.pk]["choices"] == [q.routers.pk]

    def test_the_list_costs_the_same_with_more_responses(self, api, q, answered):
        with CaptureQueriesContext(connection) as two:
            api.get("/api/v1/responses/")
        for _ in range(3):
            partner = PartnerFactory()
            membership = MembershipFactory(partner=partner)
            client = token_client(membership.user)
            invitation = q.invite(membership.user, partner)
            assert (
                client.post("/api/v1/responses/", {"invitation": invitation.pk, "answers": q.answers()}, format="json").status_code == 201
            )
        with CaptureQueriesContext(connection) as five:
            response = api.get("/api/v1/responses/")

        assert len(response.json()["results"]) == 5
        assert len(five) == len(two)

    def test_anonymous_surveys_are_never_listed(self, api, api_a, admin_a, partner_a):
        anonymous = Questionnaire(title="Anonymous", is_anonymous=True)
        invitation = anonymous.invite(admin_a, partner_a)
        assert (
            api_a.post("/api/v1/responses/", {"invitation": invitation.pk, "answers": anonymous.answers()}, format="json").status_code
            == 201
        )
        stored = Response.objects.get(wave=anonymous.wave)

        assert stored.user is None
        assert stored.pk not in _ids(api.get("/api/v1/responses/"))
        assert api.get(f"/api/v1/responses/{stored.pk}/").status_code == 404


# --- ideas ---------------------------------------------------------------------------------------


@pytest.fixture
def idea_a(partner_a, user_a):
    return Idea.objects.create(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="Alpha idea", body="Secret alpha plan")


@pytest.fixture
def idea_b(partner_b, admin_b):
    return Idea.objects.create(partner=partner_b, author=admin_b, kind=IdeaKind.CONCERN, title="Beta concern", body="Beta body")


class TestIdeasAsPartnerUser:
    def test_posts_an_idea_for_its_own_company(self, api_a, admin_a, partner_a, partner_b):
        response = api_a.post(
            "/api/v1/ideas/", {"kind": "question", "title": " Who to call? ", "body": "At night.", "partner": partner_b.pk}, format="json"
        )

        assert response.status_code == 201, response.content
        idea = Idea.objects.get(pk=response.json()["id"])
        assert (idea.partner, idea.author, idea.kind, idea.title, idea.status) == (partner_a, admin_a, "question", "Who to call?", "new")
        assert response.json()["events"] == []

    def test_a_post_without_a_title_is_400(self, api_a):
        response = api_a.post("/api/v1/ideas/", {"kind": "idea", "title": "", "body": "x"}, format="json")

        assert response.status_code == 400
        assert "title" in response.json()

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"title": "t" * 201, "body": "x"}, "title"),
            ({"title": "T", "body": "b" * 10_001}, "body"),
            ({"title": "T\x00", "body": "x"}, "title"),
            ({"title": "T", "body": "b\x00"}, "body"),
            ({"title": "T", "body": "   "}, "body"),
        ],
    )
    def test_too_long_blank_or_nul_input_is_a_400_naming_the_field(self, api_a, payload, field):
        response = api_a.post("/api/v1/ideas/", {"kind": "idea", **payload}, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Idea.objects.exists()

    def test_lists_its_own_companys_ideas_with_their_history(self, api_a, api_user_a, idea_a, idea_b, manager_user):
        IdeaEvent.objects.create(idea=idea_a, partner=idea_a.partner, kind=IdeaEvent.Kind.REPLY, author=manager_user, body="On it")

        listed = api_user_a.get("/api/v1/ideas/")  # a colleague of the author sees it too

        assert _ids(listed) == {idea_a.pk}
        (row,) = listed.json()["results"]
        assert [(event["kind"], event["body"], event["author_name"]) for event in row["events"]] == [("reply", "On it", "Maria Manager")]
        # filtering on another partner is refused exactly like a partner that does not exist
        foreign, missing = api_a.get("/api/v1/ideas/", {"partner": idea_b.partner_id}), api_a.get("/api/v1/ideas/", {"partner": MISSING_PK})
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
        assert "Beta" not in foreign.content.decode()

    def test_another_partners_idea_is_404_like_a_missing_one(self, api_b, idea_a, idea_b):
        foreign = api_b.get(f"/api/v1/ideas/{idea_a.pk}/")
        missing = api_b.get(f"/api/v1/ideas/{MISSING_PK}/")

        assert foreign.status_code == 404
        assert foreign.json() == missing.json()
        assert "Alpha" not in foreign.content.decode()
        assert api_b.get(f"/api/v1/ideas/{idea_a.pk}.json").status_code == 404  # the router's format suffix route too
        assert api_b.get(f"/api/v1/ideas/{idea_b.pk}/").status_code == 200
        assert api_b.get(f"/api/v1/ideas/{idea_b.pk}.json").status_code == 200

    def test_cannot_list_another_partners_ideas(self, api_b, idea_a, idea_b):
        response = api_b.get("/api/v1/ideas/", {"search": "alpha"})

        assert _ids(response) == set()
        assert "Secret alpha plan" not in api_b.get("/api/v1/ideas/").content.decode()
        assert _ids(api_b.get("/api/v1/ideas/")) == {idea_b.pk}

    def test_cannot_triage_even_its_own_ideas(self, api_a, api_b, idea_a):
        for client in (api_a, api_b):
            assert client.post(f"/api/v1/ideas/{idea_a.pk}/set-status/", {"status": "done"}, format="json").status_code == 403
            assert client.post(f"/api/v1/ideas/{idea_a.pk}/reply/", {"body": "Taken"}, format="json").status_code == 403
            assert client.post(f"/api/v1/ideas/{idea_a.pk}/merge/", {"into": idea_a.pk}, format="json").status_code == 403
        idea_a.refresh_from_db()
        assert idea_a.status == IdeaStatus.NEW
        assert not IdeaEvent.objects.exists()

    def test_cannot_change_or_delete(self, api_a, idea_a):
        assert api_a.patch(f"/api/v1/ideas/{idea_a.pk}/", {"title": "Changed"}, format="json").status_code == 405
        assert api_a.delete(f"/api/v1/ideas/{idea_a.pk}/").status_code == 405
        assert Idea.objects.get(pk=idea_a.pk).title == "Alpha idea"


class TestIdeasAsManager:
    def test_lists_every_idea_and_filters_by_status(self, api, idea_a, idea_b):
        Idea.objects.filter(pk=idea_b.pk).update(status=IdeaStatus.PLANNED)

        assert _ids(api.get("/api/v1/ideas/")) == {idea_a.pk, idea_b.pk}
        assert _ids(api.get("/api/v1/ideas/", {"status": "planned"})) == {idea_b.pk}

    def test_changes_the_status_through_the_service(self, api, idea_a, manager_user):
        response = api.post(f"/api/v1/ideas/{idea_a.pk}/set-status/", {"status": "planned", "note": "Next release."}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "planned"
        assert [(e["kind"], e["from_status"], e["to_status"], e["body"]) for e in response.json()["events"]] == [
            ("status", "new", "planned", "Next release.")
        ]
        event = IdeaEvent.objects.get(idea=idea_a)
        assert event.author == manager_user
        assert Idea.objects.get(pk=idea_a.pk).first_answered_at is not None

    def test_the_same_or_an_unknown_status_is_400(self, api, idea_a):
        same = api.post(f"/api/v1/ideas/{idea_a.pk}/set-status/", {"status": "new"}, format="json")
        unknown = api.post(f"/api/v1/ideas/{idea_a.pk}/set-status/", {"status": "shelved"}, format="json")

        assert same.status_code == 400
        assert same.json() == {"status": ["The idea already has this status."]}
        assert unknown.status_code == 400
        assert "status" in unknown.json()
        assert not IdeaEvent.objects.exists()

    def test_replies(self, api, idea_a):
        response = api.post(f"/api/v1/ideas/{idea_a.pk}/reply/", {"body": "Thanks, we will look into it."}, format="json")

        assert response.status_code == 201
        assert (response.json()["kind"], response.json()["author_name"]) == ("reply", "Maria Manager")
        assert IdeaEvent.objects.get(idea=idea_a).body == "Thanks, we will look into it."
        assert api.post(f"/api/v1/ideas/{idea_a.pk}/reply/", {"body": "   "}, format="json").status_code == 400

    @pytest.mark.parametrize(
        ("action", "payload", "field"),
        [
            ("reply", {"body": "x" * 5001}, "body"),
            ("reply", {"body": "a\x00b"}, "body"),
            ("set-status", {"status": "planned", "note": "x" * 5001}, "note"),
            ("set-status", {"status": "planned", "note": "a\x00b"}, "note"),
        ],
    )
    def test_too_long_or_nul_triage_input_is_a_400(self, api, idea_a, action, payload, field):
        response = api.post(f"/api/v1/ideas/{idea_a.pk}/{action}/", payload, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not IdeaEvent.objects.exists()

    def test_merges_a_duplicate(self, api, idea_a, idea_b):
        response = api.post(f"/api/v1/ideas/{idea_b.pk}/merge/", {"into": idea_a.pk}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["merged_into"] == idea_a.pk
        assert Idea.objects.get(pk=idea_b.pk).merged_into_id == idea_a.pk
        # the merge rules of the service answer 400
        assert api.post(f"/api/v1/ideas/{idea_a.pk}/merge/", {"into": idea_a.pk}, format="json").status_code == 400
        assert api.post(f"/api/v1/ideas/{idea_a.pk}/merge/", {"into": idea_b.pk}, format="json").status_code == 400
        missing = api.post(f"/api/v1/ideas/{idea_a.pk}/merge/", {"into": MISSING_PK}, format="json")
        assert missing.status_code == 400
        assert missing.json() == {"into": ["No such idea."]}

    def test_an_unknown_idea_is_404(self, api):
        assert api.post(f"/api/v1/ideas/{MISSING_PK}/set-status/", {"status": "done"}, format="json").status_code == 404

    def test_managers_do_not_post_ideas_for_partners(self, api, partner_a):
        response = api.post("/api/v1/ideas/", {"kind": "idea", "title": "T", "body": "B", "partner": partner_a.pk}, format="json")

        assert response.status_code == 403
        assert not Idea.objects.exists()


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_the_endpoints_without_warnings(tmp_path, settings):
    settings.DEBUG = True
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")

    schema = target.read_text()
    for path in (
        "/api/v1/surveys/{id}/:",
        "/api/v1/waves/{id}/:",
        "/api/v1/responses/:",
        "/api/v1/responses/{id}/:",
        "/api/v1/ideas/{id}/set-status/:",
        "/api/v1/ideas/{id}/reply/:",
        "/api/v1/ideas/{id}/merge/:",
    ):
        assert path in schema
