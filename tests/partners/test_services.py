"""Every write of the partner record, through its service: the rules, the dates, the audit, the e-mail."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from partners import services
from partners.models import (
    ApplicationStatus,
    Contact,
    Interaction,
    InteractionKind,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerStatusChange,
    PartnerType,
)
from tests.partners.factories import (
    ApplicationFactory,
    ContactFactory,
    ManagerFactory,
    MembershipFactory,
    PartnerFactory,
    TerritoryFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
LINK_RE = re.compile(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)")


def _link_path(message):
    """The path of the set-password link in an invitation e-mail."""
    match = LINK_RE.search(message.body)
    assert match, message.body
    return match.group(1)


def _set_password_through_link(client, path, password="a-fresh-Passw0rd-for-the-portal"):
    """Follow an invitation link like a browser: GET (Django swaps the token for a session), then POST."""
    response = client.get(path)
    assert response.status_code == 302  # to .../set-password/, the token now lives in the session
    form_url = response["Location"]
    response = client.get(form_url)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    return client.post(form_url, {"new_password1": password, "new_password2": password})


# partner_create


def test_partner_create_records_the_initial_status_and_an_internal_timeline_entry(manager_user):
    partner = services.partner_create(created_by=manager_user, name="Gamma IT", partner_type=PartnerType.MSP, country="BE")

    assert partner.status == PartnerStatus.ONBOARDING
    change = PartnerStatusChange.objects.get(partner=partner)
    assert (change.from_status, change.to_status, change.changed_by) == ("", PartnerStatus.ONBOARDING, manager_user)
    entry = Interaction.objects.get(partner=partner)
    assert entry.kind == InteractionKind.STATUS_CHANGED
    assert entry.is_internal is True
    assert entry.author == manager_user
    assert entry.summary == "Partner created with status Onboarding"


def test_partner_create_as_active_sets_the_join_date(manager_user):
    partner = services.partner_create(
        created_by=manager_user, status=PartnerStatus.ACTIVE, name="Gamma IT", partner_type=PartnerType.MSP, country="BE"
    )

    assert partner.joined_on == timezone.localdate()
    assert partner.churned_on is None


def test_partner_create_refuses_unknown_fields(manager_user):
    with pytest.raises(TypeError, match="colour"):
        services.partner_create(created_by=manager_user, name="Gamma", partner_type=PartnerType.MSP, country="BE", colour="red")

    assert not Partner.objects.filter(name="Gamma").exists()


def test_partner_create_validates_business_rules_and_saves_nothing(manager_user):
    reseller = PartnerFactory(partner_type=PartnerType.RESELLER)

    with pytest.raises(ValidationError) as excinfo:
        services.partner_create(created_by=manager_user, name="Gamma", partner_type=PartnerType.RESELLER, country="BE", parent=reseller)

    assert "parent" in excinfo.value.message_dict
    assert not Partner.objects.filter(name="Gamma").exists()
    assert not PartnerStatusChange.objects.filter(partner__name="Gamma").exists()


# partner_update


def test_partner_update_changes_fields_without_recording_a_status_change(manager_user):
    partner = services.partner_create(created_by=manager_user, name="Gamma", partner_type=PartnerType.MSP, country="BE")
    tier = TierFactory()

    partner = services.partner_update(partner=partner, changed_by=manager_user, name="Gamma Group", tier=tier)

    partner.refresh_from_db()
    assert (partner.name, partner.tier) == ("Gamma Group", tier)
    assert PartnerStatusChange.objects.filter(partner=partner).count() == 1  # only the creation


def test_partner_update_to_active_dates_the_change_and_sets_the_join_date(manager_user):
    partner = PartnerFactory(status=PartnerStatus.ONBOARDING, joined_on=None)
    before = timezone.now()

    services.partner_update(partner=partner, changed_by=manager_user, status=PartnerStatus.ACTIVE)

    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert before <= partner.status_changed_at <= timezone.now()
    assert partner.joined_on == timezone.localdate()
    change = PartnerStatusChange.objects.get(partner=partner)
    assert (change.from_status, change.to_status, change.changed_by) == (PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE, manager_user)
    assert change.changed_at == partner.status_changed_at
    entry = Interaction.objects.get(partner=partner, kind=InteractionKind.STATUS_CHANGED)
    assert entry.summary == "Status changed from Onboarding to Active"
    assert entry.is_internal is True


def test_partner_update_keeps_an_existing_join_date(manager_user):
    joined = timezone.localdate() - timezone.timedelta(days=30)
    partner = PartnerFactory(status=PartnerStatus.INACTIVE, joined_on=joined)

    services.partner_update(partner=partner, changed_by=manager_user, status=PartnerStatus.ACTIVE)

    partner.refresh_from_db()
    assert partner.joined_on == joined


def test_churn_sets_the_churn_date_and_reactivation_clears_it(manager_user):
    partner = PartnerFactory(status=PartnerStatus.ACTIVE)

    services.partner_update(partner=partner, changed_by=manager_user, status=PartnerStatus.CHURNED)
    partner.refresh_from_db()
    assert partner.churned_on == timezone.localdate()

    services.partner_update(partner=partner, changed_by=manager_user, status=PartnerStatus.ACTIVE)
    partner.refresh_from_db()
    assert partner.churned_on is None
    assert list(PartnerStatusChange.objects.filter(partner=partner).values_list("from_status", "to_status")) == [
        (PartnerStatus.CHURNED, PartnerStatus.ACTIVE),
        (PartnerStatus.ACTIVE, PartnerStatus.CHURNED),
    ]


def test_partner_update_reads_the_current_status_from_the_database(manager_user):
    """A stale instance (a form already set its status) must not hide the change from the audit."""
    partner = PartnerFactory(status=PartnerStatus.ACTIVE)
    partner.status = PartnerStatus.INACTIVE  # what a bound ModelForm does to its instance

    services.partner_update(partner=partner, changed_by=manager_user, status=PartnerStatus.INACTIVE)

    change = PartnerStatusChange.objects.get(partner=partner)
    assert (change.from_status, change.to_status) == (PartnerStatus.ACTIVE, PartnerStatus.INACTIVE)


def test_partner_update_refuses_unknown_fields_and_saves_nothing(manager_user):
    partner = PartnerFactory(name="Alpha", status=PartnerStatus.ACTIVE)

    with pytest.raises(TypeError, match="status_changed_at"):
        services.partner_update(partner=partner, changed_by=manager_user, name="Omega", status_changed_at=timezone.now())

    partner.refresh_from_db()
    assert partner.name == "Alpha"


# contact_save / contact_delete


def test_making_a_contact_primary_demotes_the_previous_primary(partner_a, partner_b):
    old = ContactFactory(partner=partner_a, is_primary=True)
    primary_elsewhere = ContactFactory(partner=partner_b, is_primary=True)

    new = services.contact_save(partner=partner_a, first_name="Nora", last_name="New", email="nora@alpha.test", is_primary=True)

    old.refresh_from_db()
    primary_elsewhere.refresh_from_db()
    assert old.is_primary is False
    assert primary_elsewhere.is_primary is True  # another partner's primary is untouched
    assert list(Contact.objects.filter(partner=partner_a, is_primary=True)) == [new]


def test_editing_an_existing_contact_into_primary_demotes_the_previous_primary(partner_a):
    old = ContactFactory(partner=partner_a, is_primary=True)
    contact = ContactFactory(partner=partner_a, is_primary=False)

    services.contact_save(partner=partner_a, contact=contact, is_primary=True)

    old.refresh_from_db()
    contact.refresh_from_db()
    assert (old.is_primary, contact.is_primary) == (False, True)


def test_demotion_and_save_are_one_transaction(partner_a):
    """If the new primary contact is invalid, the old one stays primary."""
    old = ContactFactory(partner=partner_a, is_primary=True)

    with pytest.raises(ValidationError) as excinfo:
        services.contact_save(partner=partner_a, first_name="Nora", last_name="New", email="not-an-address", is_primary=True)

    assert "email" in excinfo.value.message_dict
    old.refresh_from_db()
    assert old.is_primary is True
    assert Contact.objects.filter(partner=partner_a).count() == 1


def test_a_contact_of_another_partner_is_refused(partner_a, partner_b):
    contact = ContactFactory(partner=partner_b, first_name="Bert")

    with pytest.raises(ValidationError, match="belongs to another partner"):
        services.contact_save(partner=partner_a, contact=contact, first_name="Hijacked")

    contact.refresh_from_db()
    assert contact.first_name == "Bert"
    assert contact.partner == partner_b


def test_contact_delete(partner_a):
    contact = ContactFactory(partner=partner_a)

    services.contact_delete(contact=contact)

    assert not Contact.objects.filter(pk=contact.pk).exists()


# interaction_log


def test_interaction_log_adds_to_the_timeline(partner_a, manager_user):
    entry = services.interaction_log(partner=partner_a, author=manager_user, kind=InteractionKind.CALL, summary="Pipeline review")

    assert list(Interaction.objects.for_partner(partner_a)) == [entry]
    assert (entry.author, entry.is_internal) == (manager_user, False)


def test_interaction_log_refuses_an_unknown_kind(partner_a, manager_user):
    with pytest.raises(ValidationError) as excinfo:
        services.interaction_log(partner=partner_a, author=manager_user, kind="telepathy", summary="?")

    assert "kind" in excinfo.value.message_dict
    assert not Interaction.objects.filter(partner=partner_a).exists()


# membership_invite


def test_invite_creates_a_user_without_password_and_a_membership(partner_a, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_invite(
            partner=partner_a, email="new@Alpha.TEST", first_name="Nina", last_name="New", role=MembershipRole.USER, invited_by=manager_user
        )

    user = membership.user
    assert user.email == user.username == "new@alpha.test"  # the domain is normalised
    assert not user.has_usable_password()
    assert user.is_active
    assert not user.is_staff
    assert (membership.partner, membership.role, membership.invited_by) == (partner_a, MembershipRole.USER, manager_user)
    assert Interaction.objects.filter(partner=partner_a, summary="Nina New was invited to the portal").exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@alpha.test"]
    assert message.subject == "You are invited to the Alpha Resellers B.V. partner portal"
    assert "Maria Manager invited you to the PartnerLoop portal of Alpha Resellers B.V." in message.body


def test_e_mails_are_plain_text_not_html_escaped(manager_user, django_capture_on_commit_callbacks):
    """Names with &, quotes or <> reach the reader as typed (the templates are plain text)."""
    partner = PartnerFactory(name="Smith & Sons <Ltd>")
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_invite(
            partner=partner,
            email="zoe@smith.example",
            first_name="Zoë",
            last_name="O'Brien",
            role=MembershipRole.USER,
            invited_by=manager_user,
        )
        application = services.application_submit(**{**APPLICATION, "company_name": 'A&B "Quality" GmbH', "message": "We'd <love> to."})
        services.application_decline(application=application, declined_by=manager_user, reason='We don\'t cover "A&B" markets.')

    invitation, received, declined = mail.outbox
    assert invitation.subject == "You are invited to the Smith & Sons <Ltd> partner portal"
    assert "portal of Smith & Sons <Ltd>." in invitation.body
    assert received.subject == 'New partner application: A&B "Quality" GmbH'
    assert "We'd <love> to." in received.body
    assert 'We don\'t cover "A&B" markets.' in declined.body
    for message in (invitation, received, declined):
        assert "&amp;" not in message.subject + message.body
        assert "&#x27;" not in message.body
        assert "&quot;" not in message.body


def test_the_invitation_link_sets_a_password_and_signs_the_user_in(client, partner_a, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_invite(
            partner=partner_a,
            email="nina@alpha.test",
            first_name="Nina",
            last_name="New",
            role=MembershipRole.ADMIN,
            invited_by=manager_user,
        )

    response = _set_password_through_link(client, _link_path(mail.outbox[0]))

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    membership.user.refresh_from_db()
    assert membership.user.has_usable_password()
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert response.context["user"] == membership.user
    assert "Alpha Resellers B.V." in response.content.decode()


def test_the_invitation_link_works_only_once(client, partner_a, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_invite(
            partner=partner_a,
            email="nina@alpha.test",
            first_name="Nina",
            last_name="New",
            role=MembershipRole.USER,
            invited_by=manager_user,
        )
    path = _link_path(mail.outbox[0])
    _set_password_through_link(client, path)
    client.logout()

    response = client.get(path, follow=True)

    assert response.context["validlink"] is False


def test_invite_refuses_an_existing_e_mail_address(partner_a, admin_a, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as excinfo:
        services.membership_invite(
            partner=partner_a, email="ADMIN@alpha.test", first_name="A", last_name="B", role=MembershipRole.USER, invited_by=manager_user
        )

    assert list(excinfo.value.message_dict) == ["email"]
    assert Membership.objects.filter(partner=partner_a).count() == 1
    assert mail.outbox == []


def test_invite_refuses_an_unknown_role_and_creates_no_user(partner_a, manager_user):
    with pytest.raises(ValidationError) as excinfo:
        services.membership_invite(
            partner=partner_a, email="x@alpha.test", first_name="X", last_name="Y", role="owner", invited_by=manager_user
        )

    assert list(excinfo.value.message_dict) == ["role"]
    assert not User.objects.filter(email="x@alpha.test").exists()


# membership_set_active


def test_a_user_cannot_deactivate_themselves(admin_a):
    colleague = MembershipFactory(partner=admin_a.membership.partner, role=MembershipRole.ADMIN)
    assert colleague  # a second admin, so only the "yourself" rule can refuse

    with pytest.raises(ValidationError, match="your own access"):
        services.membership_set_active(membership=admin_a.membership, active=False, by=admin_a)

    admin_a.refresh_from_db()
    assert admin_a.is_active


def test_the_last_active_partner_admin_cannot_be_deactivated(admin_a, manager_user):
    inactive_admin = MembershipFactory(partner=admin_a.membership.partner, role=MembershipRole.ADMIN, user__is_active=False)
    assert not inactive_admin.user.is_active  # an inactive admin does not count

    with pytest.raises(ValidationError, match="at least one active partner admin"):
        services.membership_set_active(membership=admin_a.membership, active=False, by=manager_user)

    admin_a.refresh_from_db()
    assert admin_a.is_active


def test_an_admin_can_be_deactivated_while_another_admin_remains(admin_a, manager_user):
    MembershipFactory(partner=admin_a.membership.partner, role=MembershipRole.ADMIN)

    services.membership_set_active(membership=admin_a.membership, active=False, by=manager_user)

    admin_a.refresh_from_db()
    assert not admin_a.is_active


def test_deactivate_and_reactivate_a_user(admin_a, user_a):
    services.membership_set_active(membership=user_a.membership, active=False, by=admin_a)
    user_a.refresh_from_db()
    assert not user_a.is_active

    services.membership_set_active(membership=user_a.membership, active=True, by=admin_a)
    user_a.refresh_from_db()
    assert user_a.is_active


def test_membership_set_role_keeps_one_admin(admin_a, user_a):
    with pytest.raises(ValidationError, match="at least one active partner admin"):
        services.membership_set_role(membership=admin_a.membership, role=MembershipRole.USER, by=admin_a)

    services.membership_set_role(membership=user_a.membership, role=MembershipRole.ADMIN, by=admin_a)
    services.membership_set_role(membership=admin_a.membership, role=MembershipRole.USER, by=user_a)
    admin_a.membership.refresh_from_db()
    assert admin_a.membership.role == MembershipRole.USER


# application_submit / application_accept / application_decline


APPLICATION = {
    "company_name": "Delta Systems GmbH",
    "legal_name": "Delta Systems Gesellschaft mbH",
    "partner_type": PartnerType.VAR,
    "country": "DE",
    "website": "https://delta.example",
    "first_name": "Dora",
    "last_name": "Delta",
    "email": "dora@delta.example",
    "phone": "+49 30 1234567",
    "message": "We sell to hospitals.",
}


def test_application_submit_stores_a_pending_application_and_e_mails_the_managers(manager_user, django_capture_on_commit_callbacks):
    ManagerFactory(email="", username="no-email-manager")  # nothing to send to
    ManagerFactory(username="former@example.test", is_active=False)
    UserFactory(username="staff-not-manager@example.test", is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(**APPLICATION)

    assert application.status == ApplicationStatus.PENDING
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [manager_user.email]
    assert message.subject == "New partner application: Delta Systems GmbH"
    assert f"http://testserver{reverse('partners:application_detail', args=[application.pk])}" in message.body
    assert "Dora Delta <dora@delta.example>" in message.body


def test_application_submit_validates_and_stores_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as excinfo:
        services.application_submit(**{**APPLICATION, "email": "not-an-address", "partner_type": "pirate"})

    assert set(excinfo.value.message_dict) == {"email", "partner_type"}
    assert not PartnerApplication.objects.exists()
    assert mail.outbox == []


def test_accept_creates_the_partner_its_primary_contact_and_an_admin_invitation(manager_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory(**APPLICATION)
    tier, territory = TierFactory(name="Silver"), TerritoryFactory(name="DACH")

    with django_capture_on_commit_callbacks(execute=True):
        partner = services.application_accept(application=application, accepted_by=manager_user, tier=tier, territory=territory)

    assert partner.name == "Delta Systems GmbH"
    assert partner.legal_name == "Delta Systems Gesellschaft mbH"
    assert (partner.partner_type, partner.country.code, partner.website) == (PartnerType.VAR, "DE", "https://delta.example")
    assert partner.status == PartnerStatus.ONBOARDING
    assert (partner.tier, partner.territory) == (tier, territory)
    assert partner.account_manager == manager_user  # defaults to whoever accepted
    contact = Contact.objects.get(partner=partner)
    assert (contact.full_name, contact.email, contact.phone, contact.is_primary) == (
        "Dora Delta",
        "dora@delta.example",
        "+49 30 1234567",
        True,
    )
    membership = Membership.objects.select_related("user").get(partner=partner)
    assert membership.role == MembershipRole.ADMIN
    assert membership.user.email == "dora@delta.example"
    assert not membership.user.has_usable_password()
    application.refresh_from_db()
    assert (application.status, application.decided_by, application.partner) == (ApplicationStatus.ACCEPTED, manager_user, partner)
    assert application.decided_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dora@delta.example"]
    assert _link_path(mail.outbox[0])


def test_accept_with_another_account_manager(manager_user):
    colleague = ManagerFactory()

    partner = services.application_accept(application=ApplicationFactory(), accepted_by=manager_user, account_manager=colleague)

    assert partner.account_manager == colleague


def test_an_application_cannot_be_accepted_twice(manager_user, django_capture_on_commit_callbacks):
    """Two managers open the same pending application; the second click loses (compare-and-set)."""
    application = ApplicationFactory()
    seen_by_second_manager = PartnerApplication.objects.get(pk=application.pk)
    services.application_accept(application=application, accepted_by=manager_user)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError, match="already been decided"):
        services.application_accept(application=seen_by_second_manager, accepted_by=ManagerFactory())

    assert Partner.objects.filter(name=application.company_name).count() == 1
    assert mail.outbox == []
    application.refresh_from_db()
    assert application.decided_by == manager_user


def test_a_failed_accept_leaves_the_application_pending(manager_user, admin_b):
    """The applicant's address already has an account: nothing is created, the decision is undone."""
    application = ApplicationFactory(email=admin_b.email)

    with pytest.raises(ValidationError) as excinfo:
        services.application_accept(application=application, accepted_by=manager_user)

    assert "email" in excinfo.value.message_dict
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert application.partner is None
    assert not Partner.objects.filter(name=application.company_name).exists()


def test_decline_requires_a_reason(manager_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as excinfo:
        services.application_decline(application=application, declined_by=manager_user, reason="   ")

    assert list(excinfo.value.message_dict) == ["decline_reason"]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert mail.outbox == []


def test_decline_e_mails_the_applicant_with_the_reason(manager_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory(company_name="Epsilon AG", first_name="Emil", email="emil@epsilon.example")

    with django_capture_on_commit_callbacks(execute=True):
        services.application_decline(application=application, declined_by=manager_user, reason="  We have enough VARs in Berlin.  ")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECLINED
    assert application.decline_reason == "We have enough VARs in Berlin."
    assert application.decided_by == manager_user
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["emil@epsilon.example"]
    assert message.subject == "Your partner application"
    assert "Hello Emil," in message.body
    assert "Epsilon AG" in message.body
    assert "We have enough VARs in Berlin." in message.body


def test_an_accepted_application_cannot_be_declined(manager_user):
    application = ApplicationFactory()
    services.application_accept(application=application, accepted_by=manager_user)

    with pytest.raises(ValidationError, match="already been decided"):
        services.application_decline(application=application, declined_by=manager_user, reason="Changed my mind")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert application.decline_reason == ""


def test_invitations_use_the_lowercased_address_and_sign_in_ignores_case(
    manager_user, partner_a, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_invite(
            partner=partner_a, email="Ivo@Alpha.TEST", first_name="Ivo", last_name="I", role=MembershipRole.USER, invited_by=manager_user
        )
    user = membership.user
    assert user.username == user.email == "ivo@alpha.test"
    user.set_password("a-long-secret-phrase")
    user.save()
    response = client.post(reverse("login"), {"username": "IVO@alpha.test", "password": "a-long-secret-phrase"})
    assert response.status_code == 302
    assert client.get(reverse("portal:home")).status_code == 200


def test_resending_an_invitation_mails_a_fresh_link_only_while_it_is_pending(manager_user, partner_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.membership_invite(
            partner=partner_a, email="late@alpha.test", first_name="Late", last_name="L", role=MembershipRole.USER, invited_by=manager_user
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_resend_invitation(membership=membership, by=manager_user)
    assert [message.to for message in mail.outbox] == [["late@alpha.test"], ["late@alpha.test"]]
    assert "/accounts/reset/" in mail.outbox[1].body

    membership.user.set_password("chosen-already-123")
    membership.user.save()
    with pytest.raises(ValidationError, match="already chosen a password"):
        services.membership_resend_invitation(membership=membership, by=manager_user)

    membership.user.set_unusable_password()
    membership.user.is_active = False
    membership.user.save()
    with pytest.raises(ValidationError, match="deactivated"):
        services.membership_resend_invitation(membership=membership, by=manager_user)
    assert len(mail.outbox) == 2
