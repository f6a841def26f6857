"""`manage.py seed_incentives`: the incentives of the demo world (run after `seed_demo`'s partners and sales).

Creates two running programs that started last quarter, so the previous quarter is a closed past
period with earnings:

- "Quarterly growth rebate" for resellers, VARs and MSPs: a marginal revenue rebate (2% up to
  100,000, 3% up to 250,000, 4% above) and a growth bonus (1,500 for 10% growth over last year);
- "Partner points" for every partner: 1 point per 10 currency units of revenue, for the catalog.

Then it closes last quarter of both, batches the rebate into payouts and leaves them in every state
(pending, approved, paid, rejected), fills the reward catalog, and places some redemptions (one
waiting for approval, one fulfilled, one rejected), all through `incentives.services`.

Repeatable and idempotent: programs and rewards are found by name, payouts and redemptions are made
only when the demo programs have none yet, and choices come from a generator with a fixed seed over
rows in a fixed order. Closing a closed period writes nothing when the sales did not change. A second
run therefore adds and changes nothing.
"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from core.dates import quarter_start, shift_months
from incentives import services
from incentives.models import (
    PayoutStatus,
    PointsBalance,
    Program,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardKind,
    RuleKind,
)
from partners.models import Membership, Partner, PartnerType, Tier

SEED = 20260401
MANAGER_USERNAME = "manager@demo.partnerloop.test"
REBATE = "Quarterly growth rebate"
POINTS = "Partner points"

PROGRAMS = [
    {
        "name": REBATE,
        "description": "Grow with us: a rebate on every quarter's invoiced revenue that rises with your volume, and a bonus "
        "when you beat last year's quarter by 10% or more.",
        "partner_types": [PartnerType.RESELLER, PartnerType.VAR, PartnerType.MSP],
        "budget": "400000",
        "rules": [
            (
                "Volume rebate",
                RuleKind.REVENUE_REBATE,
                {
                    "mode": "marginal",
                    "brackets": [
                        {"from": "0", "to": "100000", "rate": "2"},
                        {"from": "100000", "to": "250000", "rate": "3"},
                        {"from": "250000", "to": None, "rate": "4"},
                    ],
                },
            ),
            ("Growth bonus", RuleKind.GROWTH_BONUS, {"min_growth_percent": "10", "bonus_type": "fixed", "bonus": "1500"}),
        ],
    },
    {
        "name": POINTS,
        "description": "Every sale earns points for the reward catalog: gift cards, merchandise, travel and exclusive access.",
        "partner_types": [],
        "budget": None,
        "rules": [("Points on revenue", RuleKind.POINTS, {"points_per_unit": "0.1"})],
    },
]

REWARDS = [
    # name, kind, points, stock, top tiers only, approval threshold, description
    ("Gift card 50", RewardKind.GIFT_CARD, 1500, None, False, None, "A 50 gift card of a large online store."),
    ("Branded backpack", RewardKind.MERCHANDISE, 2500, 40, False, None, "A laptop backpack with the partner programme logo."),
    ("Noise-cancelling headphones", RewardKind.MERCHANDISE, 6000, 15, False, None, "Wireless headphones for the road."),
    (
        "Partner summit pass",
        RewardKind.EXCLUSIVE_ACCESS,
        8000,
        25,
        True,
        5000,
        "A seat at the yearly partner summit, with the roadmap day.",
    ),
    ("Incentive trip to Lisbon", RewardKind.TRAVEL, 30000, 4, True, None, "Three days in Lisbon with other top partners."),
]

PAYOUT_STATES = [PayoutStatus.PENDING, PayoutStatus.APPROVED, PayoutStatus.PAID, PayoutStatus.REJECTED]


class Command(BaseCommand):
    help = "Create the demo incentive programs, a closed past period with earnings, payouts, rewards and redemptions (idempotent)."

    def handle(self, *args, **options):
        with scopes_disabled():
            if not Partner.objects.exists():
                raise CommandError("No partners: run seed_demo first (seed_incentives needs its partners and sales).")
            today = timezone.localdate()
            manager = get_user_model().objects.filter(username=MANAGER_USERNAME).first()
            rng = random.Random(SEED)
            programs = [self._program(spec, today, manager) for spec in PROGRAMS]
            closed = self._close_last_quarter(programs, today, manager)
            payouts = self._payouts(programs[0], manager, rng)
            rewards = self._rewards()
            redemptions = self._redemptions(programs[1], rewards, manager, rng)
        self.stdout.write(
            f"Incentives: {len(programs)} programs, {closed} earning lines written, {payouts} payouts, "
            f"{len(rewards)} rewards, {redemptions} redemptions created."
        )

    def _program(self, spec, today, manager):
        program = Program.objects.filter(name=spec["name"]).first()
        if program is not None:
            return program
        starts_on = shift_months(quarter_start(today), -3)
        with transaction.atomic():
            program = services.program_create(
                by=manager,
                name=spec["name"],
                description=spec["description"],
                period="quarterly",
                starts_on=starts_on,
                ends_on=shift_months(starts_on, 24) - timedelta(days=1),
                partner_types=list(spec["partner_types"]),
                budget=spec["budget"],
                earning_basis="invoiced",
            )
            for name, kind, params in spec["rules"]:
                services.rule_add(program=program, kind=kind, params=params, name=name)
            program = services.program_activate(program=program, by=manager, today=today)
        return program

    def _close_last_quarter(self, programs, today, manager):
        written = 0
        for program in programs:
            if program.status == ProgramStatus.DRAFT:
                continue
            services.periods_ensure(program=program, today=today)
            for period in program.periods.filter(ends_on__lt=today, closed_at__isnull=True).order_by("starts_on"):
                written += len(services.period_close(period=period, by=manager, today=today).created)
        return written

    def _payouts(self, program, manager, rng):
        if program.payouts.exists():
            return 0
        payouts = services.payouts_create(by=manager, program=program)
        for index, payout in enumerate(payouts):
            state = PAYOUT_STATES[index % len(PAYOUT_STATES)] if index < len(PAYOUT_STATES) else rng.choice(PAYOUT_STATES)
            if state in (PayoutStatus.APPROVED, PayoutStatus.PAID):
                services.payout_approve(payout=payout, by=manager)
            if state == PayoutStatus.PAID:
                services.payout_mark_paid(payout=payout, by=manager, reference=f"SEPA-{payout.created_at:%Y%m}-{payout.pk:05d}")
            if state == PayoutStatus.REJECTED:
                services.payout_reject(payout=payout, by=manager, reason="The quarter's invoices are being checked with the distributor.")
        return len(payouts)

    def _rewards(self):
        top_tiers = list(Tier.objects.order_by("-rank")[:2])
        rewards = []
        for name, kind, points, stock, top_only, threshold, description in REWARDS:
            reward = Reward.objects.filter(name=name).first()
            if reward is None:
                reward = Reward.objects.create(
                    name=name, kind=kind, points_cost=points, stock=stock, approval_threshold=threshold, description=description
                )
                if top_only:
                    reward.tiers.set(top_tiers)
            rewards.append(reward)
        return rewards

    def _redemptions(self, program, rewards, manager, rng):
        if Redemption.objects.filter(reward__in=rewards).exists():
            return 0
        balances = list(PointsBalance.objects.filter(balance__gt=0).select_related("partner__tier").order_by("-balance", "partner_id")[:12])
        users = {}
        for membership in Membership.objects.filter(partner_id__in=[b.partner_id for b in balances]).select_related("user").order_by("pk"):
            users.setdefault(membership.partner_id, membership.user)
        created = []
        for balance in balances:
            partner = balance.partner
            affordable = [
                r for r in Reward.objects.available_to(partner).filter(pk__in=[r.pk for r in rewards]) if r.points_cost <= balance.balance
            ]
            if not affordable:
                continue
            reward = max(affordable, key=lambda r: r.points_cost) if not created else rng.choice(sorted(affordable, key=lambda r: r.pk))
            if reward.stock == 0:
                continue
            created.append(services.redemption_request(partner=partner, user=users.get(partner.pk), reward=reward))
        # One of every state: the first approved one is fulfilled, the second rejected, pending ones wait.
        approved = [r for r in created if r.status == RedemptionStatus.APPROVED]
        if approved:
            services.redemption_fulfil(redemption=approved[0], by=manager)
        if len(approved) > 1:
            services.redemption_reject(redemption=approved[1], by=manager, reason="This item is no longer available in your country.")
        return len(created)
