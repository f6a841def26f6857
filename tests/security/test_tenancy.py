"""Cross-tenant tests: partner B's users get 404 for every one of partner A's objects.

Each route is tried twice: by B (must answer 404, exactly like a missing object, and change
nothing) and by A (must succeed), so a route that 404s for everybody cannot pass.

The tables below are what `test_route_coverage.py` checks the URL configuration and the API
schema against: a new portal route or API path needs an entry here (or an explicit reason there).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import Contact, Customer, ImportJob, Interaction, Membership, MembershipRole, Partner, Sale, SalesMonth
from tests.factories import ContactFactory, InteractionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSING_PK = 2_147_483_000

# Portal routes that take an object id: route name -> (kind of object, HTTP methods that act on it).
PORTAL_OBJECT_ROUTES = {
    "portal:contact_edit": ("contact", ["get", "post"]),
    "portal:contact_delete": ("contact", ["get", "post"]),
    "portal:team_set_active": ("membership", ["post"]),
    "portal:team_resend_invitation": ("invited", ["post"]),
}

# Portal pages without an object id: each shows the signed-in user's own partner only.
PORTAL_LIST_PAGES = {
    "portal:home": "/portal/",
    "portal:activity": "/portal/activity/",
    "portal:contacts": "/portal/contacts/",
    "portal:team": "/portal/team/",
}

# API detail routes of partner-owned objects: schema path -> kind of object.
# Customers are not owned by a partner, but a partner user sees only those that bought through it.
API_DETAIL_ROUTES = {
    "/api/v1/partners/{id}/": "partner",
    "/api/v1/contacts/{id}/": "contact",
    "/api/v1/interactions/{id}/": "interaction",
    "/api/v1/sales/{id}/": "sale",
    "/api/v1/sales-months/{id}/": "sales_month",
    "/api/v1/customers/{id}/": "customer",
}

# API list routes of partner-owned objects: schema path -> kind of object listed.
API_LIST_ROUTES = {
    "/api/v1/partners/": "partner",
    "/api/v1/contacts/": "contact",
    "/api/v1/interactions/": "interaction",
    "/api/v1/sales/": "sale",
    "/api/v1/sales-months/": "sales_month",
    "/api/v1/customers/": "customer",
}


def _rows_over_as_sales(objects):
    """Rows that would overwrite the owner's sale (same source and external ID) and add one more."""
    partner = objects["partner"].external_id
    return {
        "rows": [
            {"external_id": objects["sale"].external_id, "partner_external_id": partner, "invoice_date": "2024-01-31", "amount": "0.01"},
            {"external_id": "TAKEOVER-2", "partner_external_id": partner, "invoice_date": "2024-01-31", "amount": "0.01"},
        ]
    }


# API operations that write across partners and are refused to partner users as a whole (403, before
# reading the body): schema path -> (HTTP method, body built from the owner's objects).
API_MANAGER_ONLY_ROUTES = {
    "/api/v1/sales/bulk/": ("post", _rows_over_as_sales),
}

# Secret markers: B must never see a page or a response containing one of these.
A_SECRETS = ["Alpha Resellers", "Anneke Alpha-Contact", "Alpha pipeline call", "alpha-colleague@alpha.test", "Alpha End Customer"]


def _sale(partner, external_id, customer):
    return Sale.objects.create(
        partner=partner, customer=customer, external_id=external_id, invoice_date=dt.date(2024, 1, 15), amount=Decimal("1234.5678")
    )


@pytest.fixture
def objects_a(partner_a, admin_a):
    """Partner A's objects, one of each kind, plus A's internal note; A's customer bought only through A."""
    customer = Customer.objects.create(external_id="CUST-ALPHA", name="Alpha End Customer")
    return {
        "partner": partner_a,
        "customer": customer,
        "sale": _sale(partner_a, "ALPHA-INV-1", customer),
        "sales_month": SalesMonth.objects.create(partner=partner_a, month=dt.date(2024, 1, 1), revenue=Decimal("1234.5678")),
        "contact": ContactFactory(partner=partner_a, first_name="Anneke", last_name="Alpha-Contact"),
        "membership": MembershipFactory(
            partner=partner_a, role=MembershipRole.USER, user__username="alpha-colleague@alpha.test", user__first_name="Colin"
        ),
        "invited": MembershipFactory(partner=partner_a, user__username="alpha-invitee@alpha.test", user__password=None),
        "interaction": InteractionFactory(partner=partner_a, summary="Alpha pipeline call"),
        "internal": InteractionFactory(partner=partner_a, summary="Alpha churn risk", kind="note", is_internal=True),
    }


@pytest.fixture
def objects_b(partner_b, admin_b):
    customer = Customer.objects.create(external_id="CUST-BETA", name="Beta End Customer")
    return {
        "partner": partner_b,
        "customer": customer,
        "sale": _sale(partner_b, "BETA-INV-1", customer),
        "sales_month": SalesMonth.objects.create(partner=partner_b, month=dt.date(2024, 1, 1), revenue=Decimal("99")),
        "contact": ContactFactory(partner=partner_b, first_name="Berta", last_name="Beta-Contact"),
        "interaction": InteractionFactory(partner=partner_b, summary="Beta pipeline call"),
    }


def _browser(user):
    client = Client()
    client.force_login(user)
    return client


def _api(user, auth):
    if auth == "token":
        token, _ = Token.objects.get_or_create(user=user)
        return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    client = APIClient()
    client.force_login(user)
    return client


def _post_data(kind):
    if kind == "contact":
        return {"first_name": "Taken", "last_name": "Over", "email": "taken@over.test"}
    return {"active": "0"}


def _snapshot(objects):
    """What A's objects look like, to prove a refused request changed nothing."""
    contact = Contact.objects.get(pk=objects["contact"].pk)
    membership = Membership.objects.select_related("user").get(pk=objects["membership"].pk)
    sale = Sale.objects.get(pk=objects["sale"].pk)
    return (
        (contact.first_name, contact.last_name, contact.email, membership.user.is_active, Contact.objects.count()),
        (sale.partner_id, sale.amount, Sale.objects.count(), Customer.objects.get(pk=objects["customer"].pk).name),
        list(SalesMonth.objects.values_list("partner_id", "month", "revenue")),
    )


# --- portal: object routes -----------------------------------------------------------------------


@pytest.mark.parametrize("route", PORTAL_OBJECT_ROUTES, ids=str)
def test_portal_object_routes_are_404_for_another_partner(route, objects_a, objects_b, admin_b):
    kind, methods = PORTAL_OBJECT_ROUTES[route]
    client = _browser(admin_b)  # B's partner *admin*: the role that may use these routes at all
    before = _snapshot(objects_a)
    for method in methods:
        data = _post_data(kind) if method == "post" else None
        foreign = getattr(client, method)(reverse(route, args=[objects_a[kind].pk]), data)
        missing = getattr(client, method)(reverse(route, args=[MISSING_PK]), data)
        assert foreign.status_code == 404, (route, method, foreign.status_code)
        assert missing.status_code == 404
        for secret in A_SECRETS:
            assert secret not in foreign.content.decode()
    assert _snapshot(objects_a) == before


@pytest.mark.parametrize("route", PORTAL_OBJECT_ROUTES, ids=str)
def test_portal_object_routes_work_for_the_owning_partner(route, objects_a, admin_a, django_capture_on_commit_callbacks, mailoutbox):
    kind, methods = PORTAL_OBJECT_ROUTES[route]
    client = _browser(admin_a)
    obj = objects_a[kind]
    url = reverse(route, args=[obj.pk])
    if "get" in methods:
        response = client.get(url)
        assert response.status_code == 200
        assert "Anneke" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, _post_data(kind))
    assert response.status_code == 302, route
    if route == "portal:contact_edit":
        assert Contact.objects.get(pk=obj.pk).last_name == "Over"
    elif route == "portal:contact_delete":
        assert not Contact.objects.filter(pk=obj.pk).exists()
    elif route == "portal:team_set_active":
        assert not Membership.objects.select_related("user").get(pk=obj.pk).user.is_active
    elif route == "portal:team_resend_invitation":
        assert [message.to for message in mailoutbox] == [["alpha-invitee@alpha.test"]]
    else:  # pragma: no cover - a new route needs its effect checked here
        pytest.fail(f"Add the expected effect of {route} to this test.")


def test_a_plain_user_of_another_partner_is_refused_before_any_lookup(objects_a, partner_b):
    """A non-admin of B gets 403 for A's objects and for missing ones alike: nothing to tell apart."""
    client = _browser(MembershipFactory(partner=partner_b, role=MembershipRole.USER).user)
    for route, (kind, methods) in PORTAL_OBJECT_ROUTES.items():
        for method in methods:
            data = _post_data(kind) if method == "post" else None
            foreign = getattr(client, method)(reverse(route, args=[objects_a[kind].pk]), data)
            missing = getattr(client, method)(reverse(route, args=[MISSING_PK]), data)
            assert foreign.status_code == missing.status_code == 403


# --- portal: pages without an object id ----------------------------------------------------------


@pytest.mark.parametrize("route", PORTAL_LIST_PAGES, ids=str)
def test_portal_pages_show_another_partner_nothing_of_a(route, objects_a, objects_b, admin_b):
    response = _browser(admin_b).get(PORTAL_LIST_PAGES[route])
    assert response.status_code == 200
    html = response.content.decode()
    for secret in [*A_SECRETS, "Alpha churn risk"]:
        assert secret not in html, (route, secret)
    assert "Beta Distribution GmbH" in html  # B's own company in the navigation: the page did render for B


@pytest.mark.parametrize("route", PORTAL_LIST_PAGES, ids=str)
def test_portal_pages_show_a_its_own_data(route, objects_a, objects_b, admin_a):
    html = _browser(admin_a).get(PORTAL_LIST_PAGES[route]).content.decode()
    assert "Alpha Resellers B.V." in html
    expected = {
        "portal:home": "Alpha pipeline call",
        "portal:activity": "Alpha pipeline call",
        "portal:contacts": "Anneke Alpha-Contact",
        "portal:team": "alpha-colleague@alpha.test",
    }[route]
    assert expected in html
    assert "Alpha churn risk" not in html  # internal, even for its own partner
    assert "Beta" not in html.replace("Beta Distribution", "")  # nothing of B either


# --- API: detail routes --------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("path", API_DETAIL_ROUTES, ids=str)
def test_api_detail_routes_are_404_for_another_partner(path, auth, objects_a, objects_b, admin_b):
    client = _api(admin_b, auth)
    obj = objects_a[API_DETAIL_ROUTES[path]]
    foreign = client.get(path.format(id=obj.pk))
    missing = client.get(path.format(id=MISSING_PK))
    assert foreign.status_code == 404
    assert foreign.json() == missing.json()
    # B's own object of the same kind is there: the route works, only A's is hidden
    assert client.get(path.format(id=objects_b[API_DETAIL_ROUTES[path]].pk)).status_code == 200


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("path", API_DETAIL_ROUTES, ids=str)
def test_api_detail_routes_work_for_the_owning_partner(path, auth, objects_a, admin_a):
    obj = objects_a[API_DETAIL_ROUTES[path]]
    response = _api(admin_a, auth).get(path.format(id=obj.pk))
    assert response.status_code == 200
    assert response.json()["id"] == obj.pk


@pytest.mark.parametrize("auth", ["token", "session"])
def test_internal_interactions_are_404_even_for_the_owning_partner(auth, objects_a, admin_a):
    assert _api(admin_a, auth).get(f"/api/v1/interactions/{objects_a['internal'].pk}/").status_code == 404


@pytest.mark.parametrize("path", API_DETAIL_ROUTES, ids=str)
def test_api_writes_to_another_partners_objects_change_nothing(path, objects_a, admin_b):
    client = _api(admin_b, "token")
    url = path.format(id=objects_a[API_DETAIL_ROUTES[path]].pk)
    before = _snapshot(objects_a)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(url, {"name": "Taken", "first_name": "Taken"}, format="json").status_code in (403, 404, 405)
    assert _snapshot(objects_a) == before
    assert Partner.objects.get(pk=objects_a["partner"].pk).name == "Alpha Resellers B.V."


# --- API: list routes ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", API_LIST_ROUTES, ids=str)
def test_api_lists_contain_only_the_partners_own_rows(path, objects_a, objects_b, admin_a, admin_b):
    kind = API_LIST_ROUTES[path]
    for user, objects, other in ((admin_a, objects_a, objects_b), (admin_b, objects_b, objects_a)):
        response = _api(user, "token").get(path, {"page_size": 500})
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert objects[kind].pk in ids
        assert other[kind].pk not in ids
    internal_id = objects_a["internal"].pk
    assert internal_id not in {row["id"] for row in _api(admin_a, "token").get("/api/v1/interactions/").json()["results"]}
    assert Interaction.objects.filter(pk=internal_id).exists()


@pytest.mark.parametrize("path", API_DETAIL_ROUTES, ids=str)
def test_api_format_suffix_routes_are_scoped_too(path, objects_a, admin_b, admin_a):
    """The router also serves `/api/v1/contacts/<id>.json`: the same 404 applies there."""
    url = path.format(id=objects_a[API_DETAIL_ROUTES[path]].pk).rstrip("/") + ".json"
    assert _api(admin_b, "token").get(url).status_code == 404
    assert _api(admin_a, "token").get(url).status_code == 200


# --- API: operations refused to partner users ----------------------------------------------------


def _importing_manager():
    manager = UserFactory(is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="partners", codename__in=["view_partner", "add_importjob"])
    )
    return manager


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("persona", ["admin_a", "user_a", "admin_b"])
@pytest.mark.parametrize("path", API_MANAGER_ONLY_ROUTES, ids=str)
def test_api_manager_only_routes_refuse_partner_users(request, path, persona, auth, objects_a, objects_b):
    """Neither another partner nor the owner's own users may call them: 403, and nothing changes."""
    method, body = API_MANAGER_ONLY_ROUTES[path]
    before = (_snapshot(objects_a), ImportJob.objects.count())
    response = getattr(_api(request.getfixturevalue(persona), auth), method)(path, body(objects_a), format="json")
    assert response.status_code == 403, (path, persona, response.status_code)
    for secret in A_SECRETS:
        assert secret not in response.content.decode()
    assert (_snapshot(objects_a), ImportJob.objects.count()) == before


@pytest.mark.parametrize("path", API_MANAGER_ONLY_ROUTES, ids=str)
def test_api_manager_only_routes_work_for_an_importing_manager(path, objects_a):
    """The other side: the same request does act for a channel manager (so the 403 above means something)."""
    method, body = API_MANAGER_ONLY_ROUTES[path]
    response = getattr(_api(_importing_manager(), "token"), method)(path, body(objects_a), format="json")
    assert response.status_code == 200, response.json()
    assert Sale.objects.get(pk=objects_a["sale"].pk).amount == Decimal("0.01")
    assert Sale.objects.filter(external_id="TAKEOVER-2", partner=objects_a["partner"]).exists()
