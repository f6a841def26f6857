"""Cross-tenant tests: partner B's users get 404 for every one of partner A's objects.

Each route is tried twice: by B (must answer 404, exactly like a missing object, and change
nothing) and by A (must succeed), so a route that 404s for everybody cannot pass.

The tables below are what `test_route_coverage.py` checks the URL configuration and the API
schema against: a new portal route or API path needs an entry here (or an explicit reason there).
"""

import datetime as dt
import gc
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import get_scope
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incentives import services as incentive_services
from incentives.models import Payout, PayoutStatus, PointsBalance, Redemption, RedemptionStatus, Reward
from kpis.models import Alert, AlertKind, ScoreSnapshot
from kpis.services import score_model_current
from partners.models import Contact, Interaction, Membership, MembershipRole, Partner
from sales.models import Customer, ImportJob, Sale, SalesMonth
from surveys.models import Idea, IdeaEvent, IdeaStatus, Invitation, Response
from tests.incentives.factories import RewardFactory, RuleFactory, give_points, payout_for
from tests.partners.factories import ContactFactory, InteractionFactory, MembershipFactory, TierFactory, UserFactory, with_form_token
from tests.surveys.factories import IdeaFactory, InvitationFactory, QuestionFactory, ResponseFactory, WaveFactory

pytestmark = pytest.mark.django_db

MISSING_PK = 2_147_483_000

# Portal routes that take an object id: route name -> (kind of object, HTTP methods that act on it).
PORTAL_OBJECT_ROUTES = {
    "portal:contact_edit": ("contact", ["get", "post"]),
    "portal:contact_delete": ("contact", ["get", "post"]),
    "portal:team_set_active": ("membership", ["post"]),
    "portal:team_resend_invitation": ("invited", ["post"]),
    "portal:survey_answer": ("invitation", ["get", "post"]),
    "portal:idea_detail": ("idea", ["get", "post"]),
    "portal:incentive_payout": ("payout", ["get"]),
    "portal:incentive_redemption": ("redemption", ["get"]),
    "portal:incentive_redeem": ("reward", ["get", "post"]),
}

# Object routes open to every user of a partner, not only to its partner admins.
PORTAL_MEMBER_ROUTES = {
    "portal:survey_answer",
    "portal:idea_detail",
    "portal:incentive_payout",
    "portal:incentive_redemption",
    "portal:incentive_redeem",
}

# Portal pages without an object id: each shows the signed-in user's own partner only.
PORTAL_LIST_PAGES = {
    "portal:home": "/portal/",
    "portal:activity": "/portal/activity/",
    "portal:contacts": "/portal/contacts/",
    "portal:team": "/portal/team/",
    "portal:surveys": "/portal/surveys/",
    "portal:ideas": "/portal/ideas/",
    "portal:incentives": "/portal/incentives/",
    "portal:incentive_earnings": "/portal/incentives/earnings/",
    "portal:incentive_points": "/portal/incentives/points/",
    "portal:incentive_rewards": "/portal/incentives/rewards/",
    "portal:incentive_redemptions": "/portal/incentives/redemptions/",
    "portal:scorecard": "/portal/scorecard/",
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
    "/api/v1/surveys/{id}/": "survey",
    "/api/v1/waves/{id}/": "wave",
    "/api/v1/ideas/{id}/": "idea",
    "/api/v1/programs/{id}/": "program",
    "/api/v1/earnings/{id}/": "earning",
    "/api/v1/payouts/{id}/": "payout",
    "/api/v1/rewards/{id}/": "reward",
    "/api/v1/redemptions/{id}/": "redemption",
    "/api/v1/scores/{id}/": "snapshot",
}

# API list routes of partner-owned objects: schema path -> kind of object listed.
API_LIST_ROUTES = {
    "/api/v1/partners/": "partner",
    "/api/v1/contacts/": "contact",
    "/api/v1/interactions/": "interaction",
    "/api/v1/sales/": "sale",
    "/api/v1/sales-months/": "sales_month",
    "/api/v1/customers/": "customer",
    "/api/v1/surveys/": "survey",
    "/api/v1/waves/": "wave",
    "/api/v1/ideas/": "idea",
    "/api/v1/programs/": "program",
    "/api/v1/earnings/": "earning",
    "/api/v1/payouts/": "payout",
    "/api/v1/rewards/": "reward",
    "/api/v1/redemptions/": "redemption",
    "/api/v1/scores/": "snapshot",
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


def _sale_was_overwritten(objects, response):
    assert Sale.objects.get(pk=objects["sale"].pk).amount == Decimal("0.01")
    assert Sale.objects.filter(external_id="TAKEOVER-2", partner=objects["partner"]).exists()


def _response_is_shown(objects, response):
    assert response.json()["id"] == objects["response"].pk


def _idea_status_changed(objects, response):
    assert Idea.objects.get(pk=objects["idea"].pk).status == IdeaStatus.PLANNED


def _idea_got_a_reply(objects, response):
    assert IdeaEvent.objects.filter(idea=objects["idea"], body="Taken over").exists()


def _idea_was_merged(objects, response):
    assert Idea.objects.get(pk=objects["idea"].pk).merged_into_id == objects["other_idea"].pk


def _alert_was_acknowledged(objects, response):
    assert Alert.objects.get(pk=objects["alert"].pk).acknowledged_at is not None


def _overview_has_figures(objects, response):
    assert "revenue" in response.json()["kpis"]


def _payout_is(kind, status):
    def effect(objects, response):
        assert Payout.objects.get(pk=objects[kind].pk).status == status

    return effect


def _redemption_is(kind, status):
    def effect(objects, response):
        assert Redemption.objects.get(pk=objects[kind].pk).status == status

    return effect


# API operations refused to partner users as a whole (403, before reading the body): schema path ->
# (HTTP method, kind of object in `{id}` or None, body built from the owner's objects, the effect for a manager).
API_MANAGER_ONLY_ROUTES = {
    "/api/v1/sales/bulk/": ("post", None, _rows_over_as_sales, _sale_was_overwritten),
    "/api/v1/responses/": ("get", None, lambda objects: None, lambda objects, response: None),
    "/api/v1/responses/{id}/": ("get", "response", lambda objects: None, _response_is_shown),
    "/api/v1/ideas/{id}/set-status/": ("post", "idea", lambda objects: {"status": "planned", "note": "x"}, _idea_status_changed),
    "/api/v1/ideas/{id}/reply/": ("post", "idea", lambda objects: {"body": "Taken over"}, _idea_got_a_reply),
    "/api/v1/ideas/{id}/merge/": ("post", "idea", lambda objects: {"into": objects["other_idea"].pk}, _idea_was_merged),
    "/api/v1/payouts/{id}/approve/": ("post", "payout", lambda objects: {}, _payout_is("payout", PayoutStatus.APPROVED)),
    "/api/v1/payouts/{id}/mark-paid/": (
        "post",
        "approved_payout",
        lambda objects: {"reference": "SEPA-1"},
        _payout_is("approved_payout", PayoutStatus.PAID),
    ),
    "/api/v1/payouts/{id}/reject/": (
        "post",
        "payout",
        lambda objects: {"reason": "Taken over"},
        _payout_is("payout", PayoutStatus.REJECTED),
    ),
    "/api/v1/redemptions/{id}/approve/": (
        "post",
        "pending_redemption",
        lambda objects: {},
        _redemption_is("pending_redemption", RedemptionStatus.APPROVED),
    ),
    "/api/v1/redemptions/{id}/reject/": (
        "post",
        "redemption",
        lambda objects: {"reason": "Taken over"},
        _redemption_is("redemption", RedemptionStatus.REJECTED),
    ),
    "/api/v1/redemptions/{id}/fulfil/": (
        "post",
        "redemption",
        lambda objects: {},
        _redemption_is("redemption", RedemptionStatus.FULFILLED),
    ),
    "/api/v1/score-alerts/": ("get", None, lambda objects: None, lambda objects, response: None),
    "/api/v1/score-alerts/{id}/": ("get", "alert", lambda objects: None, lambda objects, response: None),
    "/api/v1/score-alerts/{id}/acknowledge/": ("post", "alert", lambda objects: {}, _alert_was_acknowledged),
    "/api/v1/kpis/overview/": ("get", None, lambda objects: None, _overview_has_figures),
}


def _submission(objects):
    return {"invitation": objects["invitation"].pk, "answers": {str(objects["question"].pk): 9}}


# API operations open to partner users that name an object in the body: schema path -> (body, the body
# field naming the object, effect). Another partner's object must be refused exactly like a missing one.
API_SUBMIT_ROUTES = {
    "/api/v1/responses/": (
        _submission,
        "invitation",
        lambda objects: Invitation.objects.get(pk=objects["invitation"].pk).responded_at is not None,
    ),
    "/api/v1/redemptions/": (
        lambda objects: {"reward": objects["reward"].pk},
        "reward",
        lambda objects: Redemption.objects.filter(reward=objects["reward"]).count() == 2,
    ),
}

# Secret markers: B must never see a page or a response containing one of these.
A_SECRETS = [
    "Alpha Resellers",
    "Anneke Alpha-Contact",
    "Alpha pipeline call",
    "alpha-colleague@alpha.test",
    "Alpha End Customer",
    "Alpha-only pulse",
    "Alpha idea for faster quotes",
    "Alpha-only rebate",
    "Alpha exclusive gift",
]


def _survey_objects(partner, user, label):
    """An open wave of a survey only `user` of `partner` is invited to, one of its answers, and the company's ideas."""
    wave = WaveFactory(survey__title=f"{label}-only pulse", name=f"{label} wave")
    question = QuestionFactory(survey=wave.survey)
    respondent = MembershipFactory(partner=partner, role=MembershipRole.USER).user
    return {
        "survey": wave.survey,
        "wave": wave,
        "question": question,
        "invitation": InvitationFactory(wave=wave, partner=partner, user=user),
        "response": ResponseFactory(wave=wave, partner=partner, user=respondent),
        "idea": IdeaFactory(partner=partner, author=user, title=f"{label} idea for faster quotes"),
        "other_idea": IdeaFactory(partner=partner, author=user, title=f"{label} second idea"),
    }


def _incentive_objects(partner, user, label):
    """A program only `partner` is in, its payouts, points, rewards of its own tier and redemptions of them."""
    tier = TierFactory(name=f"{label} tier")
    Partner.objects.filter(pk=partner.pk).update(tier=tier)
    partner.tier = tier
    program = RuleFactory(program__name=f"{label}-only rebate").program
    program.partners.set([partner])
    payout = payout_for(partner, program=program)
    approved = payout_for(partner, program=program, amount="300.00", status=PayoutStatus.APPROVED)
    give_points(partner, 5000)
    reward = RewardFactory(name=f"{label} exclusive gift", points_cost=100)
    big = RewardFactory(name=f"{label} big prize", points_cost=1000, approval_threshold=500)
    for item in (reward, big):
        item.tiers.set([tier])
    return {
        "program": program,
        "earning": payout.lines.get(),
        "payout": payout,
        "approved_payout": approved,
        "reward": reward,
        "redemption": incentive_services.redemption_request(partner=partner, user=user, reward=reward),
        "pending_redemption": incentive_services.redemption_request(partner=partner, user=user, reward=big),
    }


# Loyalty scores shown as the portal scorecard prints them (one decimal).
A_SCORE, B_SCORE = "87.1", "12.3"


def _score_objects(partner, score):
    """A loyalty-score snapshot of today, so the portal scorecard has a score to show (or leak)."""
    snapshot = ScoreSnapshot.objects.create(
        partner=partner, date=timezone.localdate(), score_model=score_model_current(), score=Decimal(score), band="watch", components={}
    )
    alert = Alert.objects.create(
        partner=partner, date=timezone.localdate(), kind=AlertKind.BELOW_THRESHOLD, score=Decimal(score), message="Loyalty score is low."
    )
    return {"snapshot": snapshot, "alert": alert}


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
        **_survey_objects(partner_a, admin_a, "Alpha"),
        **_incentive_objects(partner_a, admin_a, "Alpha"),
        **_score_objects(partner_a, A_SCORE),
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
        **_survey_objects(partner_b, admin_b, "Beta"),
        **_incentive_objects(partner_b, admin_b, "Beta"),
        **_score_objects(partner_b, B_SCORE),
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


def _post_data(kind, objects):
    if kind == "contact":
        return {"first_name": "Taken", "last_name": "Over", "email": "taken@over.test"}
    if kind == "invitation":
        return {"action": "save", f"q{objects['question'].pk}": "9"}
    if kind == "idea":
        return {"body": "Taken over"}
    return {"active": "0"}


def _snapshot(objects):
    """What A's objects look like, to prove a refused request changed nothing."""
    contact = Contact.objects.get(pk=objects["contact"].pk)
    membership = Membership.objects.select_related("user").get(pk=objects["membership"].pk)
    sale = Sale.objects.get(pk=objects["sale"].pk)
    invitation = Invitation.objects.get(pk=objects["invitation"].pk)
    return (
        (contact.first_name, contact.last_name, contact.email, membership.user.is_active, Contact.objects.count()),
        (sale.partner_id, sale.amount, Sale.objects.count(), Customer.objects.get(pk=objects["customer"].pk).name),
        list(SalesMonth.objects.values_list("partner_id", "month", "revenue")),
        (invitation.draft, invitation.responded_at, Response.objects.count()),
        list(Idea.objects.order_by("pk").values_list("pk", "title", "status", "merged_into")),
        IdeaEvent.objects.count(),
        list(Payout.objects.order_by("pk").values_list("pk", "status", "reference", "reason")),
        list(Redemption.objects.order_by("pk").values_list("pk", "status")),
        list(PointsBalance.objects.order_by("partner_id").values_list("partner_id", "balance")),
        list(Reward.objects.order_by("pk").values_list("pk", "stock")),
    )


# --- portal: object routes -----------------------------------------------------------------------


@pytest.mark.parametrize("route", PORTAL_OBJECT_ROUTES, ids=str)
def test_portal_object_routes_are_404_for_another_partner(route, objects_a, objects_b, admin_b):
    kind, methods = PORTAL_OBJECT_ROUTES[route]
    client = _browser(admin_b)  # B's partner *admin*: the role that may use these routes at all
    before = _snapshot(objects_a)
    for method in methods:
        data = _post_data(kind, objects_a) if method == "post" else None
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
        marker = {
            "contact": "Anneke",
            "invitation": "Alpha-only pulse",
            "idea": "Alpha idea for faster quotes",
            "payout": "Alpha-only rebate",
            "redemption": "Alpha exclusive gift",
            "reward": "Alpha exclusive gift",
        }[kind]
        assert marker in response.content.decode()
    if "post" not in methods:
        return
    data = _post_data(kind, objects_a)
    if route == "portal:incentive_redeem":
        data = with_form_token(client, url, data)  # the confirmation page's one-time token
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, route
    if route == "portal:contact_edit":
        assert Contact.objects.get(pk=obj.pk).last_name == "Over"
    elif route == "portal:contact_delete":
        assert not Contact.objects.filter(pk=obj.pk).exists()
    elif route == "portal:team_set_active":
        assert not Membership.objects.select_related("user").get(pk=obj.pk).user.is_active
    elif route == "portal:team_resend_invitation":
        assert [message.to for message in mailoutbox] == [["alpha-invitee@alpha.test"]]
    elif route == "portal:survey_answer":
        assert Invitation.objects.get(pk=obj.pk).draft == {str(objects_a["question"].pk): "9"}
    elif route == "portal:idea_detail":
        assert IdeaEvent.objects.filter(idea=obj, body="Taken over", author=admin_a).exists()
    elif route == "portal:incentive_redeem":
        assert Redemption.objects.filter(reward=obj, user=admin_a).count() == 2
    else:  # pragma: no cover - a new route needs its effect checked here
        pytest.fail(f"Add the expected effect of {route} to this test.")


def test_a_plain_user_of_another_partner_is_refused_before_any_lookup(objects_a, partner_b):
    """A non-admin of B gets 403 for A's objects and for missing ones alike on admin routes, 404 alike on the others."""
    client = _browser(MembershipFactory(partner=partner_b, role=MembershipRole.USER).user)
    before = _snapshot(objects_a)
    for route, (kind, methods) in PORTAL_OBJECT_ROUTES.items():
        expected = 404 if route in PORTAL_MEMBER_ROUTES else 403
        for method in methods:
            data = _post_data(kind, objects_a) if method == "post" else None
            foreign = getattr(client, method)(reverse(route, args=[objects_a[kind].pk]), data)
            missing = getattr(client, method)(reverse(route, args=[MISSING_PK]), data)
            assert foreign.status_code == missing.status_code == expected, (route, method, foreign.status_code)
    assert _snapshot(objects_a) == before


def test_a_colleagues_survey_invitation_is_404_too(objects_a, user_a):
    """Invitations are personal: a colleague of the same partner cannot open or answer it."""
    client = _browser(user_a)
    url = reverse("portal:survey_answer", args=[objects_a["invitation"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _post_data("invitation", objects_a)).status_code == 404
    assert Invitation.objects.get(pk=objects_a["invitation"].pk).draft in ({}, None)


# --- portal: pages without an object id ----------------------------------------------------------


@pytest.mark.parametrize("route", PORTAL_LIST_PAGES, ids=str)
def test_portal_pages_show_another_partner_nothing_of_a(route, objects_a, objects_b, admin_b):
    response = _browser(admin_b).get(PORTAL_LIST_PAGES[route])
    assert response.status_code == 200
    html = response.content.decode()
    for secret in [*A_SECRETS, "Alpha churn risk"]:
        assert secret not in html, (route, secret)
    assert "Beta Distribution GmbH" in html  # B's own company in the navigation: the page did render for B


def test_the_portal_scorecard_shows_each_partner_only_its_own_score(objects_a, objects_b, admin_a, admin_b):
    a_page = _browser(admin_a).get(PORTAL_LIST_PAGES["portal:scorecard"]).content.decode()
    b_page = _browser(admin_b).get(PORTAL_LIST_PAGES["portal:scorecard"]).content.decode()
    assert A_SCORE in a_page
    assert B_SCORE not in a_page
    assert B_SCORE in b_page
    assert A_SCORE not in b_page


@pytest.mark.parametrize("route", PORTAL_LIST_PAGES, ids=str)
def test_portal_pages_show_a_its_own_data(route, objects_a, objects_b, admin_a):
    html = _browser(admin_a).get(PORTAL_LIST_PAGES[route]).content.decode()
    assert "Alpha Resellers B.V." in html
    expected = {
        "portal:home": "Alpha pipeline call",
        "portal:activity": "Alpha pipeline call",
        "portal:contacts": "Anneke Alpha-Contact",
        "portal:team": "alpha-colleague@alpha.test",
        "portal:surveys": "Alpha-only pulse",
        "portal:ideas": "Alpha idea for faster quotes",
        "portal:incentives": "Alpha-only rebate",
        "portal:incentive_earnings": "Alpha-only rebate",
        "portal:incentive_points": "Alpha exclusive gift",
        "portal:incentive_rewards": "Alpha exclusive gift",
        "portal:incentive_redemptions": "Alpha exclusive gift",
        "portal:scorecard": A_SCORE,
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
        Permission.objects.get(content_type__app_label="partners", codename="view_partner"),
        Permission.objects.get(content_type__app_label="sales", codename="add_importjob"),
    )
    return manager


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("persona", ["admin_a", "user_a", "admin_b"])
@pytest.mark.parametrize("path", API_MANAGER_ONLY_ROUTES, ids=str)
def test_api_manager_only_routes_refuse_partner_users(request, path, persona, auth, objects_a, objects_b):
    """Neither another partner nor the owner's own users may call them: 403, and nothing changes."""
    method, kind, body, _effect = API_MANAGER_ONLY_ROUTES[path]
    url = path.format(id=objects_a[kind].pk) if kind else path
    before = (_snapshot(objects_a), ImportJob.objects.count())
    response = getattr(_api(request.getfixturevalue(persona), auth), method)(url, body(objects_a), format="json")
    assert response.status_code == 403, (path, persona, response.status_code)
    for secret in A_SECRETS:
        assert secret not in response.content.decode()
    assert (_snapshot(objects_a), ImportJob.objects.count()) == before


@pytest.mark.parametrize("path", API_MANAGER_ONLY_ROUTES, ids=str)
def test_api_manager_only_routes_work_for_a_channel_manager(path, objects_a):
    """The other side: the same request does act for a channel manager (so the 403 above means something)."""
    method, kind, body, effect = API_MANAGER_ONLY_ROUTES[path]
    url = path.format(id=objects_a[kind].pk) if kind else path
    response = getattr(_api(_importing_manager(), "token"), method)(url, body(objects_a), format="json")
    assert response.status_code in (200, 201), response.json()
    effect(objects_a, response)


# --- API: submissions that name an object in the body --------------------------------------------


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("path", API_SUBMIT_ROUTES, ids=str)
def test_api_submissions_naming_another_partners_object_are_refused_like_a_missing_one(path, auth, objects_a, objects_b, admin_b):
    body, field, _effect = API_SUBMIT_ROUTES[path]
    client = _api(admin_b, auth)
    before = _snapshot(objects_a)
    foreign = client.post(path, body(objects_a), format="json")
    missing = client.post(path, {**body(objects_a), field: MISSING_PK}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    for secret in A_SECRETS:
        assert secret not in foreign.content.decode()
    assert _snapshot(objects_a) == before


@pytest.mark.parametrize("path", API_SUBMIT_ROUTES, ids=str)
def test_api_submissions_work_for_the_owning_partner(path, objects_a, admin_a):
    body, _field, effect = API_SUBMIT_ROUTES[path]
    response = _api(admin_a, "token").post(path, body(objects_a), format="json")
    assert response.status_code == 201, response.json()
    assert effect(objects_a)


def test_an_api_error_leaves_no_scope_behind(admin_a, partner_a):
    """DRF skips `finalize_response` when a view raises (a 500): the request's scope must end then, not
    when the garbage collector finalises it, which would set whatever runs at that moment (the next
    request on the worker) back to this user's scope."""
    before = dict(get_scope())
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(admin_a)
    # Keep the error's traceback out of the captured log records, so nothing outlives the response.
    with (
        mock.patch("incentives.api.RedemptionViewSet.get_queryset", side_effect=RuntimeError("boom")),
        mock.patch("django.core.handlers.exception.log_response"),
    ):
        response = client.get("/api/v1/redemptions/")
    assert response.status_code == 500
    del response  # its exc_info holds the view
    gc.collect()
    assert get_scope() == before
