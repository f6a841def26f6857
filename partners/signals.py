"""Portal logins go on the partner's timeline, so engagement KPIs can count them; `rollups_changed`
tells the apps above that the sales rollups changed (kpis refreshes the overview's figures)."""

from django.dispatch import Signal
from django.utils.translation import gettext
from django_scopes import scopes_disabled

from .models import Interaction, InteractionKind
from .tenancy import membership_for

# Sent inside the writing transaction after the rollups of some partners and months were rebuilt
# (every sales import, admin edits of sales); receivers act with transaction.on_commit.
rollups_changed = Signal()


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
