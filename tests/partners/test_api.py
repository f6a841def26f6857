"""The REST API under /api/v1/: managers read and write, partner users (token) read their own company.

Every partner-user test also has a positive side (its own data is there), so a scope that
returned nothing at all would fail as loudly as one that leaked.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import (
    Contact,
    Interaction,
    InteractionKind,
    Partner,
    PartnerStatus,
    PartnerStatusChange,
    PartnerType,
    Territory,
    Tier,
)
from tests.partners.factories import (
    ContactFactory,
    InteractionFactory,
    ManagerFactory,
    PartnerFactory,
    TerritoryFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def token_client(user):
    return APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")


@pytest.fixture
def api(manager_user):
    """A channel manager's API client (token auth, like an integration would use)."""
    return token_client(manager_user)


@pytest.fixture
def api_a(user_a):
    """Partner A's plain user, with a token."""
    return token_client(user_a)


@pytest.fixture
def api_admin_a(admin_a):
    """Partner A's partner admin, with a token: admins of a partner cannot write through the API either."""
    return token_client(admin_a)


def _names(response):
    return [row["name"] for row in response.json()["results"]]


def _ids(response):
    return {row["id"] for row in response.json()["results"]}


# --- managers: partners --------------------------------------------------------------------------


class TestManagerPartnerList:
    def test_lists_every_partner_paginated(self, api, partner_a, partner_b):
        response = api.get("/api/v1/partners/")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert _names(response) == ["Alpha Resellers B.V.", "Beta Distribution GmbH"]
        assert set(body["results"][0]) >= {"id", "name", "partner_type", "status", "tier", "country", "account_manager"}

    def test_filter_by_status_type_country_and_tier(self, api, partner_a, partner_b):
        gold = TierFactory(name="Gold", rank=3)
        PartnerFactory(name="Gamma Churned", status=PartnerStatus.CHURNED, churned_on=timezone.localdate())
        PartnerFactory(name="Delta Distribution", partner_type=PartnerType.DISTRIBUTOR, tier=gold)

        assert _names(api.get("/api/v1/partners/", {"status": "churned"})) == ["Gamma Churned"]
        assert _names(api.get("/api/v1/partners/", {"partner_type": "distributor"})) == ["Delta Distribution"]
        assert _names(api.get("/api/v1/partners/", {"country": "DE"})) == ["Beta Distribution GmbH"]
        assert _names(api.get("/api/v1/partners/", {"tier": gold.pk})) == ["Delta Distribution"]
        both = api.get("/api/v1/partners/?status=churned&status=active&country=NL")
        assert _names(both) == ["Alpha Resellers B.V.", "Delta Distribution", "Gamma Churned"]

    def test_filter_mine_is_the_requesting_managers_partners(self, api, manager_user, partner_a, partner_b):
        partner_b.account_manager = manager_user
        partner_b.save()
        assert _names(api.get("/api/v1/partners/", {"mine": "true"})) == ["Beta Distribution GmbH"]

    def test_search_by_name_legal_name_and_external_id(self, api, partner_a, partner_b):
        PartnerFactory(name="Omega", legal_name="Omega Holding Ltd", external_id="ERP-777")
        assert _names(api.get("/api/v1/partners/", {"search": "beta"})) == ["Beta Distribution GmbH"]
        assert _names(api.get("/api/v1/partners/", {"search": "holding"})) == ["Omega"]
        assert _names(api.get("/api/v1/partners/", {"q": "ERP-777"})) == ["Omega"]

    def test_ordering(self, api, partner_a, partner_b):
        assert _names(api.get("/api/v1/partners/", {"ordering": "-name"})) == ["Beta Distribution GmbH", "Alpha Resellers B.V."]
        partner_a.joined_on = dt.date(2020, 1, 1)
        partner_a.save()
        partner_b.joined_on = dt.date(2010, 1, 1)
        partner_b.save()
        assert _names(api.get("/api/v1/partners/", {"ordering": "joined_on"})) == ["Beta Distribution GmbH", "Alpha Resellers B.V."]
        assert _names(api.get("/api/v1/partners/", {"ordering": "-joined_on"})) == ["Alpha Resellers B.V.", "Beta Distribution GmbH"]

    def test_ordering_by_tier_uses_the_tier_rank(self, api, partner_a, partner_b):
        partner_a.tier = TierFactory(name="Zinc", rank=1)
        partner_a.save()
        partner_b.tier = TierFactory(name="Amber", rank=2)
        partner_b.save()
        assert _names(api.get("/api/v1/partners/", {"ordering": "-tier"})) == ["Beta Distribution GmbH", "Alpha Resellers B.V."]

    def test_every_documented_ordering_is_accepted(self, api, signed_in_client, partner_a, partner_b):
        """The schema's `ordering` choices are the ones the API accepts (one definition, not two)."""
        params = signed_in_client.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/v1/partners/"]["get"]["parameters"]
        choices = next(p for p in params if p["name"] == "ordering")["schema"]["items"]["enum"]
        assert {"name", "-name", "tier", "joined_on"} <= set(choices)
        for choice in choices:
            response = api.get("/api/v1/partners/", {"ordering": choice})
            assert response.status_code == 200, (choice, response.json())
            assert len(response.json()["results"]) == 2

    def test_page_size_and_pages(self, api):
        PartnerFactory.create_batch(5)
        first = api.get("/api/v1/partners/", {"page_size": 2})
        assert first.status_code == 200
        assert first.json()["count"] == 5
        assert len(first.json()["results"]) == 2
        assert "page=2" in first.json()["next"]
        last = api.get("/api/v1/partners/", {"page_size": 2, "page": 3})
        assert len(last.json()["results"]) == 1
        assert last.json()["next"] is None

    @pytest.mark.parametrize("page", ["99", "abc", "0"])
    def test_bad_page_is_a_json_404(self, api, partner_a, page):
        response = api.get("/api/v1/partners/", {"page": page})
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert "detail" in response.json()

    @pytest.mark.parametrize(
        ("param", "value"),
        [
            ("status", "bogus"),
            ("partner_type", "spaceship"),
            ("tier", "999999"),
            ("territory", "abc"),
            ("parent", "999999"),
            ("ordering", "password"),
        ],
    )
    def test_bad_filter_value_is_a_json_400_naming_the_field(self, api, partner_a, param, value):
        response = api.get("/api/v1/partners/", {param: value})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert param in response.json()

    @pytest.mark.parametrize("param", ["tier", "territory"])
    @pytest.mark.parametrize("value", ["28735873796110964228096", "-9223372036854775809"])
    def test_filter_by_an_id_beyond_the_database_range_is_a_400(self, api, partner_a, param, value):
        # Found by schemathesis: SQLite cannot even bind such a number (an OverflowError, a 500), so
        # it must be refused before it reaches any query.
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/v1/partners/", {param: ["1", value]})
        assert response.status_code == 400
        assert not [query["sql"] for query in queries if value.lstrip("-") in query["sql"]]
        assert response.json() == {param: [f"Select a valid choice. {value} is not one of the available choices."]}


def _partner_payload(**overrides):
    return {"name": "Zeta Systems", "partner_type": "reseller", "country": "BE", **overrides}


class TestManagerPartnerWrite:
    def test_create_partner(self, api, manager_user):
        tier = TierFactory(name="Silver", rank=2)
        response = api.post("/api/v1/partners/", _partner_payload(tier=tier.pk, account_manager=manager_user.pk), format="json")
        assert response.status_code == 201, response.json()
        partner = Partner.objects.get(pk=response.json()["id"])
        assert partner.name == "Zeta Systems"
        assert partner.tier == tier
        assert partner.status == PartnerStatus.ONBOARDING  # the default when no status is given
        assert partner.account_manager == manager_user
        # the creation is on the partner's record, dated and attributed
        change = PartnerStatusChange.objects.get(partner=partner)
        assert (change.from_status, change.to_status, change.changed_by) == ("", "onboarding", manager_user)

    def test_create_reseller_under_a_distributor(self, api):
        distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
        response = api.post("/api/v1/partners/", _partner_payload(parent=distributor.pk), format="json")
        assert response.status_code == 201, response.json()
        assert Partner.objects.get(pk=response.json()["id"]).parent == distributor

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"name": ""}, "name"),
            ({"partner_type": "spaceship"}, "partner_type"),
            ({"country": "XX"}, "country"),
            ({"tier": 999999}, "tier"),
            ({"status": "bankrupt"}, "status"),
        ],
    )
    def test_bad_payload_is_400_with_field_errors_and_nothing_written(self, api, payload, field):
        response = api.post("/api/v1/partners/", _partner_payload(**payload), format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Partner.objects.exists()
        assert not PartnerStatusChange.objects.exists()

    def test_missing_name_is_400(self, api):
        payload = _partner_payload()
        del payload["name"]
        response = api.post("/api/v1/partners/", payload, format="json")
        assert response.status_code == 400
        assert "name" in response.json()
        assert not Partner.objects.exists()

    def test_parent_must_be_a_distributor(self, api, partner_a):
        response = api.post("/api/v1/partners/", _partner_payload(parent=partner_a.pk), format="json")
        assert response.status_code == 400
        assert "parent" in response.json()
        assert list(Partner.objects.all()) == [partner_a]
        assert not Interaction.objects.exists()

    def test_account_manager_must_be_staff(self, api, admin_a):
        response = api.post("/api/v1/partners/", _partner_payload(account_manager=admin_a.pk), format="json")
        assert response.status_code == 400
        assert "account_manager" in response.json()
        assert not Partner.objects.filter(name="Zeta Systems").exists()

    def test_patch_status_records_a_status_change(self, api, manager_user, partner_a):
        response = api.patch(f"/api/v1/partners/{partner_a.pk}/", {"status": "inactive"}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "inactive"
        partner_a.refresh_from_db()
        assert partner_a.status == PartnerStatus.INACTIVE
        change = PartnerStatusChange.objects.get(partner=partner_a)
        assert (change.from_status, change.to_status, change.changed_by) == ("active", "inactive", manager_user)
        entry = Interaction.objects.get(partner=partner_a, kind=InteractionKind.STATUS_CHANGED)
        assert entry.is_internal

    def test_patch_without_status_records_no_status_change(self, api, partner_a):
        response = api.patch(f"/api/v1/partners/{partner_a.pk}/", {"legal_name": "Alpha Holding"}, format="json")
        assert response.status_code == 200
        partner_a.refresh_from_db()
        assert partner_a.legal_name == "Alpha Holding"
        assert partner_a.status == PartnerStatus.ACTIVE
        assert not PartnerStatusChange.objects.exists()

    def test_put_replaces_the_record(self, api, partner_a):
        response = api.put(f"/api/v1/partners/{partner_a.pk}/", _partner_payload(name="Alpha Renamed", status="active"), format="json")
        assert response.status_code == 200, response.json()
        partner_a.refresh_from_db()
        assert (partner_a.name, partner_a.country.code) == ("Alpha Renamed", "BE")

    def test_put_without_status_keeps_the_status(self, api, partner_a):
        """Status is optional on PUT too: leaving it out must not reset an active partner to onboarding."""
        response = api.put(f"/api/v1/partners/{partner_a.pk}/", _partner_payload(name="Alpha Renamed"), format="json")
        assert response.status_code == 200, response.json()
        partner_a.refresh_from_db()
        assert (partner_a.name, partner_a.status) == ("Alpha Renamed", PartnerStatus.ACTIVE)
        assert not PartnerStatusChange.objects.exists()

    def test_partners_cannot_be_deleted(self, api, partner_a):
        assert api.delete(f"/api/v1/partners/{partner_a.pk}/").status_code == 405
        assert Partner.objects.filter(pk=partner_a.pk).exists()


# --- managers: contacts --------------------------------------------------------------------------


class TestManagerContacts:
    def test_list_and_filter_by_partner(self, api, partner_a, partner_b):
        ca = ContactFactory(partner=partner_a)
        cb = ContactFactory(partner=partner_b, is_primary=True)
        assert _ids(api.get("/api/v1/contacts/")) == {ca.pk, cb.pk}
        assert _ids(api.get("/api/v1/contacts/", {"partner": partner_a.pk})) == {ca.pk}
        assert _ids(api.get("/api/v1/contacts/", {"is_primary": "true"})) == {cb.pk}

    def test_create_update_delete(self, api, partner_a):
        payload = {"partner": partner_a.pk, "first_name": "Petra", "last_name": "Peters", "email": "petra@alpha.test"}
        created = api.post("/api/v1/contacts/", payload, format="json")
        assert created.status_code == 201, created.json()
        contact = Contact.objects.get(pk=created.json()["id"])
        assert (contact.partner, contact.full_name) == (partner_a, "Petra Peters")

        updated = api.patch(f"/api/v1/contacts/{contact.pk}/", {"role": "CTO"}, format="json")
        assert updated.status_code == 200
        contact.refresh_from_db()
        assert contact.role == "CTO"

        assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
        assert not Contact.objects.filter(pk=contact.pk).exists()

    def test_new_primary_contact_demotes_the_old_one(self, api, partner_a, partner_b):
        old = ContactFactory(partner=partner_a, is_primary=True)
        other_partners_primary = ContactFactory(partner=partner_b, is_primary=True)
        payload = {"partner": partner_a.pk, "first_name": "New", "last_name": "Primary", "is_primary": True}
        response = api.post("/api/v1/contacts/", payload, format="json")
        assert response.status_code == 201, response.json()
        old.refresh_from_db()
        other_partners_primary.refresh_from_db()
        assert not old.is_primary
        assert other_partners_primary.is_primary
        assert list(Contact.objects.filter(partner=partner_a, is_primary=True).values_list("last_name", flat=True)) == ["Primary"]

    def test_promoting_an_existing_contact_demotes_the_old_primary(self, api, partner_a):
        old = ContactFactory(partner=partner_a, is_primary=True)
        other = ContactFactory(partner=partner_a)
        response = api.patch(f"/api/v1/contacts/{other.pk}/", {"is_primary": True}, format="json")
        assert response.status_code == 200, response.json()
        old.refresh_from_db()
        other.refresh_from_db()
        assert (old.is_primary, other.is_primary) == (False, True)

    def test_a_contact_cannot_move_to_another_partner(self, api, partner_a, partner_b):
        contact = ContactFactory(partner=partner_a)
        response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"partner": partner_b.pk}, format="json")
        assert response.status_code == 400
        assert "partner" in response.json()
        contact.refresh_from_db()
        assert contact.partner == partner_a

    def test_bad_contact_is_400_and_not_saved(self, api, partner_a):
        response = api.post("/api/v1/contacts/", {"partner": partner_a.pk, "first_name": "", "email": "not-an-email"}, format="json")
        assert response.status_code == 400
        assert {"first_name", "last_name", "email"} <= set(response.json())
        assert not Contact.objects.exists()


# --- managers: interactions ----------------------------------------------------------------------


class TestManagerInteractions:
    def test_create_sets_the_author_from_the_request(self, api, manager_user, partner_a):
        someone_else = ManagerFactory()
        payload = {"partner": partner_a.pk, "kind": "call", "summary": "Quarterly pipeline call", "author": someone_else.pk}
        response = api.post("/api/v1/interactions/", payload, format="json")
        assert response.status_code == 201, response.json()
        interaction = Interaction.objects.get(pk=response.json()["id"])
        assert interaction.author == manager_user
        assert interaction.partner == partner_a
        assert interaction.is_internal is False
        assert response.json()["author"] == str(manager_user)

    def test_create_internal_note(self, api, partner_a):
        payload = {"partner": partner_a.pk, "kind": "note", "summary": "Thinking about churn", "is_internal": True}
        response = api.post("/api/v1/interactions/", payload, format="json")
        assert response.status_code == 201
        assert Interaction.objects.get(pk=response.json()["id"]).is_internal

    def test_bad_interaction_is_400(self, api, partner_a):
        response = api.post("/api/v1/interactions/", {"partner": partner_a.pk, "kind": "gossip", "summary": ""}, format="json")
        assert response.status_code == 400
        assert {"kind", "summary"} <= set(response.json())
        assert not Interaction.objects.exists()

    def test_filter_by_kind_partner_and_date(self, api, partner_a, partner_b):
        now = timezone.now()
        old_call = InteractionFactory(partner=partner_a, kind="call", occurred_at=now - dt.timedelta(days=40))
        new_call = InteractionFactory(partner=partner_a, kind="call", occurred_at=now - dt.timedelta(days=2))
        meeting = InteractionFactory(partner=partner_a, kind="meeting", occurred_at=now - dt.timedelta(days=1))
        b_call = InteractionFactory(partner=partner_b, kind="call", occurred_at=now)

        assert _ids(api.get("/api/v1/interactions/", {"kind": "call"})) == {old_call.pk, new_call.pk, b_call.pk}
        assert _ids(api.get("/api/v1/interactions/?kind=call&kind=meeting")) == {old_call.pk, new_call.pk, meeting.pk, b_call.pk}
        assert _ids(api.get("/api/v1/interactions/", {"partner": partner_a.pk, "kind": "call"})) == {old_call.pk, new_call.pk}
        since = (now - dt.timedelta(days=7)).isoformat()
        assert _ids(api.get("/api/v1/interactions/", {"partner": partner_a.pk, "occurred_after": since})) == {new_call.pk, meeting.pk}
        until = (now - dt.timedelta(days=30)).isoformat()
        assert _ids(api.get("/api/v1/interactions/", {"occurred_before": until})) == {old_call.pk}

    def test_newest_first(self, api, partner_a):
        now = timezone.now()
        older = InteractionFactory(partner=partner_a, occurred_at=now - dt.timedelta(days=3))
        newer = InteractionFactory(partner=partner_a, occurred_at=now)
        assert [row["id"] for row in api.get("/api/v1/interactions/").json()["results"]] == [newer.pk, older.pk]

    def test_bad_date_filter_is_400(self, api):
        response = api.get("/api/v1/interactions/", {"occurred_after": "last tuesday"})
        assert response.status_code == 400
        assert "occurred_after" in response.json()

    def test_interactions_are_append_only(self, api, partner_a):
        interaction = InteractionFactory(partner=partner_a)
        assert api.patch(f"/api/v1/interactions/{interaction.pk}/", {"summary": "x"}, format="json").status_code == 405
        assert api.delete(f"/api/v1/interactions/{interaction.pk}/").status_code == 405
        assert Interaction.objects.filter(pk=interaction.pk, summary=interaction.summary).exists()


# --- managers: tiers and territories -------------------------------------------------------------


class TestTiersAndTerritories:
    @pytest.fixture
    def api(self, superuser):
        """Tiers and territories define the programme: only users holding their model permissions edit them."""
        return token_client(superuser)

    def test_a_channel_manager_cannot_redefine_tiers_or_territories(self, manager_user):
        client = token_client(manager_user)
        assert client.post("/api/v1/tiers/", {"name": "Diamond", "rank": 9}, format="json").status_code == 403
        assert client.post("/api/v1/territories/", {"name": "Mars"}, format="json").status_code == 403
        assert client.get("/api/v1/tiers/").status_code == 200
        assert not Tier.objects.filter(name="Diamond").exists()

    def test_tier_crud(self, api):
        created = api.post("/api/v1/tiers/", {"name": "Platinum", "rank": 4, "colour": "#e5e4e2"}, format="json")
        assert created.status_code == 201, created.json()
        tier_id = created.json()["id"]
        assert api.patch(f"/api/v1/tiers/{tier_id}/", {"benefits": "MDF"}, format="json").status_code == 200
        assert Tier.objects.get(pk=tier_id).benefits == "MDF"
        assert [row["name"] for row in api.get("/api/v1/tiers/").json()["results"]] == ["Platinum"]
        assert api.delete(f"/api/v1/tiers/{tier_id}/").status_code == 204
        assert not Tier.objects.exists()

    def test_tier_validation(self, api):
        TierFactory(rank=1, name="Entry")
        response = api.post("/api/v1/tiers/", {"name": "Entry", "rank": 1, "colour": "red"}, format="json")
        assert response.status_code == 400
        assert {"name", "rank", "colour"} <= set(response.json())

    def test_a_tier_in_use_cannot_be_deleted(self, api, partner_a):
        tier = TierFactory()
        partner_a.tier = tier
        partner_a.save()
        response = api.delete(f"/api/v1/tiers/{tier.pk}/")
        assert response.status_code == 409
        assert "detail" in response.json()
        assert Tier.objects.filter(pk=tier.pk).exists()

    def test_territory_crud(self, api):
        emea = api.post("/api/v1/territories/", {"name": "EMEA", "countries": ["NL", "DE"]}, format="json")
        assert emea.status_code == 201, emea.json()
        benelux = api.post("/api/v1/territories/", {"name": "Benelux", "parent": emea.json()["id"], "countries": ["BE"]}, format="json")
        assert benelux.status_code == 201, benelux.json()
        assert Territory.objects.get(pk=benelux.json()["id"]).parent_id == emea.json()["id"]
        children = api.get("/api/v1/territories/", {"parent": emea.json()["id"]})
        assert [row["name"] for row in children.json()["results"]] == ["Benelux"]
        assert api.patch(f"/api/v1/territories/{benelux.json()['id']}/", {"name": "BeNeLux"}, format="json").status_code == 200
        assert api.delete(f"/api/v1/territories/{benelux.json()['id']}/").status_code == 204
        assert list(Territory.objects.values_list("name", flat=True)) == ["EMEA"]

    def test_a_territory_cannot_be_inside_itself(self, api):
        parent = TerritoryFactory(name="EMEA")
        child = TerritoryFactory(name="Benelux", parent=parent)
        response = api.patch(f"/api/v1/territories/{parent.pk}/", {"parent": child.pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.json()
        parent.refresh_from_db()
        assert parent.parent is None

    def test_a_territory_in_use_cannot_be_deleted(self, api, partner_a):
        territory = TerritoryFactory()
        partner_a.territory = territory
        partner_a.save()
        assert api.delete(f"/api/v1/territories/{territory.pk}/").status_code == 409
        assert Territory.objects.filter(pk=territory.pk).exists()


# --- partner users -------------------------------------------------------------------------------


@pytest.fixture
def world(partner_a, partner_b):
    """Both partners with contacts and a timeline; A also has an internal note it must never see."""
    return {
        "contact_a": ContactFactory(partner=partner_a, last_name="Aalders"),
        "contact_b": ContactFactory(partner=partner_b, last_name="Bauer"),
        "call_a": InteractionFactory(partner=partner_a, summary="Call with Alpha"),
        "internal_a": InteractionFactory(partner=partner_a, kind="note", summary="Alpha may churn", is_internal=True),
        "call_b": InteractionFactory(partner=partner_b, summary="Call with Beta"),
    }


class TestPartnerUserToken:
    def test_partner_list_is_exactly_its_own_partner(self, api_a, partner_a, partner_b):
        response = api_a.get("/api/v1/partners/")
        assert response.status_code == 200
        assert response.json()["count"] == 1
        assert [row["id"] for row in response.json()["results"]] == [partner_a.pk]

    def test_own_partner_detail(self, api_a, partner_a):
        response = api_a.get(f"/api/v1/partners/{partner_a.pk}/")
        assert response.status_code == 200
        assert response.json()["name"] == "Alpha Resellers B.V."

    def test_other_partner_detail_is_404_like_a_missing_one(self, api_a, partner_b):
        other = api_a.get(f"/api/v1/partners/{partner_b.pk}/")
        missing = api_a.get("/api/v1/partners/999999/")
        assert other.status_code == missing.status_code == 404
        assert other.json() == missing.json()

    def test_filters_cannot_widen_the_scope(self, api_a, partner_a, partner_b):
        for params in ({"country": "DE"}, {"search": "Beta"}, {"status": "active"}, {"page_size": 500}):
            assert _ids(api_a.get("/api/v1/partners/", params)) <= {partner_a.pk}
        assert _ids(api_a.get("/api/v1/partners/", {"status": "active"})) == {partner_a.pk}

    def test_contacts_are_only_its_own(self, api_a, world):
        response = api_a.get("/api/v1/contacts/")
        assert response.status_code == 200
        assert _ids(response) == {world["contact_a"].pk}

    def test_other_partners_contact_is_404(self, api_a, world):
        assert api_a.get(f"/api/v1/contacts/{world['contact_a'].pk}/").status_code == 200
        assert api_a.get(f"/api/v1/contacts/{world['contact_b'].pk}/").status_code == 404

    def test_filtering_contacts_by_another_partner_does_not_leak(self, api_a, partner_b, world):
        response = api_a.get("/api/v1/contacts/", {"partner": partner_b.pk})
        assert response.status_code == 400 or response.json()["count"] == 0
        assert "Bauer" not in response.content.decode()

    def test_filtering_interactions_by_another_partner_does_not_leak(self, api_a, partner_b, world):
        response = api_a.get("/api/v1/interactions/", {"partner": partner_b.pk})
        assert response.status_code == 400 or response.json()["count"] == 0
        assert "Call with Beta" not in response.content.decode()

    def test_interactions_are_its_own_and_never_internal(self, api_a, world):
        response = api_a.get("/api/v1/interactions/")
        assert response.status_code == 200
        assert _ids(response) == {world["call_a"].pk}
        assert "Alpha may churn" not in response.content.decode()

    def test_internal_interaction_detail_is_404(self, api_a, world):
        assert api_a.get(f"/api/v1/interactions/{world['call_a'].pk}/").status_code == 200
        assert api_a.get(f"/api/v1/interactions/{world['internal_a'].pk}/").status_code == 404
        assert api_a.get(f"/api/v1/interactions/{world['call_b'].pk}/").status_code == 404

    def test_filtering_for_internal_kinds_does_not_reveal_them(self, api_a, world):
        assert _ids(api_a.get("/api/v1/interactions/", {"kind": "note"})) == set()

    def test_can_read_tiers_and_territories(self, api_a):
        TierFactory(name="Gold")
        TerritoryFactory(name="DACH")
        assert [row["name"] for row in api_a.get("/api/v1/tiers/").json()["results"]] == ["Gold"]
        assert [row["name"] for row in api_a.get("/api/v1/territories/").json()["results"]] == ["DACH"]

    @pytest.mark.parametrize("client_fixture", ["api_a", "api_admin_a"])
    def test_every_write_is_403(self, request, client_fixture, partner_a, world):
        client = request.getfixturevalue(client_fixture)
        tier = TierFactory()
        territory = TerritoryFactory()
        contact = world["contact_a"]
        writes = [
            ("post", "/api/v1/partners/", _partner_payload()),
            ("put", f"/api/v1/partners/{partner_a.pk}/", _partner_payload()),
            ("patch", f"/api/v1/partners/{partner_a.pk}/", {"status": "churned"}),
            ("delete", f"/api/v1/partners/{partner_a.pk}/", None),
            ("post", "/api/v1/contacts/", {"partner": partner_a.pk, "first_name": "X", "last_name": "Y"}),
            ("put", f"/api/v1/contacts/{contact.pk}/", {"partner": partner_a.pk, "first_name": "X", "last_name": "Y"}),
            ("patch", f"/api/v1/contacts/{contact.pk}/", {"first_name": "Hacked"}),
            ("delete", f"/api/v1/contacts/{contact.pk}/", None),
            ("post", "/api/v1/interactions/", {"partner": partner_a.pk, "kind": "note", "summary": "x"}),
            ("patch", f"/api/v1/interactions/{world['call_a'].pk}/", {"summary": "x"}),
            ("delete", f"/api/v1/interactions/{world['call_a'].pk}/", None),
            ("post", "/api/v1/tiers/", {"name": "Mine", "rank": 99}),
            ("patch", f"/api/v1/tiers/{tier.pk}/", {"name": "Mine"}),
            ("delete", f"/api/v1/tiers/{tier.pk}/", None),
            ("post", "/api/v1/territories/", {"name": "Mine"}),
            ("put", f"/api/v1/territories/{territory.pk}/", {"name": "Mine"}),
            ("delete", f"/api/v1/territories/{territory.pk}/", None),
        ]
        for method, url, payload in writes:
            response = getattr(client, method)(url, payload, format="json")
            # 405 where the resource offers no such method to anybody (deleting partners, editing interactions)
            assert response.status_code in (403, 405), (method, url, response.status_code)
        # and nothing changed
        partner_a.refresh_from_db()
        contact.refresh_from_db()
        assert partner_a.status == PartnerStatus.ACTIVE
        assert contact.first_name != "Hacked"
        assert Contact.objects.count() == 2
        assert Tier.objects.get(pk=tier.pk).name != "Mine"
        assert Territory.objects.filter(pk=territory.pk).exists()
        assert not Partner.objects.filter(name="Zeta Systems").exists()

    def test_session_login_is_scoped_the_same_way(self, client, admin_a, partner_a, partner_b, world):
        client.force_login(admin_a)
        assert _ids(client.get("/api/v1/partners/")) == {partner_a.pk}
        assert client.get(f"/api/v1/contacts/{world['contact_b'].pk}/").status_code == 404

    def test_a_deactivated_users_token_stops_working(self, user_a, partner_a):
        client = token_client(user_a)
        user_a.is_active = False
        user_a.save()
        assert client.get("/api/v1/partners/").status_code in (401, 403)

    def test_a_token_without_membership_sees_nothing(self, partner_a, world):
        client = token_client(UserFactory())
        assert client.get("/api/v1/partners/").json()["count"] == 0
        assert client.get("/api/v1/contacts/").json()["count"] == 0
        assert client.get(f"/api/v1/partners/{partner_a.pk}/").status_code == 404


class TestAnonymous:
    @pytest.mark.parametrize("path", ["partners/", "contacts/", "interactions/", "tiers/", "territories/"])
    def test_anonymous_is_refused(self, path, partner_a):
        response = APIClient().get(f"/api/v1/{path}")
        assert response.status_code in (401, 403)
        assert "Alpha" not in response.content.decode()

    def test_a_bad_token_is_refused(self, partner_a):
        response = APIClient(HTTP_AUTHORIZATION="Token not-a-real-token").get("/api/v1/partners/")
        # 403, not 401: session auth is listed first, so DRF sends no WWW-Authenticate challenge
        assert response.status_code in (401, 403)
        assert response.json() == {"detail": "Invalid token."}


# --- schema and docs -----------------------------------------------------------------------------


class TestSchemaAndDocs:
    @pytest.fixture(autouse=True)
    def _signed_in(self, signed_in_client):
        """The schema and Swagger UI answer signed-in users only (tested in tests/security)."""

    def test_schema_lists_the_five_resources(self, client):
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert schema["info"]["title"] == "PartnerLoop API"
        for resource in ("partners", "contacts", "interactions", "tiers", "territories"):
            assert f"/api/v1/{resource}/" in schema["paths"]
            assert f"/api/v1/{resource}/{{id}}/" in schema["paths"]
        assert "tokenAuth" in schema["components"]["securitySchemes"]

    def test_schema_documents_the_partner_filters(self, client):
        params = {
            p["name"] for p in client.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/v1/partners/"]["get"]["parameters"]
        }
        assert {"status", "partner_type", "tier", "country", "search", "ordering", "page", "page_size"} <= params

    def test_swagger_ui_is_served_without_a_cdn(self, client):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert "swagger-ui" in html
        assert "/static/drf_spectacular_sidecar/" in html
        # No asset from another host (a bare "cdn" substring test would also hit a random CSRF token).
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "an asset is loaded from another host"
        for cdn in ("cdn.jsdelivr", "jsdelivr.net", "unpkg.com", "cdnjs"):
            assert cdn not in html.lower()
