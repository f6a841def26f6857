"""The partner self-service portal, as its users see it.

Personas (tests/conftest.py): `admin_a` is partner A's partner admin, `user_a` a plain user of A,
`admin_b` the admin of partner B, who must never see A's data.
"""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.utils import timezone

from partners.models import Contact, Interaction, InteractionKind, Membership, MembershipRole
from tests.partners.factories import PASSWORD, ContactFactory, InteractionFactory, MembershipFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def plain_client(user_a):
    """Partner A's plain (non-admin) user."""
    return logged_in(user_a)


@pytest.fixture
def colleague(partner_a):
    """Another plain user of partner A, for the admin to manage."""
    return MembershipFactory(
        partner=partner_a,
        role=MembershipRole.USER,
        user__username="colleague@alpha.test",
        user__first_name="Carla",
        user__last_name="Colleague",
    )


# --- home ----------------------------------------------------------------------------------------


class TestHome:
    def test_shows_company_tier_account_manager_and_public_activity(self, client_a, partner_a, partner_b, manager_user):
        partner_a.tier = TierFactory(name="Gold", rank=3, benefits="Extra margin on every deal")
        partner_a.account_manager = manager_user
        partner_a.save()
        InteractionFactory(partner=partner_a, summary="Kick-off meeting held", kind=InteractionKind.MEETING)
        InteractionFactory(partner=partner_a, summary="Partner looks unhappy", kind=InteractionKind.NOTE, is_internal=True)
        InteractionFactory(partner=partner_b, summary="Beta signed a big deal")

        response = client_a.get("/portal/")

        assert response.status_code == 200
        html = response.content.decode()
        assert "Alpha Resellers B.V." in html
        assert "Gold" in html
        assert "Extra margin on every deal" in html
        assert "Maria Manager" in html
        assert manager_user.email in html
        assert "Kick-off meeting held" in html
        assert "Partner looks unhappy" not in html  # internal
        assert "Beta signed a big deal" not in html  # another partner
        assert "Beta Distribution GmbH" not in html
        assert [i.summary for i in response.context["recent"]] == ["Kick-off meeting held"]

    def test_recent_activity_is_the_five_newest(self, client_a, partner_a):
        now = timezone.now()
        for day in range(8):
            InteractionFactory(partner=partner_a, summary=f"Entry {day}", occurred_at=now - timezone.timedelta(days=day))
        recent = [i.summary for i in client_a.get("/portal/").context["recent"]]
        assert recent == ["Entry 0", "Entry 1", "Entry 2", "Entry 3", "Entry 4"]

    def test_without_account_manager_or_tier(self, client_a):
        html = client_a.get("/portal/").content.decode()
        assert "No account manager is assigned yet." in html

    def test_a_plain_user_sees_the_portal_too(self, plain_client):
        response = plain_client.get("/portal/")
        assert response.status_code == 200
        assert "Alpha Resellers B.V." in response.content.decode()

    @pytest.mark.parametrize("rows", [2, 20])
    def test_query_count_does_not_grow_with_data(self, client_a, partner_a, django_assert_num_queries, rows):
        ContactFactory.create_batch(rows, partner=partner_a)
        InteractionFactory.create_batch(rows, partner=partner_a, author=UserFactory())
        MembershipFactory.create_batch(rows, partner=partner_a)
        with django_assert_num_queries(5):
            # 1 session
            # 2 user
            # 3 membership + partner (TenantScopeMiddleware)
            # 4 partner + tier, territory, account manager, distributor (selectors.partner_profile)
            # 5 five recent public interactions + author
            response = client_a.get("/portal/")
        assert response.status_code == 200
        assert len(response.context["recent"]) == min(rows, 5)


class TestActivity:
    def test_lists_only_own_public_activity(self, client_a, partner_a, partner_b):
        InteractionFactory(partner=partner_a, summary="Training completed", kind=InteractionKind.TRAINING_COMPLETED)
        InteractionFactory(partner=partner_a, summary="Internal: check payment terms", is_internal=True)
        InteractionFactory(partner=partner_b, summary="Beta attended the summit")
        html = client_a.get("/portal/activity/").content.decode()
        assert "Training completed" in html
        assert "check payment terms" not in html
        assert "Beta attended the summit" not in html

    def test_paginates_and_survives_a_bad_page(self, client_a, partner_a):
        InteractionFactory.create_batch(30, partner=partner_a)
        assert len(client_a.get("/portal/activity/").context["page_obj"]) == 25
        assert len(client_a.get("/portal/activity/?page=2").context["page_obj"]) == 5
        assert client_a.get("/portal/activity/?page=banana").status_code == 200


# --- contacts ------------------------------------------------------------------------------------


class TestContacts:
    def test_lists_only_own_contacts(self, client_a, partner_a, partner_b):
        ContactFactory(partner=partner_a, first_name="Anna", last_name="Alpha", is_primary=True)
        ContactFactory(partner=partner_b, first_name="Bernd", last_name="Beta")
        response = client_a.get("/portal/contacts/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Anna Alpha" in html
        assert "Bernd Beta" not in html
        assert [c.full_name for c in response.context["contacts"]] == ["Anna Alpha"]

    def test_admin_sees_edit_links_plain_user_does_not(self, admin_a, user_a, partner_a):
        contact = ContactFactory(partner=partner_a)
        edit_link = f"/portal/contacts/{contact.pk}/edit/"
        assert edit_link in logged_in(admin_a).get("/portal/contacts/").content.decode()
        plain = logged_in(user_a).get("/portal/contacts/").content.decode()
        assert contact.full_name in plain
        assert edit_link not in plain
        assert "/portal/contacts/new/" not in plain

    def test_admin_adds_a_contact(self, client_a, partner_a):
        response = client_a.post(
            "/portal/contacts/new/",
            {"first_name": "Nora", "last_name": "New", "role": "Buyer", "email": "nora@alpha.test", "phone": "+31 20 123"},
        )
        assert response.status_code == 302
        assert response.url == "/portal/contacts/"
        contact = Contact.objects.get(last_name="New")
        assert contact.partner == partner_a  # from the user, never from the payload
        assert (contact.role, contact.email) == ("Buyer", "nora@alpha.test")
        assert "Contact saved." in _messages(response)

    def test_the_partner_comes_from_the_user_not_the_payload(self, client_a, partner_a, partner_b):
        client_a.post("/portal/contacts/new/", {"first_name": "Sly", "last_name": "Smuggler", "partner": partner_b.pk})
        assert Contact.objects.get(last_name="Smuggler").partner == partner_a

    def test_admin_edits_a_contact(self, client_a, partner_a):
        contact = ContactFactory(partner=partner_a, first_name="Old", last_name="Name")
        form = client_a.get(f"/portal/contacts/{contact.pk}/edit/")
        assert form.status_code == 200
        assert 'value="Old"' in form.content.decode()
        response = client_a.post(f"/portal/contacts/{contact.pk}/edit/", {"first_name": "New", "last_name": "Name", "is_primary": "on"})
        assert response.status_code == 302
        contact.refresh_from_db()
        assert (contact.first_name, contact.is_primary) == ("New", True)

    def test_making_a_contact_primary_demotes_the_previous_one(self, client_a, partner_a):
        old = ContactFactory(partner=partner_a, is_primary=True)
        response = client_a.post("/portal/contacts/new/", {"first_name": "Pia", "last_name": "Primary", "is_primary": "on"})
        assert response.status_code == 302
        old.refresh_from_db()
        assert not old.is_primary
        assert Contact.objects.get(last_name="Primary").is_primary

    def test_delete_asks_for_confirmation_then_deletes(self, client_a, partner_a):
        contact = ContactFactory(partner=partner_a, first_name="Gone", last_name="Soon")
        confirm = client_a.get(f"/portal/contacts/{contact.pk}/delete/")
        assert confirm.status_code == 200
        assert "Are you sure?" in confirm.content.decode()
        assert "Gone Soon" in confirm.content.decode()
        assert Contact.objects.filter(pk=contact.pk).exists()  # GET deletes nothing

        response = client_a.post(f"/portal/contacts/{contact.pk}/delete/")
        assert response.status_code == 302
        assert response.url == "/portal/contacts/"
        assert not Contact.objects.filter(pk=contact.pk).exists()
        assert "Contact Gone Soon deleted." in _messages(response)

    def test_bad_input_is_400_with_errors_and_nothing_saved(self, client_a, partner_a):
        response = client_a.post("/portal/contacts/new/", {"first_name": "", "last_name": "", "email": "not-an-email"})
        assert response.status_code == 400
        assert set(response.context["form"].errors) == {"first_name", "last_name", "email"}
        assert "nothing was saved" in response.content.decode()
        assert not Contact.objects.exists()

    def test_bad_edit_leaves_the_contact_unchanged(self, client_a, partner_a):
        contact = ContactFactory(partner=partner_a, email="ok@alpha.test")
        response = client_a.post(f"/portal/contacts/{contact.pk}/edit/", {"first_name": "X", "last_name": "Y", "email": "broken"})
        assert response.status_code == 400
        contact.refresh_from_db()
        assert contact.email == "ok@alpha.test"
        assert contact.first_name != "X"

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/portal/contacts/new/"),
            ("post", "/portal/contacts/new/"),
            ("get", "/portal/contacts/{pk}/edit/"),
            ("post", "/portal/contacts/{pk}/edit/"),
            ("get", "/portal/contacts/{pk}/delete/"),
            ("post", "/portal/contacts/{pk}/delete/"),
        ],
    )
    def test_a_plain_user_cannot_change_contacts(self, plain_client, partner_a, method, path):
        contact = ContactFactory(partner=partner_a, first_name="Keep", last_name="Me")
        data = {"first_name": "Changed", "last_name": "By user"} if method == "post" else None
        response = getattr(plain_client, method)(path.format(pk=contact.pk), data)
        assert response.status_code == 403
        contact.refresh_from_db()
        assert contact.full_name == "Keep Me"
        assert Contact.objects.count() == 1

    @pytest.mark.parametrize("rows", [2, 20])
    def test_query_count_does_not_grow_with_contacts(self, client_a, partner_a, django_assert_num_queries, rows):
        ContactFactory.create_batch(rows, partner=partner_a)
        with django_assert_num_queries(4):
            # 1 session
            # 2 user
            # 3 membership + partner (TenantScopeMiddleware)
            # 4 contacts of the partner
            response = client_a.get("/portal/contacts/")
        assert len(response.context["contacts"]) == rows


# --- team ----------------------------------------------------------------------------------------


class TestTeam:
    def test_lists_only_own_members(self, client_a, admin_a, user_a, admin_b):
        response = client_a.get("/portal/team/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "admin@alpha.test" in html
        assert "user@alpha.test" in html
        assert "admin@beta.test" not in html
        assert {m.user.email for m in response.context["members"]} == {"admin@alpha.test", "user@alpha.test"}

    def test_plain_user_sees_the_team_but_no_admin_controls(self, plain_client, admin_a):
        html = plain_client.get("/portal/team/").content.decode()
        assert "admin@alpha.test" in html
        assert "Invite a colleague" not in html
        assert "Deactivate" not in html

    def test_admin_invites_a_colleague(self, client_a, admin_a, partner_a, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(
                "/portal/team/invite/", {"first_name": "Ivo", "last_name": "Invited", "email": "Ivo@Alpha.test", "role": "user"}
            )
        assert response.status_code == 302
        assert response.url == "/portal/team/"
        membership = Membership.objects.get(user__email__iexact="ivo@alpha.test")
        assert membership.partner == partner_a
        assert membership.role == MembershipRole.USER
        assert membership.invited_by == admin_a
        assert not membership.user.has_usable_password()

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [membership.user.email]
        assert "Alpha Resellers B.V." in message.subject
        link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
        assert link, message.body

        # the link lets the colleague choose a password and sign in
        invited = Client()
        set_password_page = invited.get(link.group(1), follow=True)
        assert set_password_page.status_code == 200
        assert "new_password1" in set_password_page.content.decode()
        done = invited.post(
            set_password_page.redirect_chain[-1][0], {"new_password1": "a-Fresh-passw0rd!", "new_password2": "a-Fresh-passw0rd!"}
        )
        assert done.status_code == 302
        assert invited.get("/portal/").status_code == 200

        # the invitation is on the team page and the company timeline
        team = client_a.get("/portal/team/").content.decode()
        assert "Ivo@alpha.test" in team or "ivo@alpha.test" in team.lower()
        assert "Invited" in team
        assert Interaction.objects.filter(partner=partner_a, summary__contains="Ivo Invited", is_internal=False).exists()

    def test_duplicate_email_is_an_error_and_sends_nothing(self, client_a, user_a, django_capture_on_commit_callbacks):
        users_before = Membership.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post(
                "/portal/team/invite/", {"first_name": "Dup", "last_name": "Licate", "email": "USER@alpha.test", "role": "user"}
            )
        assert response.status_code == 400
        assert "already exists" in response.content.decode()
        assert Membership.objects.count() == users_before
        assert mail.outbox == []

    def test_invalid_invite_is_400(self, client_a):
        response = client_a.post("/portal/team/invite/", {"first_name": "", "last_name": "X", "email": "nope", "role": "owner"})
        assert response.status_code == 400
        assert {"first_name", "email", "role"} <= set(response.context["form"].errors)

    def test_admin_deactivates_and_reactivates_a_colleague(self, client_a, colleague):
        response = client_a.post(f"/portal/team/{colleague.pk}/active/", {"active": "0"})
        assert response.status_code == 302
        assert response.url == "/portal/team/"
        colleague.user.refresh_from_db()
        assert not colleague.user.is_active
        assert "Carla Colleague can no longer sign in." in _messages(response)
        assert "Deactivated" in client_a.get("/portal/team/").content.decode()

        response = client_a.post(f"/portal/team/{colleague.pk}/active/", {"active": "1"})
        colleague.user.refresh_from_db()
        assert colleague.user.is_active
        assert "Carla Colleague can sign in again." in _messages(response)

    def test_a_deactivated_colleague_is_signed_out(self, client_a, colleague):
        theirs = logged_in(colleague.user)
        assert theirs.get("/portal/").status_code == 200
        client_a.post(f"/portal/team/{colleague.pk}/active/", {"active": "0"})
        response = theirs.get("/portal/")
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")

    def test_an_admin_cannot_deactivate_itself(self, client_a, admin_a):
        own = Membership.objects.get(user=admin_a)
        response = client_a.post(f"/portal/team/{own.pk}/active/", {"active": "0"})
        assert response.status_code == 302
        admin_a.refresh_from_db()
        assert admin_a.is_active
        assert "You cannot deactivate your own access." in _messages(response)

    @pytest.mark.parametrize(("method", "path"), [("get", "/portal/team/invite/"), ("post", "/portal/team/invite/"), ("post", "active")])
    def test_a_plain_user_cannot_manage_the_team(self, plain_client, colleague, method, path):
        if path == "active":
            path = f"/portal/team/{colleague.pk}/active/"
        data = (
            {"first_name": "A", "last_name": "B", "email": "new@alpha.test", "role": "admin", "active": "0"} if method == "post" else None
        )
        response = getattr(plain_client, method)(path, data)
        assert response.status_code == 403
        colleague.user.refresh_from_db()
        assert colleague.user.is_active
        assert not Membership.objects.filter(user__email="new@alpha.test").exists()

    def test_team_actions_are_post_only(self, client_a, colleague):
        assert client_a.get(f"/portal/team/{colleague.pk}/active/").status_code == 405


# --- who gets in ---------------------------------------------------------------------------------


class TestAccess:
    def test_a_channel_manager_is_sent_home_with_a_message(self, manager_client):
        response = manager_client.get("/portal/")
        assert response.status_code == 302
        assert response.url == "/"
        assert "The portal is for partner users; you are signed in as a channel manager." in _messages(response)

    @pytest.mark.parametrize("path", ["/portal/", "/portal/contacts/", "/portal/team/", "/portal/activity/"])
    def test_a_user_without_membership_is_403(self, client, path, partner_a):
        client.force_login(UserFactory())
        response = client.get(path)
        assert response.status_code == 403
        assert "not linked to a partner company" in response.content.decode()

    def test_a_staff_user_without_manager_rights_is_403(self, client):
        client.force_login(UserFactory(is_staff=True))
        assert client.get("/portal/").status_code == 403

    @pytest.mark.parametrize("path", ["/portal/", "/portal/contacts/", "/portal/contacts/new/", "/portal/team/", "/portal/activity/"])
    def test_anonymous_is_sent_to_the_login_page(self, client, path):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == f"/accounts/login/?next={path}"

    def test_a_partner_user_can_sign_in(self, client, admin_a):
        response = client.post("/accounts/login/", {"username": "admin@alpha.test", "password": PASSWORD}, follow=True)
        assert response.redirect_chain[-1][0] == "/portal/"
        assert "Alpha Resellers B.V." in response.content.decode()

    def test_a_deactivated_user_cannot_sign_in(self, client, admin_a):
        admin_a.is_active = False
        admin_a.save()
        response = client.post("/accounts/login/", {"username": "admin@alpha.test", "password": PASSWORD})
        assert response.status_code == 200  # the form again, with an error
        assert response.context["form"].errors
        assert "_auth_user_id" not in client.session
        assert client.get("/portal/").status_code == 302
