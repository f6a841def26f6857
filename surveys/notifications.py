"""E-mails of the feedback loop (templates/emails/survey_*, idea_*)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from partners.tenancy import MANAGER_GROUP

from .models import Idea, IdeaEvent, Invitation

User = get_user_model()


def _send(*, template, context, to):
    if not to:
        return
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def _invitation_context(invitation_id):
    invitation = Invitation.objects.select_related("wave__survey", "user", "partner").get(pk=invitation_id)
    link = settings.SITE_URL + reverse("portal:survey_answer", args=[invitation.pk])
    return invitation, {"invitation": invitation, "wave": invitation.wave, "survey": invitation.wave.survey, "link": link}


def send_invitation(*, invitation_id):
    invitation, context = _invitation_context(invitation_id)
    _send(template="survey_invitation", context=context, to=[invitation.user.email])


def send_reminder(*, invitation_id):
    invitation, context = _invitation_context(invitation_id)
    _send(template="survey_reminder", context=context, to=[invitation.user.email])


def idea_event(*, idea_id, event_id):
    idea = Idea.objects.select_related("author", "merged_into").get(pk=idea_id)
    event = IdeaEvent.objects.select_related("author").get(pk=event_id)
    if idea.author is None or not idea.author.is_active or not idea.author.email:
        return
    link = settings.SITE_URL + reverse("portal:idea_detail", args=[idea.pk])
    _send(template="idea_update", context={"idea": idea, "event": event, "link": link}, to=[idea.author.email])


def channel_team_emails(partner):
    """Who hears of a partner's posts and comments: its account manager, or else every active channel manager."""
    manager = partner.account_manager
    if manager is not None and manager.is_active and manager.email:
        return [manager.email]
    return sorted(
        set(
            User.objects.filter(Q(groups__name=MANAGER_GROUP) | Q(is_superuser=True), is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def idea_posted(*, idea_id):
    idea = Idea.objects.select_related("partner__account_manager", "author").get(pk=idea_id)
    link = settings.SITE_URL + reverse("surveys:idea_detail", args=[idea.pk])
    _send(template="idea_posted", context={"idea": idea, "link": link}, to=channel_team_emails(idea.partner))


def idea_commented(*, idea_id, event_id):
    idea = Idea.objects.select_related("partner__account_manager").get(pk=idea_id)
    event = IdeaEvent.objects.select_related("author").get(pk=event_id, idea=idea)
    link = settings.SITE_URL + reverse("surveys:idea_detail", args=[idea.pk])
    _send(template="idea_comment", context={"idea": idea, "event": event, "link": link}, to=channel_team_emails(idea.partner))
