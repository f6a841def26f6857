"""Every route a partner user can reach is accounted for by a scope test.

This module walks the URL configuration (recursively, with namespaces) and the OpenAPI schema,
and compares them with explicit mappings below. A new route without an entry fails with a
message that says what to add. The mappings point either at a table in `test_tenancy.py` (which
then runs the cross-tenant 404 test for the route) or at a written reason why the route needs
no object scope.

It also checks that the manager UI (`partners:` namespace) refuses partner users outright.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.settings import spectacular_settings

from incentives.models import Program, Reward
from partners.models import Contact, Interaction, Membership, Partner, PartnerStatusChange
from sales.models import Customer, ImportJob, Product, Sale, SalesMonth
from surveys.models import Survey, Wave
from tests.partners.factories import ApplicationFactory, ContactFactory, InteractionFactory, MembershipFactory
from tests.security import test_tenancy

pytestmark = pytest.mark.django_db


class NoObjectScope(str):
    """A route that needs no cross-tenant 404 test, and the reason why."""


TENANCY_TABLES = {
    "PORTAL_OBJECT_ROUTES": test_tenancy.PORTAL_OBJECT_ROUTES,
    "PORTAL_LIST_PAGES": test_tenancy.PORTAL_LIST_PAGES,
    "API_DETAIL_ROUTES": test_tenancy.API_DETAIL_ROUTES,
    "API_LIST_ROUTES": test_tenancy.API_LIST_ROUTES,
    "API_MANAGER_ONLY_ROUTES": test_tenancy.API_MANAGER_ONLY_ROUTES,
    "API_SUBMIT_ROUTES": test_tenancy.API_SUBMIT_ROUTES,
}

PORTAL_COVERAGE = {
    "portal:home": "PORTAL_LIST_PAGES",
    "portal:activity": "PORTAL_LIST_PAGES",
    "portal:contacts": "PORTAL_LIST_PAGES",
    "portal:contact_create": NoObjectScope(
        "Takes no object id; creates a contact for request.partner and ignores a partner in the payload "
        "(tests/portal/test_views.py::TestContacts::test_the_partner_comes_from_the_user_not_the_payload)."
    ),
    "portal:contact_edit": "PORTAL_OBJECT_ROUTES",
    "portal:contact_delete": "PORTAL_OBJECT_ROUTES",
    "portal:team": "PORTAL_LIST_PAGES",
    "portal:team_invite": NoObjectScope(
        "Takes no object id; always invites into request.partner (tests/portal/test_views.py::TestTeam::test_admin_invites_a_colleague)."
    ),
    "portal:team_set_active": "PORTAL_OBJECT_ROUTES",
    "portal:team_resend_invitation": "PORTAL_OBJECT_ROUTES",
    "portal:surveys": "PORTAL_LIST_PAGES",
    "portal:survey_answer": "PORTAL_OBJECT_ROUTES",
    "portal:ideas": "PORTAL_LIST_PAGES",
    "portal:idea_detail": "PORTAL_OBJECT_ROUTES",
    "portal:incentives": "PORTAL_LIST_PAGES",
    "portal:incentive_earnings": "PORTAL_LIST_PAGES",
    "portal:incentive_payout": "PORTAL_OBJECT_ROUTES",
    "portal:incentive_points": "PORTAL_LIST_PAGES",
    "portal:incentive_rewards": "PORTAL_LIST_PAGES",
    "portal:incentive_redeem": "PORTAL_OBJECT_ROUTES",
    "portal:incentive_redemptions": "PORTAL_LIST_PAGES",
    "portal:incentive_redemption": "PORTAL_OBJECT_ROUTES",
    "portal:scorecard": "PORTAL_LIST_PAGES",
}

_REFERENCE_DATA = NoObjectScope(
    "Programme-wide reference data (not owned by a partner): every signed-in user may read it, only "
    "channel managers may write it (tests/partners/test_api.py::TestPartnerUserToken::test_every_write_is_403)."
)

_CATALOGUE = NoObjectScope(
    "The product catalogue (not owned by a partner): every signed-in user may read it; read-only in the API, written by "
    "imports (tests/partners/test_sales_api.py::TestReadingAsPartnerUser::test_products_are_the_whole_catalogue, "
    "TestReadingAsManager::test_writes_are_not_offered)."
)

API_COVERAGE = {
    "/api/v1/partners/": "API_LIST_ROUTES",
    "/api/v1/partners/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/contacts/": "API_LIST_ROUTES",
    "/api/v1/contacts/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/interactions/": "API_LIST_ROUTES",
    "/api/v1/interactions/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/tiers/": _REFERENCE_DATA,
    "/api/v1/tiers/{id}/": _REFERENCE_DATA,
    "/api/v1/territories/": _REFERENCE_DATA,
    "/api/v1/territories/{id}/": _REFERENCE_DATA,
    "/api/v1/sales/": "API_LIST_ROUTES",
    "/api/v1/sales/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/sales-months/": "API_LIST_ROUTES",
    "/api/v1/sales-months/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/customers/": "API_LIST_ROUTES",
    "/api/v1/customers/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/products/": _CATALOGUE,
    "/api/v1/products/{id}/": _CATALOGUE,
    "/api/v1/sales/bulk/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/surveys/": "API_LIST_ROUTES",
    "/api/v1/surveys/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/waves/": "API_LIST_ROUTES",
    "/api/v1/waves/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/ideas/": "API_LIST_ROUTES",
    "/api/v1/ideas/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/ideas/{id}/set-status/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/ideas/{id}/reply/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/ideas/{id}/merge/": "API_MANAGER_ONLY_ROUTES",
    # GET lists answers (channel managers only); POST answers one of the user's own invitations.
    "/api/v1/responses/": ("API_MANAGER_ONLY_ROUTES", "API_SUBMIT_ROUTES"),
    "/api/v1/responses/{id}/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/programs/": "API_LIST_ROUTES",
    "/api/v1/programs/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/earnings/": "API_LIST_ROUTES",
    "/api/v1/earnings/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/payouts/": "API_LIST_ROUTES",
    "/api/v1/payouts/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/payouts/{id}/approve/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/payouts/{id}/mark-paid/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/payouts/{id}/reject/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/rewards/": "API_LIST_ROUTES",
    "/api/v1/rewards/{id}/": "API_DETAIL_ROUTES",
    # GET lists the partner's own redemptions; POST redeems a reward named in the body.
    "/api/v1/redemptions/": ("API_LIST_ROUTES", "API_SUBMIT_ROUTES"),
    "/api/v1/redemptions/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/redemptions/{id}/approve/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/redemptions/{id}/reject/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/redemptions/{id}/fulfil/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/scores/": "API_LIST_ROUTES",
    "/api/v1/scores/{id}/": "API_DETAIL_ROUTES",
    "/api/v1/score-alerts/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/score-alerts/{id}/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/score-alerts/{id}/acknowledge/": "API_MANAGER_ONLY_ROUTES",
    "/api/v1/kpis/overview/": "API_MANAGER_ONLY_ROUTES",
}

# Not owned by one partner, but a partner user sees only part of them (customers: those that bought
# through its partner), so their routes need the cross-tenant 404 test as much as partner-owned ones.
# Surveys and waves likewise: a partner user sees only those it was invited to; incentive programs only
# those it is eligible for, rewards only those of its tier.
PARTNER_FILTERED_MODELS = {Customer, Survey, Wave, Program, Reward}

# Routes under /api/v1/ that the schema does not list, with the reason they hold no tenant data.
API_OUTSIDE_SCHEMA = {
    "api-root": NoObjectScope("The DRF router index: a list of links to the endpoints, no data."),
}

# The other URL namespaces and top-level routes, so a new app or page is noticed here too.
OTHER_NAMESPACES = {
    "partners": NoObjectScope("Manager UI: refused to partner users as a whole (test_manager_ui_refuses_partner_users below)."),
    "sales": NoObjectScope("Manager UI of the imports: refused to partner users as a whole (test_manager_ui_refuses_partner_users below)."),
    "admin": NoObjectScope("Django admin: staff only, enforced by the admin site itself."),
    "surveys": NoObjectScope(
        "Manager UI of the feedback loop: refused to partner users as a whole "
        "(tests/surveys/test_manager_views.py::test_partner_users_get_403_everywhere)."
    ),
    "incentives": NoObjectScope(
        "Manager UI of incentives: refused to partner users as a whole "
        "(tests/incentives/test_manager_views.py::test_partner_users_get_403_everywhere)."
    ),
    "kpis": NoObjectScope(
        "Manager KPI dashboards and scorecards: refused to partner users as a whole "
        "(tests/kpis/test_views.py::test_partner_users_get_403_everywhere)."
    ),
}
OTHER_ROUTES = {
    "home": NoObjectScope("Redirects each kind of user to its own start page; shows no data."),
    "healthz": NoObjectScope("Liveness probe; no database, no session."),
    "apply": NoObjectScope("Public application form; writes an application, reads nothing."),
    "apply_thanks": NoObjectScope("Static thank-you page."),
    "login": NoObjectScope("Django auth."),
    "logout": NoObjectScope("Django auth."),
    "password_change": NoObjectScope("Django auth: the signed-in user's own password."),
    "password_change_done": NoObjectScope("Django auth."),
    "password_reset": NoObjectScope("Django auth."),
    "password_reset_done": NoObjectScope("Django auth."),
    "password_reset_confirm": NoObjectScope("Django auth: the signed token names the user."),
    "password_reset_complete": NoObjectScope("Django auth."),
    "api_token": NoObjectScope("The signed-in user's own API token only (Token.objects.filter(user=request.user))."),
    "set_language": NoObjectScope("Sets the language cookie."),
    "api_schema": NoObjectScope("The OpenAPI document, built from metadata only (no rows)."),
    "api_docs": NoObjectScope("Swagger UI page; loads the schema."),
}

ADD_A_SCOPE_TEST = (
    "Every route a partner user can reach needs a scope test. Add a cross-tenant test for it to "
    "tests/security/test_tenancy.py (PORTAL_OBJECT_ROUTES, PORTAL_LIST_PAGES, API_DETAIL_ROUTES or "
    "API_LIST_ROUTES: partner B must get 404 for partner A's object, A must succeed), then map it in "
    "tests/security/test_route_coverage.py; or, if it holds no partner data, map it to NoObjectScope('why')."
)


def walk(resolver=None, namespace=None, prefix=""):
    """Yield (qualified name, route string, URL keyword names, callback) for every route, recursively."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace
            qualified = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            yield from walk(entry, qualified, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield name, prefix + str(entry.pattern), list(entry.pattern.regex.groupindex), entry.callback


ROUTES = list(walk())


def _namespace(name):
    return name.split(":", 1)[0] if name and ":" in name else None


def _schema_paths():
    """The schema as /api/schema/ builds it (that view answers signed-in users only)."""
    schema = spectacular_settings.DEFAULT_GENERATOR_CLASS().get_schema(request=None, public=True)
    return {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/")}


def _check_mapping(found, mapping, what):
    missing = sorted(set(found) - set(mapping))
    assert not missing, f"{what} without an entry in the coverage mapping: {missing}. {ADD_A_SCOPE_TEST}"
    stale = sorted(set(mapping) - set(found))
    assert not stale, f"Coverage mapping lists {what} that no longer exist: {stale}; remove them."
    for key, coverage in mapping.items():
        if isinstance(coverage, NoObjectScope):
            assert coverage.strip(), f"{key}: give the reason it needs no scope test."
            continue
        for table in _tables(coverage):
            assert table in TENANCY_TABLES, f"{key}: unknown test_tenancy table {table!r}."
            assert key in TENANCY_TABLES[table], f"{key} is mapped to test_tenancy.{table} but is not in that table. {ADD_A_SCOPE_TEST}"


def _tables(coverage):
    """A path's coverage names one test_tenancy table, or several when its methods differ (GET vs POST)."""
    return (coverage,) if isinstance(coverage, str) else tuple(coverage)


# --- the walker itself ---------------------------------------------------------------------------


def test_the_walker_finds_nested_and_namespaced_routes():
    names = {name for name, *_ in ROUTES}
    assert {"portal:home", "portal:team_set_active", "partners:contact_edit", "admin:index", "partner-detail", "login"} <= names
    routes = {name: route for name, route, *_ in ROUTES}
    assert routes["portal:contact_edit"] == "portal/contacts/<int:pk>/edit/"


def test_the_mapping_check_fails_for_an_unmapped_route():
    """The check below really fails when a route is added without an entry (so it cannot pass vacuously)."""
    with pytest.raises(AssertionError, match="portal:brand_new.*needs a scope test"):
        _check_mapping([*PORTAL_COVERAGE, "portal:brand_new"], PORTAL_COVERAGE, "Portal routes")


# --- portal --------------------------------------------------------------------------------------


def test_every_portal_route_has_a_scope_test():
    portal_routes = [name for name, *_ in ROUTES if _namespace(name) == "portal"]
    assert portal_routes, "no portal routes found: the walker is broken"
    _check_mapping(portal_routes, PORTAL_COVERAGE, "Portal routes")


def test_portal_routes_that_take_an_object_id_have_a_404_test():
    """A route with an id in the URL cannot be waved through with a reason: it needs the cross-tenant test."""
    for name, route, kwargs, _callback in ROUTES:
        if _namespace(name) == "portal" and kwargs:
            assert name in test_tenancy.PORTAL_OBJECT_ROUTES, f"{name} ({route}) takes {kwargs}. {ADD_A_SCOPE_TEST}"


def test_every_unnamed_portal_route_is_an_error():
    unnamed = [route for name, route, *_ in ROUTES if route.startswith("portal/") and not (name and name.startswith("portal:"))]
    assert not unnamed, f"Portal routes need a name in the portal namespace so they can be mapped: {unnamed}"


# --- API -----------------------------------------------------------------------------------------


def test_every_api_path_in_the_schema_has_a_scope_test():
    paths = _schema_paths()
    assert paths, "the schema lists no /api/v1/ paths"
    _check_mapping(paths, API_COVERAGE, "API paths")


def _api_patterns():
    for name, route, kwargs, callback in ROUTES:
        if route.startswith("api/v1/") and "format" not in kwargs:
            yield name, route, kwargs, callback


def _path_regex(path):
    """`/api/v1/contacts/{id}/` -> a regex matching `/api/v1/contacts/1/`."""
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", path)) + "$")


def test_every_api_route_is_in_the_schema_or_explained():
    """The resolver, not only the schema: a view hidden from the schema still needs an entry."""
    templates = [_path_regex(path) for path in _schema_paths()]
    unexplained = []
    for name, route, kwargs, _callback in _api_patterns():
        url = reverse(name, kwargs=dict.fromkeys(kwargs, "1"))
        if not any(t.match(url) for t in templates) and name not in API_OUTSIDE_SCHEMA:
            unexplained.append(f"{name} ({route})")
    assert not unexplained, f"API routes missing from the schema and from API_OUTSIDE_SCHEMA: {unexplained}. {ADD_A_SCOPE_TEST}"


def _is_partner_scoped(model):
    """Partner-owned models use the fail-closed scoped manager (it has `with_scopes_disabled`)."""
    return hasattr(model._default_manager, "with_scopes_disabled")


def test_the_scoped_model_check_knows_the_partner_owned_models():
    assert all(_is_partner_scoped(m) for m in (Partner, Contact, Membership, Interaction, PartnerStatusChange, Sale, SalesMonth))
    from partners.models import Tier

    assert not any(_is_partner_scoped(m) for m in (Tier, Customer, Product))


def test_api_routes_over_partner_owned_models_have_a_404_test():
    """Only routes over non-partner data may use a NoObjectScope reason."""
    for path in _schema_paths():
        coverage = API_COVERAGE.get(path)
        if coverage is not None and not isinstance(coverage, NoObjectScope) and "API_MANAGER_ONLY_ROUTES" in _tables(coverage):
            continue  # an operation refused to partner users as a whole, tested as such in test_tenancy
        url = re.sub(r"\{[^}]+\}", "1", path)
        view = get_resolver().resolve(url).func
        serializer_class = getattr(view.cls, "serializer_class", None)
        model = getattr(getattr(serializer_class, "Meta", None), "model", None)
        assert model is not None, f"{path}: cannot tell which model it serves; map it explicitly and extend this test."
        if _is_partner_scoped(model) or model in PARTNER_FILTERED_MODELS:
            coverage = API_COVERAGE.get(path)
            tables = () if isinstance(coverage, NoObjectScope) or coverage is None else _tables(coverage)
            assert {"API_DETAIL_ROUTES", "API_LIST_ROUTES"} & set(tables), (
                f"{path} serves partner-owned {model.__name__} rows but is mapped to {coverage!r}. {ADD_A_SCOPE_TEST}"
            )


# --- everything else -----------------------------------------------------------------------------


def test_every_other_namespace_and_route_is_accounted_for():
    namespaces = {_namespace(name) for name, *_ in ROUTES if _namespace(name)} - {"portal"}
    unknown = sorted(namespaces - set(OTHER_NAMESPACES))
    assert not unknown, f"New URL namespace(s) {unknown}: map them in OTHER_NAMESPACES. {ADD_A_SCOPE_TEST}"
    api_names = {name for name, *_ in _api_patterns()}
    top_level = {
        name for name, route, *_ in ROUTES if name and not _namespace(name) and name not in api_names and not route.startswith("api/v1/")
    }
    unknown = sorted(top_level - set(OTHER_ROUTES))
    assert not unknown, f"New top-level route(s) {unknown}: map them in OTHER_ROUTES. {ADD_A_SCOPE_TEST}"
    unnamed = [route for name, route, *_ in ROUTES if not name and not route.startswith(("admin/", "static/", "media/"))]
    assert not unnamed, f"Unnamed routes cannot be mapped; give them a name: {unnamed}"


# --- the manager UI refuses partner users --------------------------------------------------------

MANAGER_ROUTES = sorted((name, kwargs) for name, route, kwargs, _ in ROUTES if _namespace(name) in ("partners", "sales"))


@pytest.fixture
def ids_a(partner_a):
    """Real ids of partner A's objects, so a missing permission check would find something to act on."""
    return {
        "partner": partner_a.pk,
        "contact_pk": ContactFactory(partner=partner_a).pk,
        "membership_pk": MembershipFactory(partner=partner_a).pk,
        "application": ApplicationFactory().pk,
        "interaction": InteractionFactory(partner=partner_a).pk,
        "import": ImportJob.objects.create(entity="sales", channel="cli", file_name="sales.csv").pk,
    }


def _url(name, kwargs, ids):
    values = {}
    for kwarg in kwargs:
        if kwarg == "pk":
            kind = next((k for k in ("application", "import") if name.startswith((f"partners:{k}", f"sales:{k}"))), "partner")
            values[kwarg] = ids[kind]
        elif kwarg in ids:
            values[kwarg] = ids[kwarg]
        else:
            pytest.fail(f"{name}: add how to build the URL keyword {kwarg!r} to test_route_coverage._url / ids_a.")
    return reverse(name, kwargs=values)


def test_the_manager_ui_has_routes():
    assert len(MANAGER_ROUTES) >= 10


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
@pytest.mark.parametrize(("name", "kwargs"), MANAGER_ROUTES, ids=[name for name, _ in MANAGER_ROUTES])
def test_manager_ui_refuses_partner_users(request, persona, name, kwargs, ids_a, partner_a):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    url = _url(name, kwargs, ids_a)
    counts = (Partner.objects.count(), Contact.objects.count(), Membership.objects.count(), Interaction.objects.count())

    get = client.get(url)
    assert get.status_code in (403, 405), f"GET {url} answered {get.status_code} to a partner user"
    post = client.post(url, {"name": "Taken over", "first_name": "X", "last_name": "Y", "summary": "x", "kind": "note", "active": "0"})
    assert post.status_code == 403, f"POST {url} answered {post.status_code} to a partner user"
    assert (Partner.objects.count(), Contact.objects.count(), Membership.objects.count(), Interaction.objects.count()) == counts


@pytest.mark.parametrize(("name", "kwargs"), MANAGER_ROUTES, ids=[name for name, _ in MANAGER_ROUTES])
def test_manager_ui_works_for_a_manager(name, kwargs, ids_a, manager_client):
    """The other side: the same URLs are real pages for a channel manager (so the 403 above means something)."""
    response = manager_client.get(_url(name, kwargs, ids_a))
    assert response.status_code in (200, 405), (name, response.status_code)
