"""Period close: write what each partner earned, idempotently, with adjustments for late sales."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.dates import shift_months

from .. import engine
from ..models import (
    EarningLine,
    LineKind,
    PointsKind,
    Program,
    ProgramPeriod,
    ProgramStatus,
)
from ..rules import ZERO, fmt
from .audit import audit
from .points import points_earn, points_take
from .programs import periods_ensure


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
            points_take(
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
