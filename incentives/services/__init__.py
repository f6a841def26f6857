"""Every write of incentives: one keyword-only function per use case, atomic, validated, audited.

One module per sub-domain (`programs`, `periods`, `payouts`, `points` with rewards, `tiers`, and
`audit` which they share); this package re-exports the public functions, so callers write
`services.program_create(...)` without knowing which module holds it.

Public services (all raise django ``ValidationError`` with a translatable message on bad input or a
state that does not allow the action):

Programs and rules
    program_create(*, by=None, tiers=(), territories=(), partners=(), **fields) -> Program
    program_update(*, program, by=None, tiers=None, territories=None, partners=None, **fields) -> Program
    program_delete(*, program, by=None) -> None                             (draft programs only)
    rule_add(*, program, kind, params, name="", position=None, by=None) -> Rule   (draft programs only)
    rule_update(*, rule, kind=None, params=None, name=None, position=None, by=None) -> Rule  (draft programs only)
    rule_delete(*, rule, by=None) -> None                                   (draft programs only)
    program_activate(*, program, by=None, today=None) -> Program            (needs at least one rule)
    program_close(*, program, by=None) -> Program
    periods_ensure(*, program, today=None) -> list[ProgramPeriod]           (rows of started periods)

Period close (idempotent; late sales become adjustment lines, closed lines are never edited)
    period_close(*, period, by=None, today=None) -> CloseResult             (refuses a period not yet ended)
    periods_close_due(*, today=None) -> list[CloseResult]                   (the beat task: ended, or changed since)

Payouts (every change writes an AuditEntry with the state before and after)
    payouts_create(*, by=None, partner=None, program=None) -> list[Payout]  (batches unpaid cash lines)
    payout_approve(*, payout, by) -> Payout                                 (pending -> approved)
    payout_mark_paid(*, payout, by, reference) -> Payout                    (approved -> paid)
    payout_reject(*, payout, by, reason) -> Payout                          (pending/approved -> rejected)
    A rejected payout releases its lines: they return to unpaid (payout empty) and the next batch
    takes them again; the payout keeps `line_ids` and its amount, and the audit entry lists them.
    To cancel earnings, write an adjustment (recalculate the period) rather than rejecting.

Points and rewards (a PointsBalance row per partner is locked; CHECK balance >= 0 and stock >= 0)
    points_earn(*, partner, points, expires_on=None, program=None, earning_line=None, note="", by=None) -> PointsEntry
    points_adjust(*, partner, points, by, note, expires_on=None) -> PointsEntry   (negative: FIFO, no overdraft)
    points_expire(*, today=None) -> int                                     (points expired, FIFO per lot)
    redemption_request(*, partner, user, reward) -> Redemption              (approved, or pending_approval
                                                                             when selectors.redemption_needs_approval)
    redemption_approve(*, redemption, by) -> Redemption
    redemption_reject(*, redemption, by, reason) -> Redemption              (refunds points and stock)
    redemption_fulfil(*, redemption, by) -> Redemption
    reward_create(*, by=None, tiers=(), **fields) / reward_update(*, reward, by=None, tiers=None, **fields) -> Reward
    reward_delete(*, reward, by=None) -> None                               (refuses a reward already redeemed)

Tiers (the loyalty score is passed in, or read from `incentives.providers`; see docs/architecture.md)
    tiers_reevaluate(*, today=None) -> list[TierChange]                     (the manager's button: the nightly run's scores)
    tier_rule_save(*, tier, by=None, **fields) -> TierRule                  (create or change a tier's rule)
    tier_rule_delete(*, rule, by=None) -> None
    tiers_evaluate(*, partner=None, loyalty_scores=None, today=None) -> list[TierChange]
        upgrades at once; downgrades after the grace period (TierRule or IncentiveSettings, default 3
        months) counted from the first evaluation that found the partner below its tier; e-mails
        the partner's admins and its account manager after commit. Set-based: the query count does
        not grow with the number of partners (figures read at once, writes in bulk).

Evaluation
    program_simulate(*, program, starts_on, ends_on, rules=None) -> dict    (writes nothing)

Selectors (incentives.selectors, read only):
    programs_for_partner(*, partner) -> QuerySet[Program]
    program_detail(*, program) -> Program
    earning_lines_for(*, partner, program=None) -> QuerySet[EarningLine]
    payouts_for(*, partner) / payout_list(*, status=None) -> QuerySet[Payout]
    payouts_csv(*, payouts) -> str
    points_balance(*, partner) -> int
    points_history(*, partner) -> QuerySet[PointsEntry]
    rewards_for(*, partner) -> QuerySet[Reward]
    redemption_approval_threshold(*, reward) -> int                         (the reward's own, else the setting)
    redemption_needs_approval(*, reward) -> bool                            (points_cost >= that threshold)
    redemptions_for(*, partner) / redemption_list(*, status=None) -> QuerySet[Redemption]
    accrual_preview(*, partner, today=None) -> list[dict]
    tier_progress(*, partner, today=None) -> dict | None
    tier_metrics(*, partner_ids, today) -> dict[int, dict]
    program_roi(*, program, period=None) -> dict
    audit_trail(*, obj) -> QuerySet[AuditEntry]
"""

from .audit import audit, state_of
from .payouts import payout_approve, payout_mark_paid, payout_reject, payouts_create
from .periods import CloseResult, period_close, periods_close_due
from .points import (
    REWARD_FIELDS,
    points_adjust,
    points_earn,
    points_expire,
    redemption_approve,
    redemption_fulfil,
    redemption_reject,
    redemption_request,
    reward_create,
    reward_delete,
    reward_update,
)
from .programs import (
    PROGRAM_FIELDS,
    periods_ensure,
    program_activate,
    program_close,
    program_create,
    program_delete,
    program_simulate,
    program_update,
    rule_add,
    rule_delete,
    rule_update,
)
from .tiers import TIER_RULE_FIELDS, tier_rule_delete, tier_rule_save, tiers_evaluate, tiers_reevaluate

__all__ = [
    "PROGRAM_FIELDS",
    "REWARD_FIELDS",
    "TIER_RULE_FIELDS",
    "CloseResult",
    "audit",
    "payout_approve",
    "payout_mark_paid",
    "payout_reject",
    "payouts_create",
    "period_close",
    "periods_close_due",
    "periods_ensure",
    "points_adjust",
    "points_earn",
    "points_expire",
    "program_activate",
    "program_close",
    "program_create",
    "program_delete",
    "program_simulate",
    "program_update",
    "redemption_approve",
    "redemption_fulfil",
    "redemption_reject",
    "redemption_request",
    "reward_create",
    "reward_delete",
    "reward_update",
    "rule_add",
    "rule_delete",
    "rule_update",
    "state_of",
    "tier_rule_delete",
    "tier_rule_save",
    "tiers_evaluate",
    "tiers_reevaluate",
]
