"""The manager UI, the public application form and the API token page, through HTTP."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from partners.models import (
    ApplicationStatus,
    Contact,
    Interaction,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerType,
)
from tests.partners.factories import (
    ApplicationFactory,
    ContactFactory,
    InteractionFactory,
    ManagerFactory,
    MembershipFactory,
    PartnerFactory,
    TerritoryFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("partners:list")


def _names(response):
    return [partner.name for partner in response.context["page_obj"]]


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def _partner_post(partner=None, **overrides):
    """What the partner form posts: the current values of `partner` (or a new reseller), changed by `overrides`."""
    data = {
        "name": "Gamma IT",
        "legal_name": "",
        "partner_type": PartnerType.RESELLER,
        "status": PartnerStatus.ONBOARDING,
        "parent": "",
        "tier": "",
        "territory": "",
        "country": "NL",
        "account_manager": "",
        "joined_on": "",
        "churned_on": "",
        "website": "",
        "external_id": "",
    }
    if partner is not None:
        data.update(
            name=partner.name,
            legal_name=partner.legal_name,
            partner_type=partner.partner_type,
            status=partner.status,
            parent=partner.parent_id or "",
            tier=partner.tier_id or "",
            territory=partner.territory_id or "",
            country=partner.country.code,
            account_manager=partner.account_manager_id or "",
            joined_on=partner.joined_on.isoformat() if partner.joined_on else "",
            churned_on=partner.churned_on.isoformat() if partner.churned_on else "",
            website=partner.website,
            external_id=partner.external_id,
        )
    data.update(overrides)
    return data


@pytest.fixture
def staff_client(client):
    """A staff user outside the "Channel managers" group: not a channel manager."""
    client.force_login(UserFactory(username="staff@example.test", is_staff=True))
    return client


# Partner list: search, filters, sorting, pagination, export.


@pytest.fixture
def catalogue(manager_user):
    """Four partners that differ in every filterable way."""
    gold, silver = TierFactory(rank=2, name="Gold"), TierFactory(rank=1, name="Silver")
    benelux, dach = TerritoryFactory(name="Benelux"), TerritoryFactory(name="DACH", countries=["DE", "AT"])
    other_manager = ManagerFactory(first_name="Otto", last_name="Other")
    today = timezone.localdate()
    return {
        "alpha": PartnerFactory(
            name="Alpha Resellers",
            legal_name="Alpha Holding N.V.",
            external_id="ERP-100",
            tier=gold,
            territory=benelux,
            account_manager=manager_user,
            joined_on=today - timezone.timedelta(days=300),
        ),
        "bravo": PartnerFactory(
            name="Bravo Distribution",
            partner_type=PartnerType.DISTRIBUTOR,
            website="https://bravo.example",
            tier=silver,
            territory=dach,
            country="DE",
            account_manager=other_manager,
            joined_on=today - timezone.timedelta(days=100),
        ),
        "charlie": PartnerFactory(
            name="Charlie MSP",
            partner_type=PartnerType.MSP,
            status=PartnerStatus.ONBOARDING,
            joined_on=None,
            territory=benelux,
            account_manager=manager_user,
        ),
        "delta": PartnerFactory(
            name="Delta Systems",
            partner_type=PartnerType.VAR,
            status=PartnerStatus.CHURNED,
            tier=gold,
            joined_on=today - timezone.timedelta(days=700),
            churned_on=today - timezone.timedelta(days=10),
        ),
        "gold": gold,
        "silver": silver,
        "benelux": benelux,
        "dach": dach,
        "other_manager": other_manager,
    }


def test_partner_list_shows_every_partner_sorted_by_name(manager_client, catalogue):
    response = manager_client.get(LIST_URL)

    assert response.status_code == 200
    assert _names(response) == ["Alpha Resellers", "Bravo Distribution", "Charlie MSP", "Delta Systems"]
    page = response.content.decode()
    assert "4 partners" in page
    assert "Maria Manager" in page  # account manager column
    assert "Benelux" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "charlie"}, ["Charlie MSP"]),
        ({"q": "Holding"}, ["Alpha Resellers"]),  # legal name
        ({"q": "erp-100"}, ["Alpha Resellers"]),  # external ID, exact but case-insensitive
        ({"q": "ERP-1"}, []),  # ...not a prefix
        ({"q": "bravo.example"}, ["Bravo Distribution"]),  # website
        ({"partner_type": "msp"}, ["Charlie MSP"]),
        ({"partner_type": ["msp", "var"]}, ["Charlie MSP", "Delta Systems"]),
        ({"status": "churned"}, ["Delta Systems"]),
        ({"status": ["active", "onboarding"]}, ["Alpha Resellers", "Bravo Distribution", "Charlie MSP"]),
        ({"country": "DE"}, ["Bravo Distribution"]),
    ],
)
def test_partner_list_search_and_choice_filters(manager_client, catalogue, params, expected):
    response = manager_client.get(LIST_URL, params)

    assert response.status_code == 200
    assert _names(response) == expected


def test_partner_list_filters_by_tier(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"tier": catalogue["gold"].pk})

    assert _names(response) == ["Alpha Resellers", "Delta Systems"]


def test_partner_list_filters_by_territory(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"territory": catalogue["dach"].pk})

    assert _names(response) == ["Bravo Distribution"]


def test_partner_list_filters_by_account_manager(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"account_manager": catalogue["other_manager"].pk})

    assert _names(response) == ["Bravo Distribution"]


def test_partner_list_filters_my_partners(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"mine": "true"})

    assert _names(response) == ["Alpha Resellers", "Charlie MSP"]


def test_partner_list_filters_combine(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"territory": catalogue["benelux"].pk, "status": "active"})

    assert _names(response) == ["Alpha Resellers"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-name", ["Delta Systems", "Charlie MSP", "Bravo Distribution", "Alpha Resellers"]),
        ("-joined_on", ["Charlie MSP", "Bravo Distribution", "Alpha Resellers", "Delta Systems"]),  # no date sorts first
        ("joined_on", ["Delta Systems", "Alpha Resellers", "Bravo Distribution", "Charlie MSP"]),
        ("status", ["Alpha Resellers", "Bravo Distribution", "Delta Systems", "Charlie MSP"]),  # ties by name
    ],
)
def test_partner_list_sorting(manager_client, catalogue, ordering, expected):
    response = manager_client.get(LIST_URL, {"ordering": ordering})

    assert _names(response) == expected


def test_sorting_with_ties_pages_through_every_partner_once_in_name_order(manager_client):
    names = [f"Partner {n:02d}" for n in range(30)]
    for name in reversed(names):  # stored in the opposite order of their names
        PartnerFactory(name=name, status=PartnerStatus.ACTIVE)

    pages = [manager_client.get(LIST_URL, {"ordering": "status", "page": page}) for page in (1, 2)]

    assert _names(pages[0]) + _names(pages[1]) == names


def test_partner_list_sorts_by_tier_rank(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"ordering": "tier", "tier": [catalogue["gold"].pk, catalogue["silver"].pk]})

    assert _names(response)[0] == "Bravo Distribution"  # Silver (rank 1) before Gold (rank 2)


def test_partner_list_empty_state(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"q": "nothing like this"})

    assert response.status_code == 200
    assert _names(response) == []
    assert "No partners match these filters." in response.content.decode()


@pytest.mark.parametrize("params", [{"tier": "abc"}, {"status": "bogus"}, {"account_manager": "999999"}, {"ordering": "password"}])
def test_partner_list_invalid_filter_is_ignored_with_a_message(manager_client, catalogue, params):
    response = manager_client.get(LIST_URL, params)

    assert response.status_code == 200
    assert len(_names(response)) == 4  # the filters were ignored, not applied half-way
    assert any(message.startswith("Some filters were not valid and were ignored") for message in _messages(response))


def test_partner_list_paginates(manager_client):
    PartnerFactory.create_batch(30)

    first = manager_client.get(LIST_URL)
    second = manager_client.get(LIST_URL, {"page": 2})

    assert len(first.context["page_obj"]) == 25
    assert len(second.context["page_obj"]) == 5
    assert set(_names(first)).isdisjoint(_names(second))
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.parametrize(("page", "number"), [("999", 2), ("abc", 1), ("-1", 2), ("", 1)])
def test_partner_list_bad_page_numbers_give_a_valid_page(manager_client, page, number):
    PartnerFactory.create_batch(30)

    response = manager_client.get(LIST_URL, {"page": page})

    assert response.status_code == 200
    assert response.context["page_obj"].number == number


def test_pagination_links_keep_the_filters(manager_client):
    PartnerFactory.create_batch(30, partner_type=PartnerType.MSP)

    response = manager_client.get(LIST_URL, {"partner_type": "msp"})

    assert "?partner_type=msp&amp;page=2" in response.content.decode()


def test_partner_list_csv_export_respects_the_filters(manager_client, catalogue):
    response = manager_client.get(LIST_URL, {"territory": catalogue["benelux"].pk, "export": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="partners.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["external_id", "name", "partner_type", "status", "tier", "territory", "country", "account_manager", "joined_on"]
    alpha = catalogue["alpha"]
    assert rows[1] == [
        "ERP-100",
        "Alpha Resellers",
        "reseller",
        "active",
        "Gold",
        "Benelux",
        "NL",
        alpha.account_manager.get_username(),
        alpha.joined_on.isoformat(),
    ]
    assert rows[2][1:4] == ["Charlie MSP", "msp", "onboarding"]
    assert rows[2][4] == ""
    assert rows[2][8] == ""
    assert len(rows) == 3


def test_partner_list_csv_export_neutralises_spreadsheet_formulas(manager_client):
    """Partner names can come from the public application form; a spreadsheet must not run them."""
    PartnerFactory(name='=HYPERLINK("http://evil.example","Click")', external_id="+1")

    response = manager_client.get(LIST_URL, {"export": "csv"})

    row = list(csv.reader(io.StringIO(response.content.decode())))[1]
    assert row[0] == "'+1"
    assert row[1] == '\'=HYPERLINK("http://evil.example","Click")'


def _grow_partner_list(count):
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR, name="AAA Distributor")
    for _ in range(count):
        partner = PartnerFactory(tier=TierFactory(), territory=TerritoryFactory(), account_manager=ManagerFactory(), parent=distributor)
        ContactFactory.create_batch(2, partner=partner)


@pytest.mark.parametrize("count", [5, 30])
def test_partner_list_query_count_does_not_grow_with_the_data(manager_client, django_assert_num_queries, count):
    _grow_partner_list(count)

    with django_assert_num_queries(10):
        # 1 session, 2 user, 3-4 the user's own and group permissions (is_channel_manager),
        # 5 COUNT for the paginator, 6-9 the filter form's choices: tiers, territories,
        # account managers, distributors, 10 the page of partners with tier, territory,
        # account manager, distributor, contact and reseller counts in one SELECT.
        response = manager_client.get(LIST_URL)

    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(count + 1, 25)


# Partner detail.


def test_partner_detail_shows_contacts_members_resellers_and_the_whole_timeline(manager_client, partner_a, admin_a, manager_user):
    ContactFactory(partner=partner_a, first_name="Petra", last_name="Primary", is_primary=True)
    ContactFactory(partner=partner_a, first_name="Sam", last_name="Second")
    invited = MembershipFactory(partner=partner_a, user__first_name="Ivan", user__last_name="Invited")
    invited.user.set_unusable_password()
    invited.user.save()
    partner_a.partner_type = PartnerType.DISTRIBUTOR
    partner_a.save()
    PartnerFactory(name="Served Reseller", parent=partner_a)
    InteractionFactory(partner=partner_a, summary="Quarterly call", author=manager_user)
    InteractionFactory(partner=partner_a, summary="Margin talk, do not share", is_internal=True)

    response = manager_client.get(reverse("partners:detail", args=[partner_a.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Petra Primary", "Sam Second", admin_a.email, "Ivan Invited", "invitation pending", "Served Reseller"):
        assert text in page
    assert [item.summary for item in response.context["timeline"]] == ["Margin talk, do not share", "Quarterly call"]
    assert "internal" in page


def test_partner_detail_query_count_does_not_grow_with_the_data(manager_client, partner_a, django_assert_num_queries):
    ContactFactory.create_batch(5, partner=partner_a)
    MembershipFactory.create_batch(5, partner=partner_a)
    InteractionFactory.create_batch(10, partner=partner_a, author=ManagerFactory())
    url = reverse("partners:detail", args=[partner_a.pk])

    with django_assert_num_queries(10):
        # 1 session, 2 user, 3-4 permissions, 5 the partner with tier, territory, account manager,
        # distributor, 6 its contacts, 7 its memberships with user and inviter, 8 the resellers it
        # serves, 9 COUNT of timeline entries, 10 the first timeline page with authors.
        response = manager_client.get(url)

    assert len(response.context["timeline"]) == 10


def test_unknown_partner_is_404(manager_client):
    assert manager_client.get(reverse("partners:detail", args=[999999])).status_code == 404


# Create and edit.


def test_create_partner(manager_client, manager_user):
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    tier = TierFactory()

    response = manager_client.post(
        reverse("partners:create"), _partner_post(name="Gamma IT", parent=distributor.pk, tier=tier.pk, status="active")
    )

    partner = Partner.objects.get(name="Gamma IT")
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:detail", args=[partner.pk])
    assert (partner.parent, partner.tier, partner.status, partner.joined_on) == (distributor, tier, "active", timezone.localdate())
    assert partner.status_changes.get().changed_by == manager_user


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"country": ""}, "country"),
        ({"website": "not a url"}, "website"),
        ({"joined_on": "2025-03-10", "churned_on": "2025-03-01"}, "churned_on"),
        ({"joined_on": "2025-03-10", "churned_on": "2025-03-01", "status": "churned"}, "churned_on"),
    ],
)
def test_create_partner_with_bad_input_is_400_and_saves_nothing(manager_client, overrides, field):
    before = Partner.objects.count()

    response = manager_client.post(reverse("partners:create"), _partner_post(**overrides))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "Please correct the errors below; nothing was saved." in response.content.decode()
    assert Partner.objects.count() == before


def test_create_partner_with_a_parent_that_is_not_a_distributor_is_400(manager_client):
    reseller = PartnerFactory(partner_type=PartnerType.RESELLER)
    sub_distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR, parent=PartnerFactory(partner_type=PartnerType.DISTRIBUTOR))

    for parent in (reseller, sub_distributor):
        response = manager_client.post(reverse("partners:create"), _partner_post(name="Gamma IT", parent=parent.pk))

        assert response.status_code == 400
        assert "parent" in response.context["form"].errors
    assert not Partner.objects.filter(name="Gamma IT").exists()


def test_create_partner_with_a_taken_external_id_says_so_on_the_field(manager_client):
    PartnerFactory(external_id="ERP-7")

    response = manager_client.post(reverse("partners:create"), _partner_post(external_id="ERP-7"))

    assert response.status_code == 400
    assert response.context["form"].errors["external_id"] == ["Another partner already has this external ID."]
    assert not Partner.objects.filter(name="Gamma IT").exists()


def test_edit_partner_status_change_shows_in_the_timeline(manager_client, partner_a):
    response = manager_client.get(reverse("partners:edit", args=[partner_a.pk]))
    assert response.status_code == 200
    assert response.context["form"].initial["name"] == partner_a.name

    response = manager_client.post(reverse("partners:edit", args=[partner_a.pk]), _partner_post(partner_a, status="inactive"))

    assert response.status_code == 302
    partner_a.refresh_from_db()
    assert partner_a.status == PartnerStatus.INACTIVE
    detail = manager_client.get(reverse("partners:detail", args=[partner_a.pk]))
    assert "Status changed from Active to Inactive" in detail.content.decode()
    assert "Maria Manager" in detail.content.decode()


def test_edit_partner_with_bad_input_is_400_and_saves_nothing(manager_client, partner_a):
    name = partner_a.name

    response = manager_client.post(
        reverse("partners:edit", args=[partner_a.pk]), _partner_post(partner_a, name="", status=PartnerStatus.CHURNED)
    )

    assert response.status_code == 400
    partner_a.refresh_from_db()
    assert (partner_a.name, partner_a.status) == (name, PartnerStatus.ACTIVE)
    assert not partner_a.status_changes.exists()


def test_a_distributor_with_resellers_cannot_be_given_a_distributor(manager_client):
    top = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    PartnerFactory(parent=distributor)

    response = manager_client.post(reverse("partners:edit", args=[distributor.pk]), _partner_post(distributor, parent=top.pk))

    assert response.status_code == 400
    assert "parent" in response.context["form"].errors
    distributor.refresh_from_db()
    assert distributor.parent is None


# Logging interactions (HTMX).


def _interaction_post(**overrides):
    return {"kind": "call", "occurred_at": "2025-03-10T14:30", "summary": "Pipeline review", "details": "", **overrides}


def test_htmx_log_returns_the_partial_with_the_new_entry_and_a_fresh_form(manager_client, partner_a, manager_user):
    url = reverse("partners:interaction_create", args=[partner_a.pk])

    response = manager_client.post(url, _interaction_post(is_internal="on"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "partners/_interaction_form.html"
    created = Interaction.objects.get(partner=partner_a)
    assert (created.author, created.summary, created.kind, created.is_internal) == (manager_user, "Pipeline review", "call", True)
    page = response.content.decode()
    assert f'id="interaction-{created.pk}"' in page
    assert 'hx-swap-oob="afterbegin:#timeline"' in page
    form = response.context["interaction_form"]
    assert not form.is_bound  # a fresh form for the next entry
    assert 'value="Pipeline review"' not in page
    assert "<html" not in page  # a fragment, not the whole page


def test_htmx_log_with_errors_returns_the_form_and_saves_nothing(manager_client, partner_a):
    url = reverse("partners:interaction_create", args=[partner_a.pk])

    response = manager_client.post(url, _interaction_post(summary="", kind="status_changed"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200  # HTMX swaps 2xx only: the errors must be shown
    form = response.context["interaction_form"]
    assert set(form.errors) == {"summary", "kind"}
    assert response.context["created"] is None
    assert "This field is required." in response.content.decode()
    assert not Interaction.objects.filter(partner=partner_a).exists()


def test_log_without_htmx_redirects_to_the_detail_page(manager_client, partner_a):
    url = reverse("partners:interaction_create", args=[partner_a.pk])

    response = manager_client.post(url, _interaction_post())

    assert response.status_code == 302
    assert response["Location"] == reverse("partners:detail", args=[partner_a.pk])
    assert Interaction.objects.filter(partner=partner_a, summary="Pipeline review").exists()


def test_log_without_htmx_with_errors_is_400_on_the_detail_page(manager_client, partner_a):
    url = reverse("partners:interaction_create", args=[partner_a.pk])

    response = manager_client.post(url, _interaction_post(occurred_at="2099-01-01T00:00"))

    assert response.status_code == 400
    assert response.context["interaction_form"].errors["occurred_at"] == ["The date is more than a year in the future."]
    assert not Interaction.objects.filter(partner=partner_a).exists()


# Contacts.


def test_create_contact(manager_client, partner_a):
    url = reverse("partners:contact_create", args=[partner_a.pk])
    assert manager_client.get(url).status_code == 200

    response = manager_client.post(url, {"first_name": "Nora", "last_name": "New", "email": "nora@alpha.test", "role": "Sales"})

    assert response.status_code == 302
    contact = Contact.objects.get(partner=partner_a)
    assert (contact.full_name, contact.email, contact.is_primary) == ("Nora New", "nora@alpha.test", False)


def test_create_primary_contact_in_the_ui_demotes_the_old_primary(manager_client, partner_a):
    old = ContactFactory(partner=partner_a, is_primary=True)

    response = manager_client.post(
        reverse("partners:contact_create", args=[partner_a.pk]), {"first_name": "Nora", "last_name": "New", "is_primary": "on"}
    )

    assert response.status_code == 302
    old.refresh_from_db()
    assert not old.is_primary
    assert Contact.objects.get(partner=partner_a, is_primary=True).first_name == "Nora"


def test_create_contact_with_bad_input_is_400(manager_client, partner_a):
    response = manager_client.post(reverse("partners:contact_create", args=[partner_a.pk]), {"first_name": "", "email": "nope"})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"first_name", "last_name", "email"}
    assert not Contact.objects.filter(partner=partner_a).exists()


def test_edit_contact(manager_client, partner_a):
    contact = ContactFactory(partner=partner_a, first_name="Old")
    url = reverse("partners:contact_edit", args=[partner_a.pk, contact.pk])
    assert manager_client.get(url).context["form"].initial["first_name"] == "Old"

    response = manager_client.post(url, {"first_name": "Renamed", "last_name": contact.last_name, "email": contact.email})

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Renamed"


def test_delete_contact_asks_for_confirmation_first(manager_client, partner_a):
    contact = ContactFactory(partner=partner_a, first_name="Doomed", last_name="Contact")
    url = reverse("partners:contact_delete", args=[partner_a.pk, contact.pk])

    response = manager_client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Are you sure?" in page
    assert "Doomed Contact" in page
    assert Contact.objects.filter(pk=contact.pk).exists()

    response = manager_client.post(url)

    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert "Contact Doomed Contact deleted." in _messages(manager_client.get(response["Location"]))


def test_a_contact_of_another_partner_is_404_under_this_partner(manager_client, partner_a, partner_b):
    contact = ContactFactory(partner=partner_b, first_name="Bert")

    for name in ("partners:contact_edit", "partners:contact_delete"):
        url = reverse(name, args=[partner_a.pk, contact.pk])
        assert manager_client.get(url).status_code == 404
        assert manager_client.post(url, {"first_name": "Hijacked", "last_name": "X"}).status_code == 404
    contact.refresh_from_db()
    assert contact.first_name == "Bert"


# Portal users.


def test_invite_a_member(manager_client, partner_a, django_capture_on_commit_callbacks):
    url = reverse("partners:member_invite", args=[partner_a.pk])
    assert manager_client.get(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(url, {"first_name": "Nina", "last_name": "New", "email": "nina@alpha.test", "role": "admin"})

    assert response.status_code == 302
    membership = Membership.objects.get(partner=partner_a, user__email="nina@alpha.test")
    assert membership.role == MembershipRole.ADMIN
    assert [message.to for message in mail.outbox] == [["nina@alpha.test"]]
    detail = manager_client.get(response["Location"])
    assert "Invitation sent to nina@alpha.test." in _messages(detail)
    assert "invitation pending" in detail.content.decode()


def test_invite_an_existing_address_is_400_with_a_field_error(manager_client, partner_a, admin_b):
    response = manager_client.post(
        reverse("partners:member_invite", args=[partner_a.pk]),
        {"first_name": "A", "last_name": "B", "email": admin_b.email, "role": "user"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["email"] == ["A user with this e-mail address already exists."]
    assert not Membership.objects.filter(partner=partner_a).exists()


def test_deactivate_and_reactivate_a_member(manager_client, partner_a, admin_a, user_a):
    url = reverse("partners:member_set_active", args=[partner_a.pk, user_a.membership.pk])

    response = manager_client.post(url, {"active": "0"}, follow=True)

    user_a.refresh_from_db()
    assert not user_a.is_active
    assert f"{user_a.get_full_name()} can no longer sign in." in _messages(response)
    assert "deactivated" in response.content.decode()

    response = manager_client.post(url, {"active": "1"}, follow=True)

    user_a.refresh_from_db()
    assert user_a.is_active
    assert f"{user_a.get_full_name()} can sign in again." in _messages(response)


def test_the_last_partner_admin_cannot_be_deactivated_from_the_ui(manager_client, partner_a, admin_a):
    url = reverse("partners:member_set_active", args=[partner_a.pk, admin_a.membership.pk])

    response = manager_client.post(url, {"active": "0"}, follow=True)

    admin_a.refresh_from_db()
    assert admin_a.is_active
    assert "A partner needs at least one active partner admin." in _messages(response)


def test_member_of_another_partner_is_404(manager_client, partner_a, admin_b):
    url = reverse("partners:member_set_active", args=[partner_a.pk, admin_b.membership.pk])

    assert manager_client.post(url, {"active": "0"}).status_code == 404
    admin_b.refresh_from_db()
    assert admin_b.is_active


def test_member_set_active_is_post_only(manager_client, partner_a, user_a):
    url = reverse("partners:member_set_active", args=[partner_a.pk, user_a.membership.pk])

    assert manager_client.get(url, {"active": "0"}).status_code == 405


# Applications.


@pytest.fixture
def applications(manager_user):
    return {
        "pending": [ApplicationFactory(company_name="Pending One"), ApplicationFactory(company_name="Pending Two")],
        "accepted": ApplicationFactory(company_name="Accepted Co", status=ApplicationStatus.ACCEPTED),
        "declined": ApplicationFactory(company_name="Declined Co", status=ApplicationStatus.DECLINED, decline_reason="No fit"),
    }


def _companies(response):
    return sorted(application.company_name for application in response.context["page_obj"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, ["Pending One", "Pending Two"]),
        ("pending", ["Pending One", "Pending Two"]),
        ("accepted", ["Accepted Co"]),
        ("declined", ["Declined Co"]),
        ("all", ["Accepted Co", "Declined Co", "Pending One", "Pending Two"]),
        ("nonsense", ["Pending One", "Pending Two"]),
    ],
)
def test_application_list_tabs(manager_client, applications, status, expected):
    response = manager_client.get(reverse("partners:applications"), {"status": status} if status else {})

    assert response.status_code == 200
    assert _companies(response) == expected
    assert response.context["counts"] == {"pending": 2, "accepted": 1, "declined": 1}
    assert '<span class="badge text-bg-warning">2</span>' in response.content.decode()


def test_application_list_empty_state(manager_client):
    response = manager_client.get(reverse("partners:applications"))

    assert "No applications here." in response.content.decode()


def test_application_detail_offers_accept_and_decline_for_pending_only(manager_client, applications):
    pending = manager_client.get(reverse("partners:application_detail", args=[applications["pending"][0].pk])).content.decode()
    declined = manager_client.get(reverse("partners:application_detail", args=[applications["declined"].pk])).content.decode()

    assert 'id="accept-form"' in pending
    assert 'id="decline-form"' in pending
    assert 'id="accept-form"' not in declined
    assert "No fit" in declined


def test_accept_an_application_through_the_view(manager_client, manager_user, django_capture_on_commit_callbacks):
    application = ApplicationFactory(company_name="Zeta GmbH", email="zoe@zeta.example")
    tier = TierFactory(name="Silver")

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("partners:application_accept", args=[application.pk]), {"tier": tier.pk})

    partner = Partner.objects.get(name="Zeta GmbH")
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:detail", args=[partner.pk])
    assert (partner.tier, partner.account_manager, partner.status) == (tier, manager_user, PartnerStatus.ONBOARDING)
    assert [message.to for message in mail.outbox] == [["zoe@zeta.example"]]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED


def test_accepting_a_decided_application_is_400(manager_client, applications):
    application = applications["declined"]

    response = manager_client.post(reverse("partners:application_accept", args=[application.pk]), {})

    assert response.status_code == 400
    assert response.context["accept_form"].non_field_errors() == ["This application has already been decided."]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECLINED
    assert application.partner is None


def test_accepting_an_applicant_who_already_has_an_account_is_400_not_500(manager_client, admin_b):
    application = ApplicationFactory(company_name="Zeta GmbH", email=admin_b.email)

    response = manager_client.post(reverse("partners:application_accept", args=[application.pk]), {})

    assert response.status_code == 400
    assert "A user with this e-mail address already exists." in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert not Partner.objects.filter(name="Zeta GmbH").exists()


def test_decline_without_a_reason_is_400_and_stays_pending(manager_client, django_capture_on_commit_callbacks):
    application = ApplicationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("partners:application_decline", args=[application.pk]), {"decline_reason": ""})

    assert response.status_code == 400
    assert "decline_reason" in response.context["decline_form"].errors
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert mail.outbox == []


def test_decline_through_the_view_informs_the_applicant(manager_client, django_capture_on_commit_callbacks):
    application = ApplicationFactory(email="yves@ypsilon.example")

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("partners:application_decline", args=[application.pk]), {"decline_reason": "Outside our region."}
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("partners:applications")
    application.refresh_from_db()
    assert (application.status, application.decline_reason) == (ApplicationStatus.DECLINED, "Outside our region.")
    assert [message.to for message in mail.outbox] == [["yves@ypsilon.example"]]
    assert "Outside our region." in mail.outbox[0].body


# Permissions: who may open the manager UI.


@pytest.fixture
def manager_urls(partner_a):
    contact = ContactFactory(partner=partner_a)
    membership = MembershipFactory(partner=partner_a)
    application = ApplicationFactory()
    return {
        "get": [
            reverse("partners:list"),
            reverse("partners:create"),
            reverse("partners:detail", args=[partner_a.pk]),
            reverse("partners:edit", args=[partner_a.pk]),
            reverse("partners:contact_create", args=[partner_a.pk]),
            reverse("partners:contact_edit", args=[partner_a.pk, contact.pk]),
            reverse("partners:contact_delete", args=[partner_a.pk, contact.pk]),
            reverse("partners:member_invite", args=[partner_a.pk]),
            reverse("partners:applications"),
            reverse("partners:application_detail", args=[application.pk]),
        ],
        "post": [
            reverse("partners:create"),
            reverse("partners:edit", args=[partner_a.pk]),
            reverse("partners:interaction_create", args=[partner_a.pk]),
            reverse("partners:contact_create", args=[partner_a.pk]),
            reverse("partners:contact_edit", args=[partner_a.pk, contact.pk]),
            reverse("partners:contact_delete", args=[partner_a.pk, contact.pk]),
            reverse("partners:member_invite", args=[partner_a.pk]),
            reverse("partners:member_set_active", args=[partner_a.pk, membership.pk]),
            reverse("partners:application_accept", args=[application.pk]),
            reverse("partners:application_decline", args=[application.pk]),
        ],
    }


def _unchanged(partner_a):
    """Nothing a refused request could have written."""
    assert Contact.objects.filter(partner=partner_a).count() == 1
    assert not Interaction.objects.filter(partner=partner_a).exclude(kind="portal_login").exists()  # the login itself is logged
    assert (
        Membership.objects.filter(partner=partner_a, user__is_active=True).count() == Membership.objects.filter(partner=partner_a).count()
    )
    assert PartnerApplication.objects.get().status == ApplicationStatus.PENDING
    assert Partner.objects.count() == 1


def test_anonymous_users_are_sent_to_the_login_page(client, manager_urls, partner_a):
    for method, urls in (("get", manager_urls["get"]), ("post", manager_urls["post"])):
        for url in urls:
            response = getattr(client, method)(url, {"active": "0", "summary": "x", "name": "x", "decline_reason": "x"})
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login") + "?next="), url
    _unchanged(partner_a)


def test_partner_users_get_403_on_every_manager_page(client_a, manager_urls, partner_a):
    for url in manager_urls["get"]:
        assert client_a.get(url).status_code == 403, url
    for url in manager_urls["post"]:
        assert client_a.post(url, {"active": "0", "summary": "x", "name": "x", "decline_reason": "x"}).status_code == 403, url
    _unchanged(partner_a)


def test_staff_outside_the_manager_group_get_403(staff_client, manager_urls, partner_a):
    for url in manager_urls["get"]:
        assert staff_client.get(url).status_code == 403, url
    for url in manager_urls["post"]:
        assert staff_client.post(url, {"active": "0", "summary": "x", "name": "x", "decline_reason": "x"}).status_code == 403, url
    _unchanged(partner_a)


def test_a_manager_without_a_model_permission_gets_403_for_that_action(client, partner_a):
    manager = ManagerFactory()
    manager.user_permissions.add(Permission.objects.get(codename="view_partner"))
    manager.groups.clear()
    client.force_login(manager)

    assert client.get(reverse("partners:list")).status_code == 200
    assert client.get(reverse("partners:create")).status_code == 403
    assert client.get(reverse("partners:edit", args=[partner_a.pk])).status_code == 403
    assert client.get(reverse("partners:applications")).status_code == 403


def test_a_manager_asking_for_something_that_does_not_exist_gets_404(manager_client, partner_a):
    missing = 999999
    for url in (
        reverse("partners:detail", args=[missing]),
        reverse("partners:edit", args=[missing]),
        reverse("partners:contact_create", args=[missing]),
        reverse("partners:contact_edit", args=[partner_a.pk, missing]),
        reverse("partners:member_invite", args=[missing]),
        reverse("partners:application_detail", args=[missing]),
    ):
        assert manager_client.get(url).status_code == 404, url
    for url in (
        reverse("partners:interaction_create", args=[missing]),
        reverse("partners:member_set_active", args=[missing, missing]),
        reverse("partners:application_accept", args=[missing]),
        reverse("partners:application_decline", args=[missing]),
    ):
        assert manager_client.post(url, {"decline_reason": "x"}).status_code == 404, url


def test_home_sends_each_kind_of_user_to_its_start_page(client, manager_user, admin_a):
    assert client.get(reverse("home"))["Location"] == reverse("login")
    client.force_login(manager_user)
    assert client.get(reverse("home"))["Location"] == reverse("partners:list")
    client.force_login(admin_a)
    assert client.get(reverse("home"))["Location"] == reverse("portal:home")
    client.force_login(UserFactory())
    assert client.get(reverse("home")).status_code == 403


# The public application form.


APPLY = {
    "company_name": "Eta Networks Ltd",
    "legal_name": "",
    "partner_type": "msp",
    "country": "GB",
    "website": "https://eta.example",
    "first_name": "Ella",
    "last_name": "Eta",
    "email": "ella@eta.example",
    "phone": "",
    "message": "We run networks for schools.",
    "website_url": "",
    "accept_terms": "on",
}


def test_apply_form_is_public(client):
    response = client.get(reverse("apply"))

    assert response.status_code == 200
    assert "Become a partner" in response.content.decode()


def test_a_valid_application_is_stored_as_pending_and_thanked(client, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("apply"), APPLY)

    assert response.status_code == 302
    assert response["Location"] == reverse("apply_thanks")
    application = PartnerApplication.objects.get()
    assert (application.company_name, application.email, application.status) == ("Eta Networks Ltd", "ella@eta.example", "pending")
    assert [message.to for message in mail.outbox] == [[manager_user.email]]
    assert "Thank you for applying" in client.get(response["Location"]).content.decode()


def test_an_application_with_missing_fields_is_400_and_not_stored(client):
    response = client.post(reverse("apply"), {**APPLY, "company_name": "", "email": "", "accept_terms": ""})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"company_name", "email", "accept_terms"}
    assert "Please correct the errors below." in response.content.decode()
    assert not PartnerApplication.objects.exists()


def test_a_filled_honeypot_is_refused_and_not_stored(client, manager_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("apply"), {**APPLY, "website_url": "http://spam.example"})

    assert response.status_code == 400
    assert response.context["form"].errors["website_url"] == ["Please leave this field empty."]
    assert not PartnerApplication.objects.exists()
    assert mail.outbox == []


# The API token page.


def test_api_token_page_needs_a_login(client):
    response = client.get(reverse("api_token"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('api_token')}"


@pytest.mark.parametrize("persona", ["manager_user", "admin_a"])
def test_create_and_replace_an_api_token(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = reverse("api_token")
    assert "You have no token yet." in client.get(url).content.decode()

    response = client.post(url)

    assert response.status_code == 302
    first = Token.objects.get(user=user)
    page = client.get(url).content.decode()
    assert first.key in page
    assert "Replace token" in page

    client.post(url)

    second = Token.objects.get(user=user)
    assert second.key != first.key
    assert not Token.objects.filter(key=first.key).exists()


def test_api_token_page_is_not_for_users_without_a_role(staff_client):
    assert staff_client.get(reverse("api_token")).status_code == 403
    assert not Token.objects.exists()


def test_manager_resends_a_pending_invitation_from_the_partner_page(manager_client, partner_a, django_capture_on_commit_callbacks):
    invited = MembershipFactory(partner=partner_a, user__username="pending@alpha.test", user__password=None)
    detail = manager_client.get(reverse("partners:detail", args=[partner_a.pk])).content.decode()
    assert "Resend invitation" in detail
    url = reverse("partners:member_resend_invitation", args=[partner_a.pk, invited.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(url, follow=True)
    assert "The invitation was sent again to pending@alpha.test." in _messages(response)
    assert [message.to for message in mail.outbox] == [["pending@alpha.test"]]


def test_resend_for_a_member_of_another_partner_is_404(manager_client, partner_a, partner_b):
    invited_b = MembershipFactory(partner=partner_b, user__password=None)
    url = reverse("partners:member_resend_invitation", args=[partner_a.pk, invited_b.pk])
    assert manager_client.post(url).status_code == 404
