"""A repeated POST takes the points (or moves the money) once.

API: redeem, approve/reject/fulfil a redemption, approve/mark paid/reject a payout with an
`Idempotency-Key` header (the key row is written in the same transaction as the write). Portal: the
redeem confirmation carries a one-time token. Manager pages: the payout and redemption forms too.
"""

import re
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incentives import services
from incentives.models import AuditEntry, Payout, PayoutStatus, PointsBalance, PointsEntry, Redemption, RedemptionStatus, Reward
from incentives.services import points as points_services
from partners import idempotency
from partners.idempotency import REPLAY_WINDOW, issue_form_token
from partners.models import IdempotencyKey
from tests.partners.factories import MembershipFactory, PartnerFactory, with_form_token

from .factories import RewardFactory, give_points, payout_for

pytestmark = pytest.mark.django_db

REDEEM = "/api/v1/redemptions/"
KEY = "3b0e5d7c-redeem-0001"


def token_client(user):
    token, _ = Token.objects.get_or_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def api_a(admin_a):
    return token_client(admin_a)


@pytest.fixture
def api_manager(manager_user):
    return token_client(manager_user)


def _post(client, path, body=None, key=KEY):
    return client.post(path, body or {}, format="json", headers={"Idempotency-Key": key} if key is not None else {})


def _balance(partner):
    return PointsBalance.objects.get(partner=partner).balance


def _ledger(partner):
    return (Redemption.objects.filter(partner=partner).count(), PointsEntry.objects.filter(partner=partner).count(), _balance(partner))


def _age(key, by):
    IdempotencyKey.objects.filter(key=key).update(created_at=timezone.now() - by)


# --- API: redeem ------------------------------------------------------------------------------------


class TestRedeem:
    def test_a_replay_returns_the_same_redemption_and_takes_no_points(self, api_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(name="Backpack", points_cost=300, stock=5)
        first = _post(api_a, REDEEM, {"reward": reward.pk})
        assert first.status_code == 201, first.content
        assert "Idempotent-Replayed" not in first
        after_first = _ledger(partner_a)
        assert after_first == (1, 2, 700)

        replay = _post(api_a, REDEEM, {"reward": reward.pk})

        assert replay.status_code == 201
        assert replay["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
        assert _ledger(partner_a) == after_first
        assert Reward.objects.get(pk=reward.pk).stock == 4
        assert AuditEntry.objects.filter(action="redemption_request").count() == 1

    def test_without_the_header_a_second_post_redeems_again_as_before(self, api_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(points_cost=300)
        assert _post(api_a, REDEEM, {"reward": reward.pk}, key=None).status_code == 201
        assert _post(api_a, REDEEM, {"reward": reward.pk}, key=None).status_code == 201
        assert _ledger(partner_a)[::2] == (2, 400)
        assert not IdempotencyKey.objects.exists()

    def test_after_24_hours_the_same_key_redeems_anew(self, api_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(points_cost=300)
        first = _post(api_a, REDEEM, {"reward": reward.pk})
        _age(KEY, REPLAY_WINDOW + timedelta(seconds=1))

        again = _post(api_a, REDEEM, {"reward": reward.pk})

        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert again.json()["id"] != first.json()["id"]
        assert _ledger(partner_a)[::2] == (2, 400)
        assert IdempotencyKey.objects.count() == 1

    def test_the_same_key_for_another_reward_is_a_422_and_writes_nothing(self, api_a, partner_a):
        give_points(partner_a, 1000)
        mug, cap = RewardFactory(name="Mug", points_cost=100), RewardFactory(name="Cap", points_cost=200)
        _post(api_a, REDEEM, {"reward": mug.pk})
        before = _ledger(partner_a)

        response = _post(api_a, REDEEM, {"reward": cap.pk})

        assert response.status_code == 422
        assert response.json() == {
            "detail": "This Idempotency-Key was already used for another request (another body, path or method). "
            "Send a new key for a new request."
        }
        assert _ledger(partner_a) == before
        assert not Redemption.objects.filter(reward=cap).exists()

    @pytest.mark.parametrize("key", ["", "x" * 256])
    def test_an_invalid_key_is_a_400_and_writes_nothing(self, api_a, partner_a, key):
        give_points(partner_a, 1000)
        response = _post(api_a, REDEEM, {"reward": RewardFactory(points_cost=100).pk}, key=key)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert "Idempotency-Key" in response.json()["detail"]
        assert _ledger(partner_a) == (0, 1, 1000)

    def test_a_refusal_is_stored_and_replayed_too(self, api_a, partner_a):
        give_points(partner_a, 50)
        reward = RewardFactory(points_cost=300)
        refused = _post(api_a, REDEEM, {"reward": reward.pk})
        assert refused.status_code == 400
        give_points(partner_a, 1000)

        replay = _post(api_a, REDEEM, {"reward": reward.pk})

        assert (replay.status_code, replay.json()) == (400, refused.json())
        assert replay["Idempotent-Replayed"] == "true"
        assert not Redemption.objects.exists()

    def test_a_server_error_stores_no_key_and_the_retry_redeems(self, admin_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(points_cost=300)
        client = token_client(admin_a)
        client.raise_request_exception = False
        with mock.patch.object(points_services, "audit", side_effect=RuntimeError("audit store down")):
            assert _post(client, REDEEM, {"reward": reward.pk}).status_code == 500
        assert _ledger(partner_a) == (0, 1, 1000)  # the write rolled back, and the key with it
        assert not IdempotencyKey.objects.exists()

        retry = _post(client, REDEEM, {"reward": reward.pk})

        assert retry.status_code == 201
        assert "Idempotent-Replayed" not in retry
        assert _ledger(partner_a)[::2] == (1, 700)


class TestPerUser:
    def test_another_partner_reusing_the_key_gets_its_own_redemption_and_never_the_first_answer(self, api_a, partner_a, partner_b, admin_b):
        give_points(partner_a, 1000)
        give_points(partner_b, 1000)
        secret = RewardFactory(name="Alpha-only lounge pass", points_cost=300)
        first = _post(api_a, REDEEM, {"reward": secret.pk}).json()
        mug = RewardFactory(name="Mug", points_cost=100)

        theirs = _post(token_client(admin_b), REDEEM, {"reward": mug.pk})

        assert theirs.status_code == 201
        assert "Idempotent-Replayed" not in theirs
        body = theirs.json()
        assert body["id"] != first["id"]
        assert body["partner"] == partner_b.pk
        assert body["reward_name"] == "Mug"
        assert "Alpha" not in theirs.content.decode()
        assert _balance(partner_b) == 900
        assert _balance(partner_a) == 700

    def test_the_same_body_from_another_user_is_processed_not_replayed(self, api_a, partner_a, admin_b, partner_b):
        give_points(partner_a, 1000)
        give_points(partner_b, 1000)
        reward = RewardFactory(points_cost=100)
        first = _post(api_a, REDEEM, {"reward": reward.pk}).json()
        theirs = _post(token_client(admin_b), REDEEM, {"reward": reward.pk}).json()
        assert (theirs["partner"], first["partner"]) == (partner_b.pk, partner_a.pk)
        assert Redemption.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_key_redeem_once():
    with scopes_disabled():
        partner = PartnerFactory()
        user = MembershipFactory(partner=partner).user
        services.points_earn(partner=partner, points=10000)
        reward = RewardFactory(points_cost=100, stock=None)
    token = Token.objects.create(user=user)
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    answers = []

    def send():
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
            barrier.wait()
            response = _post(client, REDEEM, {"reward": reward.pk})
            answers.append((response.status_code, response.json()["id"], response.get("Idempotent-Replayed")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with scopes_disabled():
        assert Redemption.objects.count() == 1
        redemption = Redemption.objects.get()
        assert PointsBalance.objects.get(partner=partner).balance == 9900
    assert [status for status, _, _ in answers] == [201] * threads_count
    assert {redemption_id for _, redemption_id, _ in answers} == {redemption.pk}
    assert [replayed for _, _, replayed in answers].count(None) == 1  # one ran, the others waited and replayed


# --- API: the managers' money actions --------------------------------------------------------------


class TestManagerActions:
    def test_approve_replayed_writes_no_second_audit_entry(self, api_manager, partner_a):
        payout = payout_for(partner_a)
        path = f"/api/v1/payouts/{payout.pk}/approve/"
        first = _post(api_manager, path)
        assert first.status_code == 200

        replay = _post(api_manager, path)

        assert (replay.status_code, replay.json()) == (200, first.json())
        assert replay["Idempotent-Replayed"] == "true"
        assert AuditEntry.objects.filter(action="payout_approve").count() == 1
        # Without the key the service's compare-and-set refuses a second approval, as before.
        assert _post(api_manager, path, key=None).status_code == 400

    def test_mark_paid_replayed_and_another_reference_under_the_same_key_refused(self, api_manager, partner_a):
        payout = payout_for(partner_a, status=PayoutStatus.APPROVED)
        path = f"/api/v1/payouts/{payout.pk}/mark-paid/"
        first = _post(api_manager, path, {"reference": "SEPA-1"})
        assert first.json()["status"] == "paid"
        replay = _post(api_manager, path, {"reference": "SEPA-1"})
        assert (replay.json(), replay["Idempotent-Replayed"]) == (first.json(), "true")

        other = _post(api_manager, path, {"reference": "SEPA-2"})

        assert other.status_code == 422
        assert Payout.objects.get(pk=payout.pk).reference == "SEPA-1"
        assert AuditEntry.objects.filter(action="payout_paid").count() == 1

    def test_reject_payout_replayed(self, api_manager, partner_a):
        payout = payout_for(partner_a)
        path = f"/api/v1/payouts/{payout.pk}/reject/"
        first = _post(api_manager, path, {"reason": "Wrong account"})
        replay = _post(api_manager, path, {"reason": "Wrong account"})
        assert (first.status_code, replay.status_code, replay.json()) == (200, 200, first.json())
        assert AuditEntry.objects.filter(action="payout_reject").count() == 1

    def test_the_key_used_on_another_path_is_a_422(self, api_manager, partner_a):
        one, two = payout_for(partner_a), payout_for(partner_a)
        _post(api_manager, f"/api/v1/payouts/{one.pk}/approve/")
        response = _post(api_manager, f"/api/v1/payouts/{two.pk}/approve/")
        assert response.status_code == 422
        assert Payout.objects.get(pk=two.pk).status == PayoutStatus.PENDING

    def test_redemption_reject_replayed_refunds_once(self, api_manager, partner_a, admin_a):
        give_points(partner_a, 1000)
        redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(points_cost=400, stock=1))
        path = f"/api/v1/redemptions/{redemption.pk}/reject/"
        first = _post(api_manager, path, {"reason": "Discontinued"})
        assert first.json()["status"] == "rejected"
        after = _ledger(partner_a)
        assert after[2] == 1000

        replay = _post(api_manager, path, {"reason": "Discontinued"})

        assert (replay.json(), replay["Idempotent-Replayed"]) == (first.json(), "true")
        assert _ledger(partner_a) == after
        assert Reward.objects.get(pk=redemption.reward_id).stock == 1

    def test_redemption_approve_and_fulfil_replayed(self, api_manager, partner_a, admin_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(points_cost=600, approval_threshold=500)
        redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
        for action, status in (("approve", RedemptionStatus.APPROVED), ("fulfil", RedemptionStatus.FULFILLED)):
            path = f"/api/v1/redemptions/{redemption.pk}/{action}/"
            first = _post(api_manager, path, key=f"{action}-1")
            replay = _post(api_manager, path, key=f"{action}-1")
            assert (first.json()["status"], replay.json(), replay["Idempotent-Replayed"]) == (status, first.json(), "true")
        assert AuditEntry.objects.filter(action__in=["redemption_approve", "redemption_fulfil"]).count() == 2


# --- portal: the redeem confirmation ---------------------------------------------------------------


def _page_token(response):
    match = re.search(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert match, "no one-time token on the page"
    return match.group(1)


def _messages(response):
    return [str(message) for message in response.context["messages"]]


class TestPortalRedeem:
    def test_the_same_form_sent_twice_redeems_once(self, client_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(name="Backpack", points_cost=300, stock=5)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        data = {"form_token": _page_token(client_a.get(url))}
        first = client_a.post(url, data)
        redemption = Redemption.objects.get()
        assert first["Location"] == reverse("portal:incentive_redemption", args=[redemption.pk])

        second = client_a.post(url, data, follow=True)

        assert second.redirect_chain == [(reverse("portal:incentive_redemption", args=[redemption.pk]), 302)]
        assert "This form was already submitted; it was not done a second time." in _messages(second)
        assert Redemption.objects.count() == 1
        assert _balance(partner_a) == 700
        assert Reward.objects.get(pk=reward.pk).stock == 4

    def test_a_new_confirmation_redeems_again(self, client_a, partner_a):
        give_points(partner_a, 1000)
        reward = RewardFactory(points_cost=300)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        client_a.post(url, with_form_token(client_a, url))
        client_a.post(url, {"form_token": _page_token(client_a.get(url))})
        assert Redemption.objects.count() == 2

    def test_a_refused_redemption_leaves_the_token_usable(self, client_a, partner_a):
        give_points(partner_a, 100)
        reward = RewardFactory(points_cost=300)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        data = with_form_token(client_a, url)
        assert client_a.post(url, data).status_code == 400
        give_points(partner_a, 500)
        assert client_a.post(url, data).status_code == 302
        assert Redemption.objects.count() == 1

    @pytest.mark.parametrize("case", ["missing", "forged", "another user", "another form", "expired"])
    def test_a_bad_token_redeems_nothing_and_shows_the_confirmation_again(self, client_a, partner_a, admin_b, case):
        give_points(partner_a, 1000)
        reward = RewardFactory(name="Backpack", points_cost=300)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        good = with_form_token(client_a, url)["form_token"]
        if case == "missing":
            data = {}
        elif case == "forged":
            data = {"form_token": good[:-3] + ("abc" if not good.endswith("abc") else "xyz")}
        elif case == "another user":
            data = {"form_token": issue_form_token(user=admin_b, action=url)}
        elif case == "another form":
            data = with_form_token(client_a, reverse("portal:incentive_redeem", args=[RewardFactory().pk]))
        else:
            with mock.patch.object(signing.time, "time", return_value=time.time() - 13 * 3600):
                data = with_form_token(client_a, url)

        response = client_a.post(url, data)

        assert response.status_code == 400
        page = response.content.decode()
        assert 'id="redeem-errors"' in page
        assert ("has expired" if case == "expired" else "could not be verified") in page
        assert "Redeem “Backpack”?" in page
        assert _page_token(response) != data.get("form_token")  # a fresh token to confirm again
        assert not Redemption.objects.exists()
        assert _balance(partner_a) == 1000
        assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_redeem_redeems_once():
    with scopes_disabled():
        partner = PartnerFactory()
        user = MembershipFactory(partner=partner).user
        services.points_earn(partner=partner, points=10000)
        reward = RewardFactory(points_cost=100, stock=None)
    url = reverse("portal:incentive_redeem", args=[reward.pk])
    data = {idempotency.FORM_TOKEN_FIELD: issue_form_token(user=user, action=url)}
    clients = []
    for _ in range(4):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    locations = []

    def click(client):
        try:
            barrier.wait()
            locations.append(client.post(url, data)["Location"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with scopes_disabled():
        redemption = Redemption.objects.get()
        assert PointsBalance.objects.get(partner=partner).balance == 9900
    assert locations == [reverse("portal:incentive_redemption", args=[redemption.pk])] * len(clients)


# --- manager pages: the payout and redemption forms ------------------------------------------------


class TestManagerForms:
    def test_the_pages_carry_a_token_that_works(self, manager_client, partner_a, admin_a):
        payout = payout_for(partner_a)
        approve = reverse("incentives:payout_approve", args=[payout.pk])
        response = manager_client.post(approve, {"form_token": _page_token(manager_client.get(approve))})
        assert response.status_code == 302
        assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.APPROVED
        page = manager_client.get(reverse("incentives:payout", args=[payout.pk])).content.decode()
        assert page.count('name="form_token"') == 2  # mark paid, reject

    def test_approve_twice_with_one_token_approves_once_and_says_so(self, manager_client, partner_a):
        payout = payout_for(partner_a)
        url = reverse("incentives:payout_approve", args=[payout.pk])
        data = with_form_token(manager_client, url)
        manager_client.post(url, data)

        second = manager_client.post(url, data, follow=True)

        assert "This form was already submitted; it was not done a second time." in _messages(second)
        assert not any("Only a pending payout" in message for message in _messages(second))
        assert AuditEntry.objects.filter(action="payout_approve").count() == 1

    def test_mark_paid_twice_with_one_token_is_paid_once(self, manager_client, partner_a):
        payout = payout_for(partner_a, status=PayoutStatus.APPROVED)
        url = reverse("incentives:payout_paid", args=[payout.pk])
        data = with_form_token(manager_client, url, {"reference": "SEPA-7"})
        assert manager_client.post(url, data).status_code == 302
        second = manager_client.post(url, data)
        assert second["Location"] == reverse("incentives:payout", args=[payout.pk])
        assert AuditEntry.objects.filter(action="payout_paid").count() == 1

    def test_redemption_reject_twice_with_one_token_refunds_once(self, manager_client, partner_a, admin_a):
        give_points(partner_a, 1000)
        redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(points_cost=400))
        url = reverse("incentives:redemption_reject", args=[redemption.pk])
        data = with_form_token(manager_client, url, {"reason": "Discontinued"})
        manager_client.post(url, data)
        second = manager_client.post(url, data, follow=True)
        assert "This form was already submitted; it was not done a second time." in _messages(second)
        assert _balance(partner_a) == 1000
        assert PointsEntry.objects.filter(partner=partner_a, redemption=redemption).count() == 2  # taken, refunded once

    @pytest.mark.parametrize(
        ("name", "status", "data"),
        [
            ("incentives:payout_approve", PayoutStatus.PENDING, {}),
            ("incentives:payout_paid", PayoutStatus.APPROVED, {"reference": "SEPA-9"}),
            ("incentives:payout_reject", PayoutStatus.PENDING, {"reason": "Wrong account"}),
        ],
    )
    def test_a_payout_form_without_a_token_changes_nothing(self, manager_client, partner_a, name, status, data):
        payout = payout_for(partner_a, status=status)
        response = manager_client.post(reverse(name, args=[payout.pk]), data)
        assert response.status_code == 400
        assert "could not be verified" in response.content.decode()
        assert Payout.objects.get(pk=payout.pk).status == status
        assert not AuditEntry.objects.filter(object_id=payout.pk).exists()

    @pytest.mark.parametrize(("name", "data"), [("incentives:redemption_approve", {}), ("incentives:redemption_reject", {"reason": "No"})])
    def test_a_redemption_form_without_a_token_changes_nothing(self, manager_client, partner_a, admin_a, name, data):
        give_points(partner_a, 1000)
        redemption = services.redemption_request(
            partner=partner_a, user=admin_a, reward=RewardFactory(points_cost=600, approval_threshold=500)
        )
        response = manager_client.post(reverse(name, args=[redemption.pk]), data)
        assert response.status_code == 400
        assert "could not be verified" in response.content.decode()
        assert Redemption.objects.get(pk=redemption.pk).status == RedemptionStatus.PENDING_APPROVAL
        assert _balance(partner_a) == 400
