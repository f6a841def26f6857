"""Payouts, points, redemptions, tiers and evaluation: flows a manager or partner would notice."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from deals.models import DealRegistration, DealStatus
from incentives import selectors, services
from incentives.models import (
    AuditEntry,
    EarningLine,
    IncentiveSettings,
    PayoutStatus,
    PointsKind,
    ProgramPeriod,
    ProgramStatus,
    RedemptionStatus,
    Rule,
    RuleKind,
    TierChange,
    TierRule,
    TierStanding,
)
from partners.models import Partner, PartnerStatus
from sales.imports import rollups
from tests.enablement.factories import CertificationFactory
from tests.partners.factories import PartnerFactory, TierFactory
from tests.sales.factories import SaleFactory

from .factories import ProgramFactory, RewardFactory, RuleFactory

pytestmark = pytest.mark.django_db
D = Decimal
AFTER_Q1 = date(2026, 4, 2)


def sale(partner, amount, day=date(2026, 2, 10), **kwargs):
    created = SaleFactory(partner=partner, amount=D(amount), invoice_date=day, **kwargs)
    rollups.refresh({(partner.pk, day.replace(day=1))})
    return created


def closed_q1(program):
    services.periods_ensure(program=program, today=AFTER_Q1)
    period = ProgramPeriod.objects.get(program=program, starts_on=date(2026, 1, 1))
    return services.period_close(period=period, today=AFTER_Q1).period


# --- Payouts --------------------------------------------------------------------------------


@pytest.fixture
def payout(partner_a, manager_user):
    program = RuleFactory().program
    sale(partner_a, "50000")
    closed_q1(program)
    (payout,) = services.payouts_create(by=manager_user)
    return payout


def test_unpaid_cash_lines_are_batched_once(payout, partner_a, manager_user):
    assert payout.amount == D("1000.00")
    assert list(payout.lines.values_list("amount", flat=True)) == [D("1000.00")]
    assert services.payouts_create(by=manager_user) == []


def test_approve_then_mark_paid_is_audited(payout, manager_user):
    services.payout_approve(payout=payout, by=manager_user)
    with pytest.raises(ValidationError) as error:
        services.payout_mark_paid(payout=payout, by=manager_user, reference="  ")
    assert error.value.message_dict == {"reference": ["Enter the payment reference."]}
    paid = services.payout_mark_paid(payout=payout, by=manager_user, reference="SEPA-2026-0042")

    assert (paid.status, paid.reference, paid.paid_by) == (PayoutStatus.PAID, "SEPA-2026-0042", manager_user)
    trail = list(selectors.audit_trail(obj=paid).order_by("pk"))
    assert [entry.action for entry in trail] == ["payout_create", "payout_approve", "payout_paid"]
    assert trail[-1].actor == manager_user
    assert trail[-1].before["status"] == "approved"
    assert trail[-1].after["status"] == "paid"
    assert trail[-1].after["reference"] == "SEPA-2026-0042"
    with pytest.raises(ValidationError) as error:
        services.payout_approve(payout=paid, by=manager_user)
    assert error.value.messages == ["Only a pending payout can be approved; this one is Paid."]


def test_rejected_payout_returns_its_lines_to_unpaid(payout, manager_user):
    with pytest.raises(ValidationError):
        services.payout_reject(payout=payout, by=manager_user, reason="")
    rejected = services.payout_reject(payout=payout, by=manager_user, reason="Bank details missing")

    assert rejected.status == PayoutStatus.REJECTED
    assert rejected.line_ids == list(EarningLine.objects.values_list("pk", flat=True))
    assert EarningLine.objects.filter(payout__isnull=True).count() == 1
    assert AuditEntry.objects.filter(action="payout_reject", object_id=payout.pk).get().after["reason"] == "Bank details missing"
    (again,) = services.payouts_create(by=manager_user)
    assert again.amount == D("1000.00")


def test_payouts_csv_for_finance(payout, partner_a):
    partner_a.name = "=cmd|evil"
    partner_a.save()
    lines = selectors.payouts_csv(payouts=selectors.payout_list()).splitlines()
    assert lines[0].startswith("payout,partner,partner external ID,program,amount,status")
    assert f"{payout.pk},'=cmd|evil,{partner_a.external_id}," in lines[1]
    assert ",1000.00,pending," in lines[1]


# --- Points and redemptions -----------------------------------------------------------------


def test_points_expire_first_in_first_out(partner_a, manager_user):
    services.points_earn(partner=partner_a, points=100, expires_on=date(2026, 6, 30))
    services.points_earn(partner=partner_a, points=50, expires_on=date(2026, 12, 31))
    services.points_adjust(partner=partner_a, points=-120, by=manager_user, note="Correction")  # 100 from lot 1, 20 from lot 2

    assert services.points_expire(today=date(2026, 6, 30)) == 0  # lot 1 is empty already
    assert services.points_expire(today=date(2026, 12, 31)) == 30
    assert selectors.points_balance(partner=partner_a) == 0
    assert services.points_expire(today=date(2027, 1, 1)) == 0
    kinds = list(selectors.points_history(partner=partner_a).order_by("pk").values_list("kind", "points"))
    assert kinds == [(PointsKind.EARN, 100), (PointsKind.EARN, 50), (PointsKind.ADJUST, -120), (PointsKind.EXPIRE, -30)]


def test_redemption_under_the_threshold_is_approved_at_once(partner_a, admin_a):
    services.points_earn(partner=partner_a, points=500)
    reward = RewardFactory(points_cost=300, stock=2)
    redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    assert redemption.status == RedemptionStatus.APPROVED
    assert selectors.points_balance(partner=partner_a) == 200
    reward.refresh_from_db()
    assert reward.stock == 1
    with pytest.raises(ValidationError) as error:
        services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    assert error.value.messages == ["Not enough points: 300 needed, 200 available."]


def test_high_value_redemption_waits_and_rejection_refunds(partner_a, admin_a, manager_user):
    services.points_earn(partner=partner_a, points=20000, expires_on=date(2027, 1, 1))
    reward = RewardFactory(points_cost=15000, stock=1)
    redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    assert redemption.status == RedemptionStatus.PENDING_APPROVAL  # default threshold 10,000
    assert selectors.points_balance(partner=partner_a) == 5000

    services.redemption_reject(redemption=redemption, by=manager_user, reason="Travel season is full")

    assert selectors.points_balance(partner=partner_a) == 20000
    reward.refresh_from_db()
    assert reward.stock == 1
    assert services.points_expire(today=date(2027, 1, 1)) == 20000  # the refunded points keep their lot's expiry


def test_out_of_stock_and_tier_restricted_rewards(partner_a, admin_a):
    services.points_earn(partner=partner_a, points=1000)
    with pytest.raises(ValidationError) as error:
        services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(name="Drone", stock=0))
    assert error.value.messages == ["“Drone” is out of stock."]
    gold_only = RewardFactory()
    gold_only.tiers.set([TierFactory(rank=9, name="Gold")])
    with pytest.raises(ValidationError) as error:
        services.redemption_request(partner=partner_a, user=admin_a, reward=gold_only)
    assert error.value.messages == ["This reward is not available to your partner tier."]
    assert selectors.points_balance(partner=partner_a) == 1000


def test_approve_then_fulfil(partner_a, admin_a, manager_user):
    services.points_earn(partner=partner_a, points=100)
    reward = RewardFactory(points_cost=100, approval_threshold=50)
    redemption = services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    services.redemption_approve(redemption=redemption, by=manager_user)
    fulfilled = services.redemption_fulfil(redemption=redemption, by=manager_user)
    assert fulfilled.status == RedemptionStatus.FULFILLED
    assert [e.action for e in selectors.audit_trail(obj=fulfilled).order_by("pk")] == [
        "redemption_request",
        "redemption_approve",
        "redemption_fulfil",
    ]


# --- Tiers ----------------------------------------------------------------------------------


@pytest.fixture
def tiers():
    silver, gold = TierFactory(rank=1, name="Silver"), TierFactory(rank=2, name="Gold")
    TierRule.objects.create(tier=silver)
    TierRule.objects.create(tier=gold, min_revenue=D("100000"), min_certified_contacts=1, min_approved_deals=1)
    return silver, gold


def _qualify_for_gold(partner):
    sale(partner, "120000", day=date(2026, 1, 15))
    CertificationFactory(contact__partner=partner, earned_on=date(2026, 1, 1))
    DealRegistration.objects.create(partner=partner, title="Hospital WAN", status=DealStatus.APPROVED, registered_on=date(2026, 1, 5))


def test_upgrade_is_immediate_and_notified(tiers, partner_a, admin_a, manager_user, django_capture_on_commit_callbacks):
    silver, gold = tiers
    partner_a.tier, partner_a.account_manager = silver, manager_user
    partner_a.save()
    _qualify_for_gold(partner_a)

    with django_capture_on_commit_callbacks(execute=True):
        (change,) = services.tiers_evaluate(partner=partner_a, today=date(2026, 2, 1))

    partner_a.refresh_from_db()
    assert partner_a.tier == gold
    assert (change.from_tier, change.to_tier, change.reason) == (silver, gold, "Qualifies for Gold.")
    (email,) = mail.outbox
    assert sorted(email.to) == sorted([admin_a.email, manager_user.email])
    assert email.subject == "Alpha Resellers B.V. is now Gold"


def test_downgrade_waits_for_the_grace_period(tiers, partner_a):
    silver, gold = tiers
    partner_a.tier = gold
    partner_a.save()
    sale(partner_a, "120000", day=date(2025, 1, 15))  # outside the trailing 12 months by 2026

    assert services.tiers_evaluate(partner=partner_a, today=date(2026, 2, 1)) == []
    assert services.tiers_evaluate(partner=partner_a, today=date(2026, 4, 30)) == []
    (change,) = services.tiers_evaluate(partner=partner_a, today=date(2026, 5, 1))  # three months later

    partner_a.refresh_from_db()
    assert partner_a.tier == silver
    assert change.reason == "Below the requirements of Gold since Feb. 1, 2026; the grace period of 3 months is over."
    assert TierChange.objects.filter(partner=partner_a).count() == 1


def test_grace_period_restarts_when_the_partner_qualifies_again(tiers, partner_a):
    silver, gold = tiers
    partner_a.tier = gold
    partner_a.save()
    IncentiveSettings.objects.create(downgrade_grace_months=1)
    services.tiers_evaluate(partner=partner_a, today=date(2026, 1, 10))
    _qualify_for_gold(partner_a)
    services.tiers_evaluate(partner=partner_a, today=date(2026, 1, 20))
    assert partner_a.tier_standing.below_since is None


def test_loyalty_score_is_passed_in(tiers, partner_a):
    silver, gold = tiers
    TierRule.objects.filter(tier=gold).update(min_loyalty_score=70)
    partner_a.tier = silver
    partner_a.save()
    _qualify_for_gold(partner_a)
    assert services.tiers_evaluate(partner=partner_a, loyalty_scores={partner_a.pk: 65}, today=date(2026, 2, 1)) == []
    (change,) = services.tiers_evaluate(partner=partner_a, loyalty_scores={partner_a.pk: 71}, today=date(2026, 2, 1))
    assert change.to_tier == gold


def _tier_movers(count, silver, gold):
    """`count` partners whose tier changes on Feb 1, 2026: every other one qualifies for Gold (an upgrade,
    no standing yet); the others are Gold, below it since Oct 1, 2025 (a downgrade: the 3-month grace is over)."""
    movers = []
    for n in range(count):
        if n % 2 == 0:
            partner = PartnerFactory(tier=silver)
            _qualify_for_gold(partner)
        else:
            partner = PartnerFactory(tier=gold)
            below_since, evaluated_on = date(2025, 10, 1), date(2026, 1, 1)
            TierStanding.objects.create(partner=partner, qualified_tier=silver, below_since=below_since, evaluated_on=evaluated_on)
        movers.append(partner)
    return movers


def test_tier_evaluation_query_count_does_not_grow_with_partners(tiers, django_assert_num_queries, django_capture_on_commit_callbacks):
    silver, gold = tiers
    IncentiveSettings.load()
    first = _tier_movers(3, silver, gold)
    # savepoint, tier rules, settings, partners, 3 figures (sales, certifications, deals), standings,
    # lock the moved partners, their tiers, existing standings, new standings, tier changes, release
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(14) as small:
        changes = services.tiers_evaluate(today=date(2026, 2, 1))
    assert (len(changes), len(callbacks)) == (3, 3)

    Partner.objects.filter(pk__in=[p.pk for p in first]).update(status=PartnerStatus.CHURNED)
    many = _tier_movers(30, silver, gold)
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(len(small.captured_queries)):
        changes = services.tiers_evaluate(today=date(2026, 2, 1))
    assert (len(changes), len(callbacks)) == (30, 30)  # one notification per change

    tiers_now = dict(Partner.objects.filter(pk__in=[p.pk for p in many]).values_list("pk", "tier_id"))
    assert [tiers_now[p.pk] for p in many] == [gold.pk if n % 2 == 0 else silver.pk for n in range(30)]
    assert TierChange.objects.filter(partner__in=many).count() == 30
    down = TierChange.objects.get(partner=many[1])
    assert (down.from_tier, down.to_tier) == (gold, silver)
    assert down.reason == "Below the requirements of Gold since Oct. 1, 2025; the grace period of 3 months is over."
    up = TierChange.objects.get(partner=many[0])
    assert (up.from_tier, up.to_tier, up.reason) == (silver, gold, "Qualifies for Gold.")
    standings = TierStanding.objects.filter(partner__in=many)
    assert standings.count() == 30
    assert set(standings.values_list("below_since", "evaluated_on")) == {(None, date(2026, 2, 1))}
    assert standings.get(partner=many[0]).metrics == {
        "revenue_12m": "120000.0000",
        "certified_contacts": "1",
        "approved_deals": "1",
        "loyalty_score": None,
    }


def test_partners_below_their_tier_start_the_grace_period_and_keep_their_tier(tiers):
    silver, gold = tiers
    below = [PartnerFactory(tier=gold) for _ in range(3)]  # no figures: below Gold from today on
    assert services.tiers_evaluate(today=date(2026, 2, 1)) == []
    assert set(TierStanding.objects.filter(partner__in=below).values_list("qualified_tier", "below_since")) == {
        (silver.pk, date(2026, 2, 1))
    }
    assert set(Partner.objects.filter(pk__in=[p.pk for p in below]).values_list("tier", flat=True)) == {gold.pk}


# --- Redemption approval --------------------------------------------------------------------


def test_redemption_needs_approval_from_the_rewards_threshold_or_the_setting():
    IncentiveSettings.objects.create(redemption_approval_points=1000)
    assert selectors.redemption_approval_threshold(reward=RewardFactory(points_cost=10)) == 1000
    assert selectors.redemption_needs_approval(reward=RewardFactory(points_cost=999)) is False
    assert selectors.redemption_needs_approval(reward=RewardFactory(points_cost=1000)) is True  # "at least"
    own = RewardFactory(points_cost=300, approval_threshold=300)
    assert (selectors.redemption_approval_threshold(reward=own), selectors.redemption_needs_approval(reward=own)) == (300, True)
    assert selectors.redemption_needs_approval(reward=RewardFactory(points_cost=5000, approval_threshold=6000)) is False


def test_the_request_follows_the_selector(partner_a, admin_a):
    IncentiveSettings.objects.create(redemption_approval_points=1000)
    services.points_earn(partner=partner_a, points=5000)
    for cost, status in ((999, RedemptionStatus.APPROVED), (1000, RedemptionStatus.PENDING_APPROVAL)):
        reward = RewardFactory(points_cost=cost)
        assert selectors.redemption_needs_approval(reward=reward) is (status == RedemptionStatus.PENDING_APPROVAL)
        assert services.redemption_request(partner=partner_a, user=admin_a, reward=reward).status == status


# --- Programs, preview, evaluation ----------------------------------------------------------


def test_rules_of_a_running_program_are_frozen():
    program = ProgramFactory(status=ProgramStatus.ACTIVE)
    with pytest.raises(ValidationError) as error:
        services.rule_add(program=program, kind=RuleKind.MDF, params={"percent": 1})
    assert error.value.messages == ["The rules of an active or closed program cannot change: partners rely on the published criteria."]


def test_program_dates_and_rule_params_are_validated(manager_user):
    with pytest.raises(ValidationError) as error:
        services.program_create(by=manager_user, name="Bad", starts_on=date(2026, 3, 1), ends_on=date(2026, 1, 1))
    assert error.value.message_dict["ends_on"] == ["The end date cannot be before the start date."]
    program = services.program_create(by=manager_user, name="Draft", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    with pytest.raises(ValidationError) as error:
        services.rule_add(program=program, kind=RuleKind.MDF, params={"percent": -1})
    assert error.value.messages == ["The MDF percentage cannot be negative."]
    with pytest.raises(ValidationError) as error:
        services.program_activate(program=program, by=manager_user)
    assert error.value.messages == ["Add at least one rule before activating the program."]


def test_accrual_preview_shows_earned_so_far_and_what_is_missing(partner_a):
    program = RuleFactory(program__starts_on=date(2026, 10, 1)).program
    sale(partner_a, "76600", day=date(2026, 10, 5))
    (item,) = selectors.accrual_preview(partner=partner_a, today=date(2026, 11, 15))
    assert item["program"] == program
    assert (item["starts_on"], item["ends_on"]) == (date(2026, 10, 1), date(2026, 12, 31))
    assert item["amount"] == D("1532.00")
    assert [hint["message"] for hint in item["next"]] == ["23,400 more revenue this quarter reaches the 4% bracket"]


def test_simulation_writes_nothing_and_roi_compares_groups(partner_a, partner_b):
    program = ProgramFactory(status=ProgramStatus.DRAFT, period="monthly")
    RuleFactory(program=program)
    sale(partner_a, "10000", day=date(2026, 1, 10))
    sale(partner_a, "20000", day=date(2026, 2, 10))
    sale(partner_b, "5000", day=date(2026, 1, 10))
    sale(partner_b, "-5000", day=date(2026, 2, 11))

    result = services.program_simulate(program=program, starts_on=date(2026, 2, 1), ends_on=date(2026, 2, 28))

    assert EarningLine.objects.count() == 0
    assert result["cost"] == D("400.00")
    assert result["payouts"][partner_a.pk]["cash"] == D("400.00")
    assert result["participants"] == {"count": 1, "revenue": D("20000"), "previous": D("10000"), "growth": D("1.0000")}
    assert result["non_participants"]["revenue"] == D("-5000")
    assert result["uplift"] == D("30000")  # the others fell 200%: 10,000 x (1 - 2) expected
    unsaved = [Rule(kind=RuleKind.MDF, params={"percent": "1"})]
    assert services.program_simulate(program=program, starts_on=date(2026, 2, 1), ends_on=date(2026, 2, 28), rules=unsaved)["cost"] == D(
        "200.00"
    )


def test_program_roi_of_closed_periods(partner_a):
    program = RuleFactory().program
    sale(partner_a, "50000")
    PartnerFactory()
    closed_q1(program)
    roi = selectors.program_roi(program=program)
    assert roi["periods"] == 1
    assert roi["cost"] == D("1000.00")
    assert roi["participants"]["count"] == 1
