"""Celery tasks of the feedback loop: a few lines each over `services` and `notifications`."""

from celery import shared_task
from django.utils import timezone

from core.tasks import RETRY, ChannelTask

from . import notifications, services
from .models import Wave


@shared_task(base=ChannelTask, **RETRY)
def send_wave_invitations(*, wave_id):
    """Create a wave's invitations once and e-mail each invited user."""
    wave = Wave.objects.get(pk=wave_id)
    for invitation_id in services.wave_invite(wave=wave):
        notifications.send_invitation(invitation_id=invitation_id)


@shared_task(base=ChannelTask)
def open_due_waves():
    """Beat: invite the audience of waves whose opening time has come; open this period's pulse waves."""
    services.pulse_waves_create()
    now = timezone.now()
    for wave_id in Wave.objects.filter(invitations_sent_at__isnull=True, opens_at__lte=now, closes_at__gt=now).values_list("pk", flat=True):
        send_wave_invitations.delay(wave_id=wave_id)


@shared_task(base=ChannelTask)
def send_survey_reminders():
    """Beat: remind who has not answered, at most the survey's number of times, never after the close."""
    for invitation_id in services.due_reminders():
        if services.reminder_mark_sent(invitation_id=invitation_id):
            notifications.send_reminder(invitation_id=invitation_id)


@shared_task(base=ChannelTask, **RETRY)
def notify_idea_author(*, idea_id, event_id):
    notifications.idea_event(idea_id=idea_id, event_id=event_id)


@shared_task(base=ChannelTask, **RETRY)
def notify_managers_of_idea(*, idea_id):
    notifications.idea_posted(idea_id=idea_id)


@shared_task(base=ChannelTask, **RETRY)
def notify_managers_of_comment(*, idea_id, event_id):
    notifications.idea_commented(idea_id=idea_id, event_id=event_id)
