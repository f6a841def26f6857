"""E-mails of incentives (incentives/templates/emails/tier_changed*), in the site's language."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from partners.models import Membership, MembershipRole

from .models import TierChange


def tier_changed(*, tier_change_id):
    """Tell the partner's admins and its account manager about a new tier."""
    change = TierChange.objects.select_related("partner__account_manager", "from_tier", "to_tier").get(pk=tier_change_id)
    partner = change.partner
    recipients = set(
        Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    manager = partner.account_manager
    if manager is not None and manager.is_active and manager.email:
        recipients.add(manager.email)
    if not recipients:
        return
    context = {
        "change": change,
        "partner": partner,
        "upgrade": (change.to_tier.rank if change.to_tier else 0) > (change.from_tier.rank if change.from_tier else 0),
    }
    subject = render_to_string("emails/tier_changed_subject.txt", context).strip()
    body = render_to_string("emails/tier_changed.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, sorted(recipients))
