"""Every read of incentives for pages, the API, exports and jobs (see the list in services.py)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.csv import safe_cell
from core.dates import one_year_earlier
from deals.models import DealRegistration, DealStatus
from enablement.models import Certification
from partners.models import Partner
from sales.models import Sale

from . import engine
from .models import (
    AuditEntry,
    EarningLine,
    IncentiveSettings,
    Payout,
    PointsBalance,
    PointsEntry,
    Program,
    Redemption,
    Reward,
    RewardType,
    TierRule,
)
from .rules import fmt, rule_type_for

ZERO = Decimal("0")


def programs_for_partner(*, partner):
    """Active programs the partner is eligible for, with their rules (2 queries)."""
    return Program.objects.active().reaching(partner).prefetch_related("rules").order_by("starts_on", "name")


def program_detail(*, program):
    return Program.objects.prefetch_related("rules", "tiers", "territories", "partners", "periods").get(pk=program.pk)


def earning_lines_for(*, partner, program=None):
    lines = EarningLine.objects.for_partner(partner).select_related("program", "period", "rule", "payout")
    return lines.filter(program=program) if program is not None else lines


def payouts_for(*, partner):
    return Payout.objects.for_partner(partner).select_related("program")


def payout_list(*, status=None):
    payouts = Payout.objects.select_related("partner", "program", "approved_by", "paid_by")
    return payouts.filter(status=status) if status else payouts


def payouts_csv(*, payouts) -> str:
    """Finance export: one row per payout, amounts as plain decimals, formula-safe text cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("payout"),
            _("partner"),
            _("partner external ID"),
            _("program"),
            _("amount"),
            _("status"),
            _("payment reference"),
            _("created at"),
            _("approved at"),
            _("paid at"),
            _("earning lines"),
        ]
    )
    for payout in payouts.select_related("partner", "program").order_by("pk"):
        writer.writerow(
            [
                payout.pk,
                safe_cell(payout.partner.name),
                safe_cell(payout.partner.external_id),
                safe_cell(payout.program.name if payout.program else ""),
                f"{payout.amount:.2f}",
                payout.status,
                safe_cell(payout.reference),
                payout.created_at.isoformat(),
                payout.approved_at.isoformat() if payout.approved_at else "",
                payout.paid_at.isoformat() if payout.paid_at else "",
                " ".join(str(line_id) for line_id in payout.line_ids),
            ]
        )
    return out.getvalue()


def points_balance(*, partner) -> int:
    return PointsBalance.objects.filter(partner=partner).values_list("balance", flat=True).first() or 0


def points_history(*, partner):
    return PointsEntry.objects.for_partner(partner).select_related("program", "redemption__reward")


def rewards_for(*, partner):
    return Reward.objects.available_to(partner).prefetch_related("tiers")


def redemption_approval_threshold(*, reward) -> int:
    """Points from which a redemption of `reward` waits for a manager: the reward's own, else the general setting."""
    if reward.approval_threshold is not None:
        return reward.approval_threshold
    return IncentiveSettings.load().redemption_approval_points


def redemption_needs_approval(*, reward) -> bool:
    """Whether redeeming `reward` now waits for a manager's approval (the same test `redemption_request` makes)."""
    return reward.points_cost >= redemption_approval_threshold(reward=reward)


def redemptions_for(*, partner):
    return Redemption.objects.for_partner(partner).select_related("reward", "user")


def redemption_list(*, status=None):
    redemptions = Redemption.objects.select_related("partner", "reward", "user", "decided_by")
    return redemptions.filter(status=status) if status else redemptions


def audit_trail(*, obj):
    return AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk).select_related("actor")


# --- Accrual preview -------------------------------------------------------------------------


def accrual_preview(*, partner, today=None) -> list:
    """Per active program of the partner: what it earned so far this period and what it still misses.

    Each item: program, starts_on, ends_on, revenue, amount, points, lines (reason per rule) and
    next (data + sentence per rule: "23,400 more revenue this quarter reaches the 4% bracket").
    """
    today = today or timezone.localdate()
    preview = []
    for program in programs_for_partner(partner=partner).filter(starts_on__lte=today, ends_on__gte=today):
        rules = list(program.rules.all())
        starts_on, ends_on = engine.period_bounds(program, today)
        context = engine.load_contexts(program=program, rules=rules, starts_on=starts_on, ends_on=today, partner_ids=[partner.pk])[
            partner.pk
        ]
        context.ends_on = ends_on
        lines = engine.compute_lines(rules, {partner.pk: context})
        hints = []
        for rule in rules:
            hints.extend(rule_type_for(rule.kind).progress(rule.params, context))
        preview.append(
            {
                "program": program,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "revenue": context.revenue,
                "amount": sum((line.amount for line in lines.values() if line.reward_type != RewardType.POINTS), ZERO),
                "points": sum(line.points for line in lines.values()),
                "lines": [
                    {"rule_id": key[1], "reward_type": key[2], "amount": line.amount, "points": line.points, "reason": line.reason}
                    for key, line in lines.items()
                ],
                "next": hints,
            }
        )
    return preview


# --- Tiers -----------------------------------------------------------------------------------


def tier_metrics(*, partner_ids, today) -> dict:
    """{partner_id: {revenue_12m, certified_contacts, approved_deals}} in 3 queries.

    Trailing 12 months: invoice dates after the same day a year ago, up to today. Certified
    contacts hold a certification valid today. Approved deals are approved or won registrations
    registered in the same 12 months.
    """
    partner_ids = list(partner_ids)
    since = one_year_earlier(today) + timedelta(days=1)
    figures = {pid: {"revenue_12m": ZERO, "certified_contacts": 0, "approved_deals": 0} for pid in partner_ids}
    if not partner_ids:
        return figures
    for row in (
        Sale.objects.filter(partner_id__in=partner_ids, invoice_date__range=(since, today))
        .values("partner_id")
        .annotate(total=Sum("amount"))
    ):
        figures[row["partner_id"]]["revenue_12m"] = row["total"] or ZERO
    for row in (
        Certification.objects.filter(partner_id__in=partner_ids, earned_on__lte=today)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .values("partner_id")
        .annotate(contacts=Count("contact_id", distinct=True))
    ):
        figures[row["partner_id"]]["certified_contacts"] = row["contacts"]
    for row in (
        DealRegistration.objects.filter(
            partner_id__in=partner_ids, status__in=[DealStatus.APPROVED, DealStatus.WON], registered_on__range=(since, today)
        )
        .values("partner_id")
        .annotate(deals=Count("pk"))
    ):
        figures[row["partner_id"]]["approved_deals"] = row["deals"]
    return figures


def tier_progress(*, partner, today=None):
    """What the partner misses for the next tier that has a rule, as data and sentences; None at the top."""
    today = today or timezone.localdate()
    current_rank = partner.tier.rank if partner.tier_id else 0
    rule = TierRule.objects.select_related("tier").filter(tier__rank__gt=current_rank).order_by("tier__rank").first()
    if rule is None:
        return None
    figures = tier_metrics(partner_ids=[partner.pk], today=today)[partner.pk]
    missing, messages = {}, []
    revenue_gap = rule.min_revenue - figures["revenue_12m"]
    if revenue_gap > 0:
        missing["revenue_12m"] = revenue_gap
        messages.append(
            _("%(missing)s more revenue over the last 12 months reaches %(tier)s") % {"missing": fmt(revenue_gap), "tier": rule.tier.name}
        )
    contacts_gap = rule.min_certified_contacts - figures["certified_contacts"]
    if contacts_gap > 0:
        missing["certified_contacts"] = contacts_gap
        messages.append(_("%(missing)s more certified contacts for %(tier)s") % {"missing": contacts_gap, "tier": rule.tier.name})
    deals_gap = rule.min_approved_deals - figures["approved_deals"]
    if deals_gap > 0:
        missing["approved_deals"] = deals_gap
        messages.append(_("%(missing)s more approved deal registrations for %(tier)s") % {"missing": deals_gap, "tier": rule.tier.name})
    return {"tier": rule.tier, "figures": figures, "missing": missing, "messages": messages}


# --- Evaluation ------------------------------------------------------------------------------


def _ratio(numerator, denominator):
    return None if not denominator else (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def roi_figures(*, program, starts_on, ends_on, eligible, totals) -> dict:
    """ROI of a set of earnings: cost against participants' revenue, their previous period, and non-participants.

    Participants are eligible partners that earned something (cash, MDF, points or an award);
    eligible non-participants earned nothing. The previous period is the one of the same length
    just before. Cost is cash plus MDF (points are reported apart: they have no set money value).
    Uplift is the participants' revenue growth beyond what the non-participants' growth rate predicts;
    ROI is (uplift - cost) / cost.
    """
    length = ends_on - starts_on
    prev_end = starts_on - timedelta(days=1)
    prev_start = prev_end - length
    eligible = set(eligible)
    participants = {pid for pid, total in totals.items() if total["amount"] or total["points"] or total["awards"]}
    others = eligible - participants
    ids = list(eligible)
    current = engine.revenue_by_partner(ids, starts_on, ends_on, program.earning_basis)
    previous = engine.revenue_by_partner(ids, prev_start, prev_end, program.earning_basis)

    def revenue(source, group):
        return sum((source.get(pid, (ZERO, 0))[0] for pid in group), ZERO)

    cost = sum((totals[pid]["cash"] + totals[pid]["mdf"] for pid in participants), ZERO)
    group = {
        "participants": {
            "count": len(participants),
            "revenue": revenue(current, participants),
            "previous": revenue(previous, participants),
        },
        "non_participants": {"count": len(others), "revenue": revenue(current, others), "previous": revenue(previous, others)},
    }
    for figures in group.values():
        figures["growth"] = _ratio(figures["revenue"] - figures["previous"], figures["previous"])
    baseline_growth = group["non_participants"]["growth"] or ZERO
    expected = group["participants"]["previous"] * (1 + baseline_growth)
    uplift = group["participants"]["revenue"] - expected
    return {
        "starts_on": starts_on,
        "ends_on": ends_on,
        "previous_starts_on": prev_start,
        "previous_ends_on": prev_end,
        "cost": cost,
        "points": sum(total["points"] for total in totals.values()),
        "budget": program.budget,
        "payouts": {
            pid: {"cash": total["cash"], "mdf": total["mdf"], "points": total["points"], "awards": total["awards"]}
            for pid, total in sorted(totals.items())
        },
        "uplift": uplift,
        "roi": _ratio(uplift - cost, cost),
        "revenue_per_cost": _ratio(group["participants"]["revenue"], cost),
        **group,
    }


def program_roi(*, program, period=None) -> dict:
    """ROI of what a program really paid: one closed period, or all its closed periods together."""
    periods = program.periods.filter(closed_at__isnull=False).order_by("starts_on")
    if period is not None:
        periods = periods.filter(pk=period.pk)
    periods = list(periods)
    if not periods:
        return {"periods": 0}
    totals = engine.totals_by_partner(
        {
            (row["partner_id"], row["rule_id"], row["reward_type"]): _Total(row)
            for row in EarningLine.objects.filter(period__in=periods)
            .values("partner_id", "rule_id", "reward_type")
            .annotate(amount=Sum("amount"), points=Sum("points"), lines=Count("pk"))
        }
    )
    eligible = engine.eligible_partner_ids(program) | set(totals)
    figures = roi_figures(program=program, starts_on=periods[0].starts_on, ends_on=periods[-1].ends_on, eligible=eligible, totals=totals)
    figures["periods"] = len(periods)
    return figures


class _Total:
    """A ledger sum shaped like a rules.Line for `engine.totals_by_partner`."""

    def __init__(self, row):
        self.amount = row["amount"] or ZERO
        self.points = row["points"] or 0
        self.reward_type = row["reward_type"]
        self.detail = {"reward": ""}


def program_list(*, q="", status=""):
    """Programs with their rule count, newest start first (one query for a page)."""
    programs = Program.objects.annotate(rule_count=Count("rules", distinct=True))
    if status:
        programs = programs.filter(status=status)
    if q:
        programs = programs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return programs.order_by("-starts_on", "name", "pk")


def period_totals(*, program):
    """{period id: {amount, points, lines, partners}} of the ledger of `program`, in one query."""
    rows = (
        EarningLine.objects.filter(program=program)
        .values("period_id")
        .annotate(amount=Sum("amount"), points=Sum("points"), lines=Count("pk"), partners=Count("partner_id", distinct=True))
        .order_by()
    )
    return {row["period_id"]: row for row in rows}


def roi_rows(figures):
    """The payouts of an ROI or simulation result as rows with partner names, biggest cost first (one query)."""
    payouts = figures.get("payouts", {})
    names = dict(Partner.objects.filter(pk__in=list(payouts)).values_list("pk", "name"))
    rows = [
        {"partner_id": pid, "name": names.get(pid, pid), **payout, "cost": payout["cash"] + payout["mdf"]}
        for pid, payout in payouts.items()
    ]
    return sorted(rows, key=lambda row: (-row["cost"], -row["points"], str(row["name"])))
