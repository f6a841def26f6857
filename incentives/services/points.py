"""Points and rewards: earn, adjust, expire, redeem, and the decisions on redemptions."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from partners.models import Partner

from .. import selectors
from ..models import (
    PointsBalance,
    PointsEntry,
    PointsKind,
    Redemption,
    RedemptionStatus,
    Reward,
)
from ..rules import fmt
from .audit import REDEMPTION_STATE, audit, state_of, status_transition


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


def points_take(*, partner_id, points, kind, redemption=None, earning_line=None, note="", by=None, allow_short=False, today=None):
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
    return points_take(partner_id=partner.pk, points=-points, kind=PointsKind.ADJUST, note=note, by=by)


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
    points_take(partner_id=partner.pk, points=cost, kind=PointsKind.REDEEM, redemption=redemption, note=reward.name[:255], by=user)
    audit(actor=user, action="redemption_request", obj=redemption, after=state_of(redemption, REDEMPTION_STATE))
    return redemption


@transaction.atomic
def redemption_approve(*, redemption, by) -> Redemption:
    return status_transition(
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
    redemption = status_transition(
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
    return status_transition(
        redemption,
        audited=REDEMPTION_STATE,
        by=by,
        allowed={RedemptionStatus.APPROVED},
        message=_("Only an approved redemption can be fulfilled; this one is %(status)s."),
        changes={"status": RedemptionStatus.FULFILLED, "fulfilled_at": timezone.now()},
        action="redemption_fulfil",
    )


# --- Rewards ---------------------------------------------------------------------------------

REWARD_FIELDS = ("name", "description", "kind", "points_cost", "stock", "approval_threshold", "is_active")
REWARD_STATE = tuple(name for name in REWARD_FIELDS if name != "description")


def _reward_fields(fields):
    unknown = set(fields) - set(REWARD_FIELDS)
    if unknown:
        raise TypeError(f"Unknown reward fields: {sorted(unknown)}")


@transaction.atomic
def reward_create(*, by=None, tiers=(), **fields) -> Reward:
    """Add a reward to the catalog; `tiers` empty means every tier may redeem it."""
    _reward_fields(fields)
    reward = Reward(**fields)
    reward.full_clean()
    reward.save()
    reward.tiers.set(tiers)
    audit(actor=by, action="reward_create", obj=reward, after=state_of(reward, REWARD_STATE))
    return reward


@transaction.atomic
def reward_update(*, reward, by=None, tiers=None, **fields) -> Reward:
    """Change a reward; redemptions already made keep the points they cost."""
    _reward_fields(fields)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    before = state_of(reward, REWARD_STATE)
    for name, value in fields.items():
        setattr(reward, name, value)
    reward.full_clean()
    reward.save()
    if tiers is not None:
        reward.tiers.set(tiers)
    audit(actor=by, action="reward_update", obj=reward, before=before, after=state_of(reward, REWARD_STATE))
    return reward


@transaction.atomic
def reward_delete(*, reward, by=None) -> None:
    """Remove a reward that was never redeemed; a redeemed one stays in the ledger (deactivate it)."""
    if reward.redemptions.exists():
        raise ValidationError(_("“%(name)s” was redeemed, so it cannot be deleted; deactivate it instead.") % {"name": reward.name})
    audit(actor=by, action="reward_delete", obj=reward, before=state_of(reward, REWARD_STATE))
    reward.delete()
