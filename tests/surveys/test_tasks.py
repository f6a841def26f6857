"""Celery tasks of the feedback loop, run eagerly (CELERY_TASK_ALWAYS_EAGER in the test settings):
invitations, the beat task that opens waves, reminders over several runs, idea notifications, and
the beat schedules that migrate creates.

The tasks read the clock themselves; "time passes" by moving the invitations' own dates back.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.schedules import ensure_schedules
from partners.models import PartnerStatus
from surveys import schedules, services, tasks
from surveys.models import Choice, IdeaEvent, IdeaKind, IdeaStatus, Invitation, Question, QuestionKind, Recurrence, Survey, Wave
from tests.partners.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def make_survey(**fields):
    survey = Survey.objects.create(title=fields.pop("title", "Partner satisfaction"), **fields)
    Question.objects.create(survey=survey, kind=QuestionKind.NPS, text="Would you recommend us?", position=1)
    single = Question.objects.create(survey=survey, kind=QuestionKind.SINGLE, text="Main line?", position=2, is_required=False)
    Choice.objects.create(question=single, text="Routers")
    return survey


def make_wave(survey, name="Pilot wave", *, opens_in=timedelta(days=-1), closes_in=timedelta(days=20)):
    now = timezone.now()
    return Wave.objects.create(survey=survey, name=name, opens_at=now + opens_in, closes_at=now + closes_in)


def recipients(mailoutbox):
    return sorted(address for message in mailoutbox for address in message.to)


@pytest.fixture
def audience():
    """Two active partners with two portal users each, and users who must never be mailed."""
    users = []
    for _ in range(2):
        partner = PartnerFactory()
        users += [MembershipFactory(partner=partner).user for _ in range(2)]
    MembershipFactory(partner=PartnerFactory(status=PartnerStatus.CHURNED))
    MembershipFactory(user__is_active=False)
    return users


class TestSendWaveInvitations:
    def test_e_mails_every_invited_user_once(self, audience, mailoutbox):
        wave = make_wave(make_survey(title="Q3 satisfaction"))

        tasks.send_wave_invitations.delay(wave_id=wave.pk)
        tasks.send_wave_invitations.delay(wave_id=wave.pk)  # a retry, or a second beat run

        assert recipients(mailoutbox) == sorted(user.email for user in audience)
        assert Invitation.objects.filter(wave=wave).count() == 4
        message = mailoutbox[0]
        assert message.subject == "Your opinion, please: Q3 satisfaction"
        invitation = Invitation.objects.get(wave=wave, user__email=message.to[0])
        assert f"http://testserver/portal/surveys/{invitation.pk}/" in message.body

    def test_a_wave_created_now_invites_after_commit(self, audience, mailoutbox, django_capture_on_commit_callbacks):
        survey = make_survey()
        now = timezone.now()

        with django_capture_on_commit_callbacks(execute=True):
            wave = services.wave_create(survey=survey, name="Now", opens_at=now, closes_at=now + timedelta(days=14))

        assert len(mailoutbox) == 4
        assert Invitation.objects.filter(wave=wave).count() == 4


class TestOpenDueWaves:
    def test_invites_scheduled_waves_whose_time_came(self, audience, mailoutbox):
        survey = make_survey()
        due = make_wave(survey, "Due", opens_in=timedelta(minutes=-5))
        future = make_wave(survey, "Future", opens_in=timedelta(days=2))
        closed = make_wave(survey, "Closed", opens_in=timedelta(days=-30), closes_in=timedelta(days=-1))

        tasks.open_due_waves.delay()

        assert Invitation.objects.filter(wave=due).count() == 4
        assert not Invitation.objects.filter(wave__in=[future, closed]).exists()
        assert len(mailoutbox) == 4
        future.refresh_from_db()
        assert future.invitations_sent_at is None

    def test_the_next_run_sends_nothing_new(self, audience, mailoutbox):
        make_wave(make_survey())
        tasks.open_due_waves.delay()

        tasks.open_due_waves.delay()

        assert len(mailoutbox) == 4

    def test_a_future_wave_is_invited_once_its_time_comes(self, audience, mailoutbox):
        wave = make_wave(make_survey(), opens_in=timedelta(hours=1))
        tasks.open_due_waves.delay()
        assert mailoutbox == []

        Wave.objects.filter(pk=wave.pk).update(opens_at=timezone.now() - timedelta(minutes=1))  # an hour later
        tasks.open_due_waves.delay()

        assert len(mailoutbox) == 4

    def test_opens_this_periods_pulse_wave_and_invites_once(self, audience, mailoutbox, django_capture_on_commit_callbacks):
        survey = make_survey(recurrence=Recurrence.QUARTERLY)
        today = timezone.localdate()

        with django_capture_on_commit_callbacks(execute=True):
            tasks.open_due_waves.delay()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.open_due_waves.delay()

        (wave,) = Wave.objects.filter(survey=survey)
        assert wave.name == f"Q{(today.month - 1) // 3 + 1} {today.year}"
        assert wave.is_open()
        assert len(mailoutbox) == 4  # the beat task and the wave's own on-commit task both ran: still one each


class TestSendSurveyReminders:
    @pytest.fixture
    def invited(self, audience):
        """A wave (2 reminders at most, 7 days apart) that invited everybody 8 days ago."""
        survey = make_survey(title="Q3 satisfaction", max_reminders=2, reminder_interval_days=7)
        wave = make_wave(survey, opens_in=timedelta(days=-8))
        services.wave_invite(wave=wave)
        Invitation.objects.filter(wave=wave).update(sent_at=timezone.now() - timedelta(days=8))
        return wave

    @staticmethod
    def _days_pass(wave, days):
        """Move the wave's clock: every date of its invitations moves `days` into the past."""
        for invitation in Invitation.objects.filter(wave=wave):
            invitation.sent_at -= timedelta(days=days)
            if invitation.last_reminded_at:
                invitation.last_reminded_at -= timedelta(days=days)
            invitation.save(update_fields=["sent_at", "last_reminded_at"])

    def test_sends_at_most_max_reminders_over_several_runs(self, invited, audience, mailoutbox):
        sent_per_run = []
        for _run in range(5):
            tasks.send_survey_reminders.delay()
            tasks.send_survey_reminders.delay()  # the hourly beat runs again before the interval passed
            sent_per_run.append(len(mailoutbox) - sum(sent_per_run))
            self._days_pass(invited, 7)

        assert sent_per_run == [4, 4, 0, 0, 0]
        assert recipients(mailoutbox) == sorted([user.email for user in audience] * 2)
        assert {message.subject for message in mailoutbox} == {"Reminder: Q3 satisfaction"}
        assert set(Invitation.objects.filter(wave=invited).values_list("reminders_sent", flat=True)) == {2}

    def test_not_before_the_interval(self, invited, mailoutbox):
        tasks.send_survey_reminders.delay()
        self._days_pass(invited, 6)

        tasks.send_survey_reminders.delay()

        assert len(mailoutbox) == 4

    def test_none_after_the_close(self, invited, mailoutbox):
        tasks.send_survey_reminders.delay()
        Wave.objects.filter(pk=invited.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
        self._days_pass(invited, 7)

        tasks.send_survey_reminders.delay()

        assert len(mailoutbox) == 4  # the first run only

    def test_who_answered_is_not_reminded(self, invited, audience, mailoutbox):
        answered = Invitation.objects.get(wave=invited, user=audience[0])
        services.response_submit(invitation=answered, data={str(invited.survey.questions.first().pk): 9})

        tasks.send_survey_reminders.delay()

        assert recipients(mailoutbox) == sorted(user.email for user in audience[1:])


class TestIdeaNotifications:
    def test_the_author_is_told_of_a_status_change(self, partner_a, user_a, manager_user, mailoutbox):
        idea = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="Dutch kits", body="Please.")
        event = IdeaEvent.objects.create(
            idea=idea, partner=partner_a, kind=IdeaEvent.Kind.STATUS, author=manager_user, from_status="new", to_status="planned"
        )

        tasks.notify_idea_author.delay(idea_id=idea.pk, event_id=event.pk)

        (message,) = mailoutbox
        assert message.to == [user_a.email]
        assert message.subject == "Update on “Dutch kits”"
        assert f"The status of “Dutch kits” is now: {IdeaStatus.PLANNED.label}." in message.body
        assert f"http://testserver/portal/ideas/{idea.pk}/" in message.body

    def test_an_author_who_left_is_not_mailed(self, partner_a, user_a, manager_user, mailoutbox):
        idea = services.idea_post(partner=partner_a, author=user_a, kind=IdeaKind.IDEA, title="Dutch kits", body="Please.")
        event = services.idea_reply(idea=idea, by=manager_user, body="Thanks")
        user_a.delete()

        tasks.notify_idea_author.delay(idea_id=idea.pk, event_id=event.pk)

        assert mailoutbox == []


class TestBeatSchedules:
    def test_exist_after_migrate(self):
        for name, (task, minutes) in schedules.SCHEDULES.items():
            periodic = PeriodicTask.objects.get(name=name)
            assert periodic.task == task
            assert periodic.enabled
            assert (periodic.interval.every, periodic.interval.period) == (minutes, IntervalSchedule.MINUTES)

    def test_name_real_tasks(self):
        from celery import current_app

        for task, _minutes in schedules.SCHEDULES.values():
            assert task in current_app.tasks, task

    def test_an_edited_schedule_is_kept(self):
        name = next(iter(schedules.SCHEDULES))
        hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
        PeriodicTask.objects.filter(name=name).update(interval=hourly, enabled=False)

        ensure_schedules()

        periodic = PeriodicTask.objects.get(name=name)
        assert (periodic.interval_id, periodic.enabled) == (hourly.pk, False)
        assert PeriodicTask.objects.filter(name__in=schedules.SCHEDULES).count() == len(schedules.SCHEDULES)

    def test_a_deleted_schedule_comes_back(self):
        PeriodicTask.objects.filter(name__in=schedules.SCHEDULES).delete()

        ensure_schedules()

        assert set(PeriodicTask.objects.filter(name__in=schedules.SCHEDULES).values_list("name", flat=True)) == set(schedules.SCHEDULES)
