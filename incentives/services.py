"""Every write of incentives: one keyword-only function per use case, atomic, validated, audited.

Public services (all raise django ``ValidationError`` with a translatable message on bad input or a
state that does not allow the action):

Programs and rules
    program_create(*, by=None, tiers=(), territories=(), partners=(), **fields) -> Program
    program_update(*, program, by=None, tiers=None, territories=None, partners=None, **fields) -> Program
    rule_add(*, program, kind, params, name="", position=None) -> Rule      (draft programs only)
    rule_update(*, rule, params=None, name=None, position=None) -> Rule     (draft programs only)
    rule_delete(*, rule) -> None                                            (draft programs only)
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

Tiers (the loyalty score is passed in; see ARCHITECTURE.md)
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

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.dates import shift_months
from core.tasks import enqueue_after_commit
from partners.models import Partner, PartnerStatus

from . import engine, selectors
from .models import (
    AuditEntry,
    EarningLine,
    IncentiveSettings,
    LineKind,
    Payout,
    PayoutStatus,
    PointsBalance,
    PointsEntry,
    PointsKind,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardType,
    Rule,
    TierChange,
    TierRule,
    TierStanding,
)
from .rules import fmt, validate_rule

ZERO = Decimal("0")
PROGRAM_FIELDS = (
    "name",
    "description",
    "period",
    "starts_on",
    "ends_on",
    "partner_types",
    "budget",
    "earning_basis",
    "points_expiry_months",
)


# --- Audit -----------------------------------------------------------------------------------


def _state(obj, fields):
    state = {}
    for name in fields:
        value = getattr(obj, name)
        state[name] = value.isoformat() if hasattr(value, "isoformat") else (str(value) if isinstance(value, Decimal) else value)
    return state


PAYOUT_STATE = ("status", "amount", "reference", "reason", "line_ids", "approved_by_id", "paid_by_id", "rejected_by_id")
REDEMPTION_STATE = ("status", "points", "reason", "decided_by_id")
PROGRAM_STATE = ("name", "status", "starts_on", "ends_on", "earning_basis", "budget")


def audit(*, actor, action, obj, before=None, after=None):
    """Write who changed what, when, with the state before and after."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        before=before,
        after=after,
    )


# --- Programs and rules ----------------------------------------------------------------------


def _check_fields(fields):
    unknown = set(fields) - set(PROGRAM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown program fields: {sorted(unknown)}")


@transaction.atomic
def program_create(*, by=None, tiers=(), territories=(), partners=(), **fields) -> Program:
    _check_fields(fields)
    program = Program(**fields)
    program.full_clean()
    program.save()
    program.tiers.set(tiers)
    program.territories.set(territories)
    program.partners.set(partners)
    audit(actor=by, action="program_create", obj=program, after=_state(program, PROGRAM_STATE))
    return program


@transaction.atomic
def program_update(*, program, by=None, tiers=None, territories=None, partners=None, **fields) -> Program:
    """Update a program; once active only its texts, budget and end date may change (criteria are published)."""
    _check_fields(fields)
    program = Program.objects.select_for_update().get(pk=program.pk)
    before = _state(program, PROGRAM_STATE)
    if program.status != ProgramStatus.DRAFT:
        frozen = set(fields) - {"name", "description", "budget", "ends_on"}
        if frozen or tiers is not None or territories is not None or partners is not None:
            raise ValidationError(_("Only the name, description, budget and end date of a running program can change."))
        if "ends_on" in fields and program.periods.filter(closed_at__isnull=False, ends_on__gt=fields["ends_on"]).exists():
            raise ValidationError({"ends_on": _("The program cannot end before a period that is already closed.")})
    for name, value in fields.items():
        setattr(program, name, value)
    program.full_clean()
    program.save()
    for relation, values in (("tiers", tiers), ("territories", territories), ("partners", partners)):
        if values is not None:
            getattr(program, relation).set(values)
    audit(actor=by, action="program_update", obj=program, before=before, after=_state(program, PROGRAM_STATE))
    return program


def _require_draft(program):
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("The rules of an active or closed program cannot change: partners rely on the published criteria."))


@transaction.atomic
def rule_add(*, program, kind, params, name="", position=None) -> Rule:
    _require_draft(program)
    cleaned = validate_rule(kind, params)
    if position is None:
        position = (program.rules.aggregate(top=Max("position"))["top"] or 0) + 1
    return Rule.objects.create(program=program, kind=kind, params=cleaned, name=name, position=position)


@transaction.atomic
def rule_update(*, rule, params=None, name=None, position=None) -> Rule:
    _require_draft(rule.program)
    if params is not None:
        rule.params = validate_rule(rule.kind, params)
    if name is not None:
        rule.name = name
    if position is not None:
        rule.position = position
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, rule) -> None:
    _require_draft(rule.program)
    rule.delete()


@transaction.atomic
def program_activate(*, program, by=None, today=None) -> Program:
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("Only a draft program can be activated."))
    if not program.rules.exists():
        raise ValidationError(_("Add at least one rule before activating the program."))
    for rule in program.rules.all():
        validate_rule(rule.kind, rule.params)
    before = _state(program, PROGRAM_STATE)
    program.status = ProgramStatus.ACTIVE
    program.save(update_fields=["status", "updated_at"])
    periods_ensure(program=program, today=today)
    audit(actor=by, action="program_activate", obj=program, before=before, after=_state(program, PROGRAM_STATE))
    return program


@transaction.atomic
def program_close(*, program, by=None) -> Program:
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.status != ProgramStatus.ACTIVE:
        raise ValidationError(_("Only an active program can be closed."))
    before = _state(program, PROGRAM_STATE)
    program.status = ProgramStatus.CLOSED
    program.save(update_fields=["status", "updated_at"])
    audit(actor=by, action="program_close", obj=program, before=before, after=_state(program, PROGRAM_STATE))
    return program


def periods_ensure(*, program, today=None) -> list:
    """Create the period rows of every period that has started (idempotent)."""
    today = today or timezone.localdate()
    ranges = engine.period_ranges(program, today)
    ProgramPeriod.objects.bulk_create(
        [ProgramPeriod(program=program, starts_on=start, ends_on=end) for start, end in ranges], ignore_conflicts=True
    )
    return list(program.periods.order_by("starts_on"))


# --- Period close ----------------------------------------------------------------------------


@dataclass
class CloseResult:
    period: ProgramPeriod
    created: list = field(default_factory=list)
    first_close: bool = False

    @property
    def adjustments(self):
        return [line for line in self.created if line.kind == LineKind.ADJUSTMENT]


def _value_text(amount, points):
    if points and not amount:
        return _("%(points)s points") % {"points": fmt(points)}
    return fmt(amount)


@transaction.atomic
def period_close(*, period, by=None, today=None) -> CloseResult:
    """Close (or recalculate) a period: write what each partner earned that is not in the ledger yet.

    The first close writes normal lines. Any later run compares what the rules give now with the
    sum of the lines already written for each (partner, rule, reward) and writes only the
    difference as an adjustment line, so running it twice writes nothing the second time.
    Non-cash qualifications (trip, exclusive access) are granted once and never withdrawn.
    """
    today = today or timezone.localdate()
    # Lock the period: two closes of the same period (button and beat) run one after the other.
    period = ProgramPeriod.objects.select_for_update().select_related("program").get(pk=period.pk)
    program = period.program
    if period.ends_on >= today:
        raise ValidationError(_("This period ends on %(end)s; it can be closed from the next day.") % {"end": date_format(period.ends_on)})
    if program.status == ProgramStatus.DRAFT:
        raise ValidationError(_("A draft program has no periods to close; activate it first."))
    rules = list(program.rules.all())
    written = {
        (row["partner_id"], row["rule_id"], row["reward_type"]): row
        for row in EarningLine.objects.filter(period=period)
        .values("partner_id", "rule_id", "reward_type")
        .annotate(amount=Sum("amount"), points=Sum("points"), lines=Count("pk"))
    }
    partner_ids = engine.eligible_partner_ids(program) | {key[0] for key in written}
    contexts = engine.load_contexts(
        program=program, rules=rules, starts_on=period.starts_on, ends_on=period.ends_on, partner_ids=partner_ids
    )
    expected = engine.compute_lines(rules, contexts)
    first_close = period.closed_at is None
    now = timezone.now()
    new_lines = []
    for key in sorted(set(expected) | set(written), key=lambda k: (k[0], k[1] or 0, k[2])):
        partner_id, rule_id, reward_type = key
        line = expected.get(key)
        done = written.get(key)
        amount = line.amount if line else ZERO
        points = line.points if line else 0
        if done is None:
            if line is None:
                continue
            kind = LineKind.NORMAL if first_close else LineKind.ADJUSTMENT
            reason = line.reason if first_close else _("Late change: %(reason)s") % {"reason": line.reason}
            new_lines.append(
                EarningLine(
                    partner_id=partner_id,
                    program=program,
                    period=period,
                    rule_id=rule_id,
                    kind=kind,
                    reward_type=reward_type,
                    amount=amount,
                    points=points,
                    reason=reason,
                    detail=line.detail,
                    created_at=now,
                )
            )
            continue
        delta_amount, delta_points = amount - (done["amount"] or ZERO), points - (done["points"] or 0)
        if not delta_amount and not delta_points:
            continue
        before, after = _value_text(done["amount"] or ZERO, done["points"] or 0), _value_text(amount, points)
        reason = _("Adjustment after late sales: was %(before)s, now %(after)s") % {"before": before, "after": after}
        if line:
            reason = f"{reason}. {line.reason}"
        new_lines.append(
            EarningLine(
                partner_id=partner_id,
                program=program,
                period=period,
                rule_id=rule_id,
                kind=LineKind.ADJUSTMENT,
                reward_type=reward_type,
                amount=delta_amount,
                points=delta_points,
                reason=reason,
                detail={
                    "previous_amount": str(done["amount"] or ZERO),
                    "previous_points": done["points"] or 0,
                    **(line.detail if line else {}),
                },
                created_at=now,
            )
        )
    EarningLine.objects.bulk_create(new_lines)
    expires_on = shift_months(period.ends_on, program.points_expiry_months) if program.points_expiry_months else None
    for line in new_lines:
        if line.points > 0:
            points_earn(
                partner=line.partner, points=line.points, expires_on=expires_on, program=program, earning_line=line, note=line.reason[:255]
            )
        elif line.points < 0:
            _points_take(
                partner_id=line.partner_id,
                points=-line.points,
                kind=PointsKind.ADJUST,
                earning_line=line,
                note=line.reason[:255],
                allow_short=True,
            )
    before = {"closed_at": period.closed_at.isoformat() if period.closed_at else None}
    if first_close:
        period.closed_at, period.closed_by = now, by if by is not None and by.is_authenticated else None
    period.calculated_at = now
    period.save(update_fields=["closed_at", "closed_by", "calculated_at"])
    if first_close or new_lines:
        audit(
            actor=by,
            action="period_close" if first_close else "period_recalculate",
            obj=period,
            before=before,
            after={"closed_at": period.closed_at.isoformat(), "lines_written": [line.pk for line in new_lines]},
        )
    return CloseResult(period=period, created=new_lines, first_close=first_close)


def periods_close_due(*, today=None) -> list:
    """Close every ended period of active programs, and recalculate closed ones whose sales changed since."""
    from sales.models import Sale

    today = today or timezone.localdate()
    results = []
    for program in Program.objects.filter(status__in=[ProgramStatus.ACTIVE, ProgramStatus.CLOSED]):
        if program.status == ProgramStatus.ACTIVE:
            periods_ensure(program=program, today=today)
        for period in program.periods.filter(ends_on__lt=today).order_by("starts_on"):
            due = period.closed_at is None or (
                period.calculated_at is not None
                and Sale.objects.filter(
                    invoice_date__range=(period.starts_on, period.ends_on), updated_at__gt=period.calculated_at
                ).exists()
            )
            if due:
                results.append(period_close(period=period, today=today))
    return results


# --- Payouts ---------------------------------------------------------------------------------


@transaction.atomic
def payouts_create(*, by=None, partner=None, program=None) -> list:
    """Batch unpaid cash lines of closed periods into one payout per partner and program.

    Lines are locked so two batch runs never put a line in two payouts; a partner whose unpaid
    total is zero or negative (adjustments) waits until it is positive.
    """
    lines = EarningLine.objects.select_for_update(skip_locked=True).filter(
        payout__isnull=True, reward_type=RewardType.CASH, period__closed_at__isnull=False
    )
    if partner is not None:
        lines = lines.filter(partner=partner)
    if program is not None:
        lines = lines.filter(program=program)
    groups = {}
    for line_id, partner_id, program_id, amount in lines.order_by("pk").values_list("pk", "partner_id", "program_id", "amount"):
        group = groups.setdefault((partner_id, program_id), {"ids": [], "amount": ZERO})
        group["ids"].append(line_id)
        group["amount"] += amount
    payouts = []
    now = timezone.now()
    actor = by if by is not None and by.is_authenticated else None
    for (partner_id, program_id), group in sorted(groups.items()):
        if group["amount"] <= 0:
            continue
        payout = Payout.objects.create(
            partner_id=partner_id, program_id=program_id, amount=group["amount"], line_ids=group["ids"], created_by=actor, created_at=now
        )
        EarningLine.objects.filter(pk__in=group["ids"], payout__isnull=True).update(payout=payout)
        audit(actor=by, action="payout_create", obj=payout, after=_state(payout, PAYOUT_STATE))
        payouts.append(payout)
    return payouts


def _status_transition(obj, *, audited, by, allowed, message, changes, action):
    """Move a payout or redemption to its next status, audited with the `audited` fields before and after."""
    # Lock the row and check its status under the lock: two managers clicking at once change it only once.
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    if obj.status not in allowed:
        raise ValidationError(message % {"status": obj.get_status_display()})
    before = _state(obj, audited)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save()
    audit(actor=by, action=action, obj=obj, before=before, after=_state(obj, audited))
    return obj


@transaction.atomic
def payout_approve(*, payout, by) -> Payout:
    return _status_transition(
        payout,
        audited=PAYOUT_STATE,
        by=by,
        allowed={PayoutStatus.PENDING},
        message=_("Only a pending payout can be approved; this one is %(status)s."),
        changes={"status": PayoutStatus.APPROVED, "approved_by": by, "approved_at": timezone.now()},
        action="payout_approve",
    )


@transaction.atomic
def payout_mark_paid(*, payout, by, reference) -> Payout:
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter the payment reference.")})
    return _status_transition(
        payout,
        audited=PAYOUT_STATE,
        by=by,
        allowed={PayoutStatus.APPROVED},
        message=_("Only an approved payout can be marked paid; this one is %(status)s."),
        changes={"status": PayoutStatus.PAID, "reference": reference[:120], "paid_by": by, "paid_at": timezone.now()},
        action="payout_paid",
    )


@transaction.atomic
def payout_reject(*, payout, by, reason) -> Payout:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the payout is rejected.")})
    payout = _status_transition(
        payout,
        audited=PAYOUT_STATE,
        by=by,
        allowed={PayoutStatus.PENDING, PayoutStatus.APPROVED},
        message=_("A payout that is %(status)s cannot be rejected."),
        changes={"status": PayoutStatus.REJECTED, "reason": reason, "rejected_by": by, "rejected_at": timezone.now()},
        action="payout_reject",
    )
    EarningLine.objects.filter(payout=payout).update(payout=None)
    return payout


# --- Points ----------------------------------------------------------------------------------


def _lock_balance(partner_id):
    """The partner's balance row, locked for this transaction (created on first use)."""
    PointsBalance.objects.bulk_create([PointsBalance(partner_id=partner_id)], ignore_conflicts=True)
    return PointsBalance.objects.select_for_update().get(partner_id=partner_id)


def _change_balance(partner_id, delta):
    """Conditional update: the balance never goes below zero, whatever the caller checked."""
    updated = PointsBalance.objects.filter(partner_id=partner_id, balance__gte=-delta if delta < 0 else 0).update(
        balance=F("balance") + delta, updated_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("Not enough points."))


@transaction.atomic
def points_earn(*, partner, points, expires_on=None, program=None, earning_line=None, note="", by=None, kind=PointsKind.EARN):
    if points <= 0:
        raise ValidationError(_("Earned points must be more than 0."))
    partner_id = partner.pk if isinstance(partner, Partner) else partner
    _lock_balance(partner_id)
    entry = PointsEntry.objects.create(
        partner_id=partner_id,
        kind=kind,
        points=points,
        remaining=points,
        expires_on=expires_on,
        program=program,
        earning_line=earning_line,
        note=note,
        created_by=by,
    )
    _change_balance(partner_id, points)
    return entry


def _points_take(*, partner_id, points, kind, redemption=None, earning_line=None, note="", by=None, allow_short=False, today=None):
    """Take points from the oldest lots first (the ones that expire soonest); the balance row is locked."""
    balance = _lock_balance(partner_id)
    if points > balance.balance:
        if not allow_short:
            raise ValidationError(
                _("Not enough points: %(needed)s needed, %(balance)s available.") % {"needed": fmt(points), "balance": fmt(balance.balance)}
            )
        points = balance.balance
    used, left = [], points
    lots = (
        PointsEntry.objects.select_for_update()
        .filter(partner_id=partner_id, remaining__gt=0)
        .order_by(F("expires_on").asc(nulls_last=True), "created_at", "pk")
    )
    for lot in lots:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        lot.save(update_fields=["remaining"])
        used.append({"lot": lot.pk, "points": take})
        left -= take
    entry = PointsEntry.objects.create(
        partner_id=partner_id,
        kind=kind,
        points=-points,
        redemption=redemption,
        earning_line=earning_line,
        note=note,
        detail=used,
        created_by=by,
    )
    if points:
        _change_balance(partner_id, -points)
    return entry


@transaction.atomic
def points_adjust(*, partner, points, by, note, expires_on=None) -> PointsEntry:
    """A manager's correction: positive adds a lot, negative takes from the oldest lots."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the points are adjusted.")})
    if not points:
        raise ValidationError({"points": _("Enter a number of points other than 0.")})
    if points > 0:
        return points_earn(partner=partner, points=points, expires_on=expires_on, note=note, by=by, kind=PointsKind.ADJUST)
    return _points_take(partner_id=partner.pk, points=-points, kind=PointsKind.ADJUST, note=note, by=by)


def points_expire(*, today=None) -> int:
    """Expire what is left of every lot whose expiry date has come; one transaction per partner."""
    today = today or timezone.localdate()
    partner_ids = set(PointsEntry.objects.filter(remaining__gt=0, expires_on__lte=today).values_list("partner_id", flat=True).distinct())
    total = 0
    for partner_id in sorted(partner_ids):
        with transaction.atomic():
            _lock_balance(partner_id)
            lots = list(PointsEntry.objects.select_for_update().filter(partner_id=partner_id, remaining__gt=0, expires_on__lte=today))
            points = sum(lot.remaining for lot in lots)
            if not points:
                continue
            detail = [{"lot": lot.pk, "points": lot.remaining} for lot in lots]
            PointsEntry.objects.filter(pk__in=[lot.pk for lot in lots]).update(remaining=0)
            PointsEntry.objects.create(
                partner_id=partner_id,
                kind=PointsKind.EXPIRE,
                points=-points,
                detail=detail,
                note=_("Points earned up to %(date)s expired") % {"date": date_format(max(lot.expires_on for lot in lots))},
            )
            _change_balance(partner_id, -points)
            total += points
    return total


# --- Redemptions -----------------------------------------------------------------------------


@transaction.atomic
def redemption_request(*, partner, user, reward) -> Redemption:
    """Order a reward with points: balance and stock change in one transaction, or not at all.

    Lock order is always balance row, then reward row, so concurrent orders cannot deadlock. The
    conditional UPDATEs (balance >= cost, stock >= 1) and the CHECK constraints are the last guards.
    """
    balance = _lock_balance(partner.pk)
    reward = Reward.objects.filter(pk=reward.pk).first()
    if reward is None or not Reward.objects.available_to(partner).filter(pk=reward.pk).exists():
        raise ValidationError(_("This reward is not available to your partner tier."))
    cost = reward.points_cost
    if balance.balance < cost:
        raise ValidationError(
            _("Not enough points: %(needed)s needed, %(balance)s available.") % {"needed": fmt(cost), "balance": fmt(balance.balance)}
        )
    if reward.stock is not None:
        taken = Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1)
        if not taken:
            raise ValidationError(_("“%(reward)s” is out of stock.") % {"reward": reward.name})
    status = RedemptionStatus.PENDING_APPROVAL if selectors.redemption_needs_approval(reward=reward) else RedemptionStatus.APPROVED
    redemption = Redemption.objects.create(partner=partner, user=user, reward=reward, points=cost, status=status)
    _points_take(partner_id=partner.pk, points=cost, kind=PointsKind.REDEEM, redemption=redemption, note=reward.name[:255], by=user)
    audit(actor=user, action="redemption_request", obj=redemption, after=_state(redemption, REDEMPTION_STATE))
    return redemption


@transaction.atomic
def redemption_approve(*, redemption, by) -> Redemption:
    return _status_transition(
        redemption,
        audited=REDEMPTION_STATE,
        by=by,
        allowed={RedemptionStatus.PENDING_APPROVAL},
        message=_("Only a redemption waiting for approval can be approved; this one is %(status)s."),
        changes={"status": RedemptionStatus.APPROVED, "decided_by": by, "decided_at": timezone.now()},
        action="redemption_approve",
    )


@transaction.atomic
def redemption_reject(*, redemption, by, reason) -> Redemption:
    """Reject and refund: the points go back to the lots they came from, the item back to stock."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the redemption is rejected.")})
    _lock_balance(redemption.partner_id)
    redemption = _status_transition(
        redemption,
        audited=REDEMPTION_STATE,
        by=by,
        allowed={RedemptionStatus.PENDING_APPROVAL, RedemptionStatus.APPROVED},
        message=_("A redemption that is %(status)s cannot be rejected."),
        changes={"status": RedemptionStatus.REJECTED, "reason": reason, "decided_by": by, "decided_at": timezone.now()},
        action="redemption_reject",
    )
    taken = redemption.points_entries.filter(kind=PointsKind.REDEEM).first()
    for used in taken.detail if taken else []:
        PointsEntry.objects.filter(pk=used["lot"]).update(remaining=F("remaining") + used["points"])
    PointsEntry.objects.create(
        partner_id=redemption.partner_id,
        kind=PointsKind.ADJUST,
        points=redemption.points,
        redemption=redemption,
        note=(_("Refund: %(reason)s") % {"reason": reason})[:255],
        created_by=by,
    )
    _change_balance(redemption.partner_id, redemption.points)
    Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1)
    return redemption


@transaction.atomic
def redemption_fulfil(*, redemption, by) -> Redemption:
    return _status_transition(
        redemption,
        audited=REDEMPTION_STATE,
        by=by,
        allowed={RedemptionStatus.APPROVED},
        message=_("Only an approved redemption can be fulfilled; this one is %(status)s."),
        changes={"status": RedemptionStatus.FULFILLED, "fulfilled_at": timezone.now()},
        action="redemption_fulfil",
    )


# --- Tiers -----------------------------------------------------------------------------------


BULK_BATCH = 1000
STANDING_FIELDS = ["qualified_tier", "below_since", "evaluated_on", "metrics"]


def _qualifies(rule, metrics, score):
    if metrics["revenue_12m"] < rule.min_revenue:
        return False
    if metrics["certified_contacts"] < rule.min_certified_contacts or metrics["approved_deals"] < rule.min_approved_deals:
        return False
    return rule.min_loyalty_score is None or score is None or Decimal(str(score)) >= rule.min_loyalty_score


@transaction.atomic
def tiers_evaluate(*, partner=None, loyalty_scores=None, today=None) -> list:
    """Re-evaluate the tier of one partner or of every non-churned partner, in a fixed number of queries.

    `loyalty_scores` maps partner id to score; when it is None the loyalty criterion is not checked
    (the caller could not compute it), when a partner is missing from it the partner scores 0.
    A partner qualifies for the highest tier whose rule it meets in full; if it meets none, for the
    lowest tier that has a rule. Returns the tier changes made.

    The figures of every partner are read at once, the decisions made in Python, and the writes
    done in bulk (tiers, standings, history), so the nightly run costs the same number of queries
    for 3 partners or 3,000 (plus one per BULK_BATCH rows written). Like `partner_update` for a
    tier, the partner gets no timeline entry: the TierChange row is the history.
    """
    from . import tasks

    today = today or timezone.localdate()
    rules = list(TierRule.objects.select_related("tier").order_by("-tier__rank"))
    if not rules:
        return []
    settings_row = IncentiveSettings.load()
    partners = Partner.objects.exclude(status__in=[PartnerStatus.APPLICANT, PartnerStatus.CHURNED]).select_related("tier")
    if partner is not None:
        partners = partners.filter(pk=partner.pk)
    partners = list(partners)
    metrics = selectors.tier_metrics(partner_ids=[p.pk for p in partners], today=today)
    standings = {s.partner_id: s for s in TierStanding.objects.filter(partner_id__in=[p.pk for p in partners])}
    rule_by_tier = {rule.tier_id: rule for rule in rules}
    changes, moved, new_standings = [], [], []
    for current in partners:
        figures = metrics[current.pk]
        score = None if loyalty_scores is None else loyalty_scores.get(current.pk, 0)
        target = next((rule.tier for rule in rules if _qualifies(rule, figures, score)), rules[-1].tier)
        standing = standings.get(current.pk)
        if standing is None:
            standing = TierStanding(partner=current, evaluated_on=today)
            new_standings.append(standing)
        standing.qualified_tier, standing.evaluated_on = target, today
        standing.metrics = {key: str(value) for key, value in figures.items()} | {"loyalty_score": None if score is None else str(score)}
        grace = _grace_months(current, rule_by_tier, settings_row)
        reason = _tier_decision(current=current, target=target, standing=standing, grace=grace, today=today)
        if reason is not None:
            changes.append(TierChange(partner=current, from_tier=current.tier, to_tier=target, reason=reason))
            moved.append(current)
    _tiers_write(moved=moved, changes=changes, standings=standings.values(), new_standings=new_standings)
    for change in changes:
        enqueue_after_commit(tasks.notify_tier_change, tier_change_id=change.pk)
    return changes


def _grace_months(current, rule_by_tier, settings_row):
    """The downgrade grace period of the partner's current tier: its rule's, else the general setting."""
    current_rule = rule_by_tier.get(current.tier_id)
    if current_rule is not None and current_rule.downgrade_grace_months is not None:
        return current_rule.downgrade_grace_months
    return settings_row.downgrade_grace_months


def _tier_decision(*, current, target, standing, grace, today):
    """The reason for moving `current` to `target` now, or None; keeps `standing.below_since` up to date.

    Upgrades happen at once; a downgrade only once the partner has been below its tier for `grace`
    months, counted from the first evaluation that found it below.
    """
    current_rank = current.tier.rank if current.tier else 0
    if target.rank > current_rank:
        standing.below_since = None
        return _("Qualifies for %(tier)s.") % {"tier": target.name}
    if target.rank == current_rank:
        standing.below_since = None
        return None
    standing.below_since = standing.below_since or today
    if shift_months(standing.below_since, grace) > today:
        return None
    reason = _("Below the requirements of %(tier)s since %(date)s; the grace period of %(months)s months is over.") % {
        "tier": current.tier.name,
        "date": date_format(standing.below_since),
        "months": grace,
    }
    standing.below_since = None
    return reason


def _tiers_write(*, moved, changes, standings, new_standings):
    """Write the evaluation in bulk: the moved partners' tiers (rows locked first), standings, history."""
    if moved:
        # Lock the rows that change, in primary-key order so two runs cannot deadlock; only the tier
        # (and updated_at) is written, so a concurrent edit of another field is not overwritten.
        list(Partner.objects.select_for_update().filter(pk__in=[p.pk for p in moved]).order_by("pk").values_list("pk", flat=True))
        now = timezone.now()
        for current, change in zip(moved, changes, strict=True):
            current.tier, current.updated_at = change.to_tier, now
        Partner.objects.bulk_update(sorted(moved, key=lambda p: p.pk), ["tier", "updated_at"], batch_size=BULK_BATCH)
    existing = sorted((s for s in standings if s.pk), key=lambda s: s.partner_id)
    if existing:
        TierStanding.objects.bulk_update(existing, STANDING_FIELDS, batch_size=BULK_BATCH)
    if new_standings:
        # A concurrent run may have created the row since it was read: then this one's figures win.
        TierStanding.objects.bulk_create(
            new_standings, batch_size=BULK_BATCH, update_conflicts=True, unique_fields=["partner"], update_fields=STANDING_FIELDS
        )
    if changes:
        TierChange.objects.bulk_create(changes, batch_size=BULK_BATCH)


# --- Evaluation ------------------------------------------------------------------------------


def program_simulate(*, program, starts_on, ends_on, rules=None) -> dict:
    """Run a program's rules (or `rules`: unsaved Rule objects) against real past sales; writes nothing.

    Returns cost (cash + MDF), points, payouts per partner and ROI figures (see selectors.program_roi).
    """
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date cannot be before the start date.")})
    if ends_on >= timezone.localdate():
        raise ValidationError({"ends_on": _("Simulate a period that has ended: its sales are final.")})
    rules = list(program.rules.all()) if rules is None else list(rules)
    for rule in rules:
        rule.params = validate_rule(rule.kind, rule.params)
    eligible = engine.eligible_partner_ids(program)
    contexts = engine.load_contexts(program=program, rules=rules, starts_on=starts_on, ends_on=ends_on, partner_ids=eligible)
    lines = engine.compute_lines(rules, contexts)
    totals = engine.totals_by_partner(lines)
    return selectors.roi_figures(program=program, starts_on=starts_on, ends_on=ends_on, eligible=eligible, totals=totals) | {
        "simulated": True
    }
