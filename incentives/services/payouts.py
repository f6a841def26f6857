"""Payouts: batch unpaid cash lines, approve, mark paid, reject (every change audited)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    EarningLine,
    Payout,
    PayoutStatus,
    RewardType,
)
from ..rules import ZERO
from .audit import PAYOUT_STATE, audit, state_of, status_transition


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
        audit(actor=by, action="payout_create", obj=payout, after=state_of(payout, PAYOUT_STATE))
        payouts.append(payout)
    return payouts


@transaction.atomic
def payout_approve(*, payout, by) -> Payout:
    return status_transition(
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
    return status_transition(
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
    payout = status_transition(
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
