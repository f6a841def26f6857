"""The audit trail of incentives: who changed what, when, with the state before and after."""

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from ..models import (
    AuditEntry,
)


def state_of(obj, fields):
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


def status_transition(obj, *, audited, by, allowed, message, changes, action):
    """Move a payout or redemption to its next status, audited with the `audited` fields before and after."""
    # Lock the row and check its status under the lock: two managers clicking at once change it only once.
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    if obj.status not in allowed:
        raise ValidationError(message % {"status": obj.get_status_display()})
    before = state_of(obj, audited)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save()
    audit(actor=by, action=action, obj=obj, before=before, after=state_of(obj, audited))
    return obj
