"""Onboarding end to end over HTTP: from the public form to the applicant signed in to its portal."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from partners.models import ApplicationStatus, MembershipRole, Partner, PartnerApplication, PartnerStatus
from tests.partners.factories import TierFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"


def _only_link(message, pattern):
    links = re.findall(re.escape(SITE) + pattern, message.body)
    assert len(links) == 1, message.body
    return links[0][len(SITE) :]


def test_an_applicant_becomes_a_signed_in_partner_admin(client, manager_user, django_capture_on_commit_callbacks):
    applicant = client
    manager = Client()
    manager.force_login(manager_user)
    gold = TierFactory(name="Gold", rank=3)

    # 1. An anonymous visitor applies.
    assert applicant.get(reverse("apply")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = applicant.post(
            reverse("apply"),
            {
                "company_name": "Omega Networks B.V.",
                "partner_type": "msp",
                "country": "NL",
                "first_name": "Olga",
                "last_name": "Omega",
                "email": "olga@omega.example",
                "message": "We manage networks for 200 clinics.",
                "accept_terms": "on",
            },
        )
    assert response["Location"] == reverse("apply_thanks")
    assert PartnerApplication.objects.get().status == ApplicationStatus.PENDING

    # 2. The channel manager is told and finds it among the pending applications.
    (notification,) = mail.outbox
    assert notification.to == [manager_user.email]
    detail_path = _only_link(notification, r"/partners/applications/\d+/")
    listing = manager.get(reverse("partners:applications")).content.decode()
    assert "Omega Networks B.V." in listing
    assert detail_path in listing
    page = manager.get(detail_path)
    assert page.status_code == 200
    assert "We manage networks for 200 clinics." in page.content.decode()

    # 3. The manager accepts with a tier; the applicant gets an invitation.
    mail.outbox.clear()
    accept_url = detail_path + "accept/"
    assert accept_url == reverse("partners:application_accept", args=[PartnerApplication.objects.get().pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(accept_url, {"tier": gold.pk})
    partner = Partner.objects.get(name="Omega Networks B.V.")
    assert response["Location"] == reverse("partners:detail", args=[partner.pk])
    assert (partner.status, partner.tier, partner.account_manager) == (PartnerStatus.ONBOARDING, gold, manager_user)
    (invitation,) = mail.outbox
    assert invitation.to == ["olga@omega.example"]
    assert "Omega Networks B.V." in invitation.subject

    # 4. The applicant follows the link, chooses a password and lands signed in.
    link = _only_link(invitation, r"/accounts/reset/[^/\s]+/[^/\s]+/")
    response = applicant.get(link, follow=True)
    assert response.context["validlink"] is True
    password = "Omega-networks-2025!"
    response = applicant.post(response.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert response.context["user"].email == "olga@omega.example"

    # 5. The portal shows their company; the applicant can sign in again later with that password.
    portal = applicant.get(reverse("portal:home"))
    assert portal.status_code == 200
    assert "Omega Networks B.V." in portal.content.decode()
    assert "Maria Manager" in portal.content.decode()  # their account manager
    applicant.logout()
    response = applicant.post(reverse("login"), {"username": "olga@omega.example", "password": password})
    assert response.status_code == 302
    assert applicant.get(reverse("portal:home")).status_code == 200

    # 6. The manager sees the new partner admin as a portal user who has accepted the invitation.
    detail = manager.get(reverse("partners:detail", args=[partner.pk]))
    (membership,) = detail.context["partner"].memberships.all()
    assert (membership.user.email, membership.role) == ("olga@omega.example", MembershipRole.ADMIN)
    members_card = detail.content.decode().split('id="members"')[1].split('class="col-lg-7"')[0]
    assert "Olga Omega" in members_card
    assert "Partner admin" in members_card
    assert "invitation pending" not in members_card
    assert "Olga Omega" in detail.content.decode().split('id="contacts"')[1].split('id="members"')[0]  # primary contact
