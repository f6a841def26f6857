"""E-mails of kpis (kpis/templates/emails/score_alert*), in the site's language."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from .definitions import COMPONENTS
from .models import Alert


def alert_raised(*, alert_id):
    """Tell the partner's account manager about an at-risk alert, once (notified_at guards retries)."""
    alert = Alert.objects.select_related("partner__account_manager").get(pk=alert_id)
    manager = alert.partner.account_manager
    if alert.notified_at is not None or manager is None or not manager.is_active or not manager.email:
        return False
    moves = [{**move, "label": COMPONENTS.get(move["name"], move["name"])} for move in alert.components]
    context = {"alert": alert, "partner": alert.partner, "moves": moves, "site_url": settings.SITE_URL}
    subject = render_to_string("emails/score_alert_subject.txt", context).strip()
    body = render_to_string("emails/score_alert.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [manager.email])
    Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
    return True
