"""Portal logins go on the partner's timeline, so engagement KPIs can count them."""

from django.utils.translation import gettext
from django_scopes import scopes_disabled

from .models import Interaction, InteractionKind
from .tenancy import membership_for


def record_portal_login(sender, request, user, **kwargs):
    """A partner user's login becomes an internal `portal_login` Interaction; staff logins are not recorded."""
    membership = membership_for(user)
    if membership is None:
        return
    with scopes_disabled():
        Interaction.objects.create(
            partner_id=membership.partner_id,
            kind=InteractionKind.PORTAL_LOGIN,
            author=user,
            summary=gettext("Portal login"),
            is_internal=True,
        )
