"""Browser journeys of incentives: a manager approves and pays a payout; a partner user redeems a reward."""

import pytest
from playwright.sync_api import expect

from incentives.models import Payout, PayoutStatus, Redemption, RedemptionStatus
from partners.models import MembershipRole
from tests.incentives.factories import RewardFactory, give_points, payout_for
from tests.partners.factories import PASSWORD, ManagerFactory, MembershipFactory, PartnerFactory

from .conftest import assert_front_end_loaded, login

pytestmark = [pytest.mark.e2e]


def test_manager_approves_and_pays_a_payout(page):
    manager = ManagerFactory(username="maria@vendor.test")
    payout = payout_for(PartnerFactory(name="Alpha Resellers B.V."), amount="1234.50")

    login(page, manager.username, PASSWORD, lands_on="/partners/")
    page.get_by_role("link", name="Incentives").first.click()
    page.wait_for_url("**/incentives/")
    page.locator("#incentive-nav").get_by_role("link", name="Payouts").click()
    row = page.locator(f"#payout-table tr[data-payout='{payout.pk}']")
    expect(row).to_contain_text("Alpha Resellers B.V.")
    row.get_by_role("link", name="Approve").click()
    expect(page.locator("#confirmation")).to_contain_text("1,234.50")
    page.get_by_role("button", name="Yes, approve").click()
    page.wait_for_url(f"**/incentives/payouts/{payout.pk}/")
    expect(page.locator(".alert-success")).to_contain_text("approved")
    assert_front_end_loaded(page)

    page.fill("#mark-paid [name=reference]", "SEPA-2026-0042")
    page.locator("#mark-paid [type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("SEPA-2026-0042")
    expect(page.locator("#audit")).to_contain_text("payout_paid")
    payout.refresh_from_db()
    assert (payout.status, payout.reference) == (PayoutStatus.PAID, "SEPA-2026-0042")
    assert Payout.objects.filter(status=PayoutStatus.PAID).count() == 1


def test_partner_user_redeems_a_reward(page):
    alpha = PartnerFactory(name="Alpha Resellers B.V.")
    user = MembershipFactory(partner=alpha, role=MembershipRole.USER, user__username="user@alpha.test").user
    give_points(alpha, 800)
    reward = RewardFactory(name="Branded backpack", points_cost=500, stock=3)
    RewardFactory(name="Noise-cancelling headphones", points_cost=6000)

    login(page, user.username, PASSWORD, lands_on="/portal/")
    page.get_by_role("link", name="Incentives").click()
    page.wait_for_url("**/portal/incentives/")
    page.locator("#incentive-nav").get_by_role("link", name="Rewards").click()
    card = page.locator(f"[data-reward='{reward.pk}']")
    expect(page.locator("#reward-catalog")).to_contain_text("Not enough points yet")
    card.get_by_role("link", name="Redeem").click()
    expect(page.locator("#confirmation")).to_contain_text("It costs 500 points; you have 800.")
    page.get_by_role("button", name="Yes, redeem").click()
    page.wait_for_url("**/portal/incentives/redemptions/*/")
    expect(page.locator(".alert-success")).to_contain_text("“Branded backpack” is ordered.")
    assert_front_end_loaded(page)

    page.locator("#incentive-nav").get_by_role("link", name="Points").click()
    expect(page.locator("#points-balance")).to_contain_text("300")
    redemption = Redemption.objects.get()
    assert (redemption.user, redemption.status) == (user, RedemptionStatus.APPROVED)
