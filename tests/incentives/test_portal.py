"""The portal's incentive pages: the partner's programs with criteria and accrual, earnings, payouts,
points, the catalog of its tier, redeeming, and scoping to the signed-in user's partner."""

from datetime import date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from incentives import services
from incentives.models import IncentiveSettings, PayoutStatus, PointsBalance, ProgramStatus, Redemption, RedemptionStatus, Reward, TierRule
from sales.imports import rollups
from tests.partners.factories import TierFactory, with_form_token
from tests.sales.factories import SaleFactory

from .factories import ProgramFactory, RewardFactory, RuleFactory, give_points, payout_for

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2026, 2, 20)


def html(response):
    return response.content.decode()


@pytest.fixture
def frozen_today():
    """The accrual preview runs on a day inside Q1 2026 (the factories' program)."""
    with (
        mock.patch("django.utils.timezone.localdate", return_value=TODAY),
        mock.patch("django.utils.timezone.now", return_value=datetime(2026, 2, 20, 12, 0, tzinfo=datetime.now().astimezone().tzinfo)),
    ):
        yield


def sale(partner, amount, day=date(2026, 2, 10)):
    SaleFactory(partner=partner, amount=D(amount), invoice_date=day)
    rollups.refresh({(partner.pk, day.replace(day=1))})


class TestOverview:
    def test_programs_with_criteria_and_accrual(self, client_a, partner_a, frozen_today):
        program = RuleFactory(program__name="Growth rebate").program
        sale(partner_a, "76600")
        page = html(client_a.get(reverse("portal:incentives")))
        assert "Growth rebate" in page
        assert "2% on revenue up to 100,000; 4% on revenue above 100,000 (each rate on its own slice)" in page
        assert "Revenue 76,600: 2% on 76,600" in page  # earned so far: 1,532
        assert "1,532.00" in page
        assert "23,400 more revenue this quarter reaches the 4% bracket" in page
        assert program.pk

    def test_only_programs_the_partner_is_in(self, client_a, partner_a, partner_b):
        RuleFactory(program=ProgramFactory(name="Open to all"))
        RuleFactory(program=ProgramFactory(name="Draft idea", status=ProgramStatus.DRAFT))
        beta_only = ProgramFactory(name="Beta only")
        beta_only.partners.set([partner_b])
        distributors = ProgramFactory(name="For distributors", partner_types=["distributor"])
        page = html(client_a.get(reverse("portal:incentives")))
        assert "Open to all" in page
        for hidden in ("Draft idea", "Beta only", distributors.name):
            assert hidden not in page

    def test_tier_progress(self, client_a, partner_a):
        silver, gold = TierFactory(name="Silver", rank=1), TierFactory(name="Gold", rank=2)
        partner_a.tier = silver
        partner_a.save()
        TierRule.objects.create(tier=gold, min_revenue=D("100000"), min_certified_contacts=2)
        page = html(client_a.get(reverse("portal:incentives")))
        assert "100,000 more revenue over the last 12 months reaches Gold" in page
        assert "2 more certified contacts for Gold" in page

    def test_empty_state(self, client_a):
        assert 'id="programs-empty"' in html(client_a.get(reverse("portal:incentives")))


class TestEarningsAndPayouts:
    def test_own_earnings_and_payouts_only(self, client_a, partner_a, partner_b):
        mine = payout_for(partner_a, amount="1234.50", status=PayoutStatus.PAID, reference="SEPA-77")
        other = payout_for(partner_b, amount="999.99")
        page = html(client_a.get(reverse("portal:incentive_earnings")))
        assert "1,234.50" in page
        assert "999.99" not in page
        assert reverse("portal:incentive_payout", args=[mine.pk]) in page
        detail = html(client_a.get(reverse("portal:incentive_payout", args=[mine.pk])))
        assert "SEPA-77" in detail
        assert "Revenue 60,000: 2% on 60,000" in detail
        assert client_a.get(reverse("portal:incentive_payout", args=[other.pk])).status_code == 404

    def test_a_rejected_payout_says_why(self, client_a, partner_a):
        payout = payout_for(partner_a, status=PayoutStatus.REJECTED, reason="Bank details missing")
        assert "Bank details missing" in html(client_a.get(reverse("portal:incentive_payout", args=[payout.pk])))

    def test_query_count_does_not_grow(self, client_a, partner_a, django_assert_max_num_queries):
        for _ in range(3):
            payout_for(partner_a)
        with django_assert_max_num_queries(12):
            client_a.get(reverse("portal:incentive_earnings"))
        for _ in range(15):
            payout_for(partner_a)
        with django_assert_max_num_queries(12):
            assert client_a.get(reverse("portal:incentive_earnings")).status_code == 200


class TestPointsAndRewards:
    def test_balance_and_history(self, client_a, partner_a):
        give_points(partner_a, 2500)
        page = html(client_a.get(reverse("portal:incentive_points")))
        assert "Your balance: <strong>2,500</strong> points" in page
        assert "Welcome points" in page

    def test_catalog_shows_the_rewards_of_the_tier(self, client_a, partner_a):
        silver, gold = TierFactory(name="Silver", rank=1), TierFactory(name="Gold", rank=2)
        partner_a.tier = silver
        partner_a.save()
        RewardFactory(name="Mug for all", points_cost=100)
        RewardFactory(name="Gold lounge").tiers.set([gold])
        RewardFactory(name="Retired item", is_active=False)
        give_points(partner_a, 150)
        page = html(client_a.get(reverse("portal:incentive_rewards")))
        assert "Mug for all" in page
        assert "Gold lounge" not in page
        assert "Retired item" not in page

    def test_redeem_after_confirmation(self, client_a, partner_a, admin_a):
        give_points(partner_a, 500)
        reward = RewardFactory(name="Backpack", points_cost=300, stock=2)
        confirm = client_a.get(reverse("portal:incentive_redeem", args=[reward.pk]))
        assert "It costs 300 points; you have 500." in html(confirm)
        assert "200 points are left afterwards." in html(confirm)
        assert not Redemption.objects.exists()
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        response = client_a.post(url, with_form_token(client_a, url), follow=True)
        redemption = Redemption.objects.get()
        assert response.redirect_chain[-1][0] == reverse("portal:incentive_redemption", args=[redemption.pk])
        assert "“Backpack” is ordered." in html(response)
        assert (redemption.partner, redemption.user, redemption.status) == (partner_a, admin_a, RedemptionStatus.APPROVED)
        assert PointsBalance.objects.get(partner=partner_a).balance == 200
        assert Reward.objects.get(pk=reward.pk).stock == 1

    def test_not_enough_points_is_shown_and_changes_nothing(self, client_a, partner_a):
        give_points(partner_a, 50)
        reward = RewardFactory(name="Headphones", points_cost=300, stock=2)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        response = client_a.post(url, with_form_token(client_a, url))
        assert response.status_code == 400
        assert "Not enough points: 300 needed, 50 available." in html(response)
        assert not Redemption.objects.exists()
        assert Reward.objects.get(pk=reward.pk).stock == 2

    def test_out_of_stock_is_shown(self, client_a, partner_a):
        give_points(partner_a, 500)
        reward = RewardFactory(name="Last one", points_cost=100, stock=0)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        response = client_a.post(url, with_form_token(client_a, url))
        assert response.status_code == 400
        assert "“Last one” is out of stock." in html(response)
        assert PointsBalance.objects.get(partner=partner_a).balance == 500

    def test_high_value_redemption_waits_for_approval(self, client_a, partner_a):
        give_points(partner_a, 20000)
        reward = RewardFactory(name="Trip", points_cost=12000)
        assert "needs approval by your channel manager" in html(client_a.get(reverse("portal:incentive_redeem", args=[reward.pk])))
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        response = client_a.post(url, with_form_token(client_a, url), follow=True)
        assert "waits for approval by your channel manager" in html(response)
        assert Redemption.objects.get().status == RedemptionStatus.PENDING_APPROVAL
        listing = html(client_a.get(reverse("portal:incentive_redemptions")))
        assert "Waiting for approval" in listing

    def test_the_approval_notice_follows_the_threshold(self, client_a, partner_a):
        IncentiveSettings.objects.create(redemption_approval_points=500)
        give_points(partner_a, 2000)
        below = RewardFactory(name="Mug", points_cost=499)
        at_setting = RewardFactory(name="Jacket", points_cost=500)
        own_threshold = RewardFactory(name="Watch", points_cost=900, approval_threshold=1000)
        for reward, notice in ((below, False), (at_setting, True), (own_threshold, False)):
            page = html(client_a.get(reverse("portal:incentive_redeem", args=[reward.pk])))
            assert ('id="needs-approval"' in page) is notice, reward.name
        url = reverse("portal:incentive_redeem", args=[at_setting.pk])
        client_a.post(url, with_form_token(client_a, url))
        assert Redemption.objects.get(reward=at_setting).status == RedemptionStatus.PENDING_APPROVAL

    def test_a_plain_user_redeems_too(self, client, user_a, partner_a):
        client.force_login(user_a)
        give_points(partner_a, 500)
        reward = RewardFactory(points_cost=100)
        url = reverse("portal:incentive_redeem", args=[reward.pk])
        assert client.post(url, with_form_token(client, url)).status_code == 302
        assert Redemption.objects.get().user == user_a

    def test_a_reward_of_another_tier_is_404(self, client_a, partner_a):
        gold = TierFactory(name="Gold", rank=2)
        reward = RewardFactory(name="Gold lounge")
        reward.tiers.set([gold])
        give_points(partner_a, 500)
        assert client_a.get(reverse("portal:incentive_redeem", args=[reward.pk])).status_code == 404
        assert client_a.post(reverse("portal:incentive_redeem", args=[reward.pk])).status_code == 404
        assert not Redemption.objects.exists()


class TestScoping:
    def test_another_partners_redemption_is_404(self, client_b, partner_a, admin_a):
        give_points(partner_a, 500)
        redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(name="Alpha mug", points_cost=100))
        response = client_b.get(reverse("portal:incentive_redemption", args=[redemption.pk]))
        assert response.status_code == 404
        assert "Alpha mug" not in html(client_b.get(reverse("portal:incentive_redemptions")))

    def test_another_partners_payout_is_404(self, client_b, partner_a):
        payout = payout_for(partner_a)
        assert client_b.get(reverse("portal:incentive_payout", args=[payout.pk])).status_code == 404

    def test_managers_are_sent_to_their_own_pages(self, manager_client):
        response = manager_client.get(reverse("portal:incentives"))
        assert response.status_code == 302

    def test_anonymous_users_sign_in_first(self, client):
        response = client.get(reverse("portal:incentive_rewards"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
