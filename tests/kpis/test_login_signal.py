"""A partner user's login is recorded as a portal-login Interaction; a manager's is not."""

import pytest

from partners.models import Interaction, InteractionKind

pytestmark = pytest.mark.django_db


def test_partner_login_recorded(client, user_a, partner_a):
    client.force_login(user_a)
    entry = Interaction.objects.get(partner=partner_a)
    assert (entry.kind, entry.author, entry.is_internal) == (InteractionKind.PORTAL_LOGIN, user_a, True)


def test_manager_login_not_recorded(client, manager_user):
    client.force_login(manager_user)
    assert not Interaction.objects.filter(kind=InteractionKind.PORTAL_LOGIN).exists()
