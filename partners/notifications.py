"""E-mails of the partner record, rendered from templates/emails/ in the site's language."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import Membership, PartnerApplication
from .tenancy import MANAGER_GROUP

User = get_user_model()


def _send(*, template, context, to):
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def password_link_for(user):
    """An absolute link where `user` chooses a password (Django's reset token: single use, expiring)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def send_portal_invitation(*, user_id, invited_by_id=None):
    user = User.objects.get(pk=user_id)
    membership = Membership.objects.select_related("partner").get(user=user)
    inviter = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    _send(
        template="portal_invitation",
        context={"user": user, "partner": membership.partner, "inviter": inviter, "link": password_link_for(user)},
        to=[user.email],
    )


def notify_managers_of_application(*, application_id):
    application = PartnerApplication.objects.get(pk=application_id)
    recipients = list(
        User.objects.filter(Q(groups__name=MANAGER_GROUP) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return
    link = settings.SITE_URL + reverse("partners:application_detail", args=[application.pk])
    _send(template="application_received", context={"application": application, "link": link}, to=recipients)


def send_application_declined(*, application_id):
    application = PartnerApplication.objects.get(pk=application_id)
    _send(template="application_declined", context={"application": application}, to=[application.email])
