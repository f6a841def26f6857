"""Turns sales into rule contexts and earnings, in a fixed number of set-based queries.

Shared by the period close (services), the accrual preview (selectors) and the what-if simulation.
Nothing here writes. Revenue comes from the monthly rollups (`SalesMonth`) when the program pays on
invoiced sales and the range covers whole months; raw sales are read for the paid-only basis, for
SPIFF units, new customers and partial months.

Paid-only basis: an invoice line counts when it is marked paid (it has a paid date); credit notes
always count, because a return reduces what the partner sold whether or not a refund was paid.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, Sum, When
from django.db.models.functions import Abs

from core.dates import one_year_earlier, shift_months
from enablement.models import Certification
from partners.models import Partner
from sales.models import Sale, SalesMonth
from sales.selectors import new_customers

from .models import EarningBasis, PeriodKind, RuleKind
from .rules import Context, rule_type_for

ZERO = Decimal("0")
MONTHS = {PeriodKind.MONTHLY: 1, PeriodKind.QUARTERLY: 3, PeriodKind.YEARLY: 12}


def period_bounds(program, day):
    """(start, end) of the program period that contains `day`, clipped to the program's dates."""
    length = MONTHS[program.period]
    anchor = program.starts_on.replace(day=1)
    months_since = (day.year - anchor.year) * 12 + day.month - anchor.month
    start = shift_months(anchor, (months_since // length) * length)
    end = shift_months(start, length) - timedelta(days=1)
    return max(start, program.starts_on), min(end, program.ends_on)


def period_ranges(program, until):
    """Every period of the program that has started on or before `until`."""
    ranges, day = [], program.starts_on
    while day <= min(until, program.ends_on):
        start, end = period_bounds(program, day)
        ranges.append((start, end))
        day = end + timedelta(days=1)
    return ranges


def eligible_partner_ids(program):
    """Partners the program's audience lets in (each empty criterion means everyone); 4 queries."""
    return set(Partner.objects.filter(program.audience_q()).values_list("pk", flat=True))


def _whole_months(starts_on, ends_on):
    return starts_on.day == 1 and (ends_on + timedelta(days=1)).day == 1


def _basis_filter(basis):
    return Q(paid_date__isnull=False) | Q(amount__lt=0) if basis == EarningBasis.PAID else Q()


def revenue_by_partner(partner_ids, starts_on, ends_on, basis):
    """{partner_id: (revenue, invoice lines)} over the range, on the earning basis."""
    if basis == EarningBasis.INVOICED and _whole_months(starts_on, ends_on):
        rows = (
            SalesMonth.objects.filter(partner_id__in=partner_ids, month__gte=starts_on, month__lte=ends_on)
            .values("partner_id")
            .annotate(revenue=Sum("revenue"), lines=Sum("line_count"))
        )
    else:
        rows = (
            Sale.objects.filter(_basis_filter(basis), partner_id__in=partner_ids, invoice_date__range=(starts_on, ends_on))
            .values("partner_id")
            .annotate(revenue=Sum("amount"), lines=Count("pk"))
        )
    return {row["partner_id"]: (row["revenue"] or ZERO, row["lines"] or 0) for row in rows}


def _net_units():
    """Units sold, with returns (credit notes) subtracted whatever sign their quantity carries."""
    return Sum(
        Case(
            When(amount__lt=0, then=-Abs(F("quantity"))), default=F("quantity"), output_field=DecimalField(max_digits=20, decimal_places=4)
        )
    )


def load_contexts(*, program, rules, starts_on, ends_on, partner_ids, period_kind=None):
    """A rule Context for every partner in `partner_ids`; queries only what the rules need."""
    partner_ids = list(partner_ids)
    kinds = {rule.kind for rule in rules}
    basis = program.earning_basis
    contexts = {
        pid: Context(partner_id=pid, starts_on=starts_on, ends_on=ends_on, period_kind=period_kind or program.period) for pid in partner_ids
    }
    if not partner_ids:
        return contexts
    for pid, (revenue, lines) in revenue_by_partner(partner_ids, starts_on, ends_on, basis).items():
        contexts[pid].revenue, contexts[pid].sale_count = revenue, lines
    if RuleKind.GROWTH_BONUS in kinds:
        previous = revenue_by_partner(partner_ids, one_year_earlier(starts_on), one_year_earlier(ends_on), basis)
        for pid, context in contexts.items():
            context.previous_revenue = previous.get(pid, (ZERO, 0))[0]
    if RuleKind.SPIFF in kinds:
        sales = Sale.objects.filter(
            _basis_filter(basis), partner_id__in=partner_ids, invoice_date__range=(starts_on, ends_on), product__isnull=False
        )
        skus = {rule.params.get("sku") for rule in rules if rule.kind == RuleKind.SPIFF and rule.params.get("sku")}
        categories = {rule.params.get("category") for rule in rules if rule.kind == RuleKind.SPIFF and rule.params.get("category")}
        if skus:
            for row in sales.filter(product__sku__in=skus).values("partner_id", "product__sku").annotate(units=_net_units()):
                contexts[row["partner_id"]].units_by_sku[row["product__sku"]] = row["units"]
        if categories:
            for row in (
                sales.filter(product__category__in=categories).values("partner_id", "product__category").annotate(units=_net_units())
            ):
                contexts[row["partner_id"]].units_by_category[row["product__category"]] = row["units"]
    if RuleKind.NEW_CUSTOMER in kinds:
        # New to that partner: the first sale of the partner to the customer, ever, falls in the range.
        firsts = (
            new_customers(starts_on=starts_on, ends_before=ends_on + timedelta(days=1))
            .filter(partner_id__in=partner_ids)
            .values("partner_id", "customer_id", "customer__name", first=F("first_invoice_date"))
            .order_by("partner_id", "first", "customer__name")
        )
        for row in firsts:
            contexts[row["partner_id"]].new_customers.append(
                {"customer_id": row["customer_id"], "name": row["customer__name"], "first_sale_on": row["first"].isoformat()}
            )
    if RuleKind.CERTIFICATION in kinds:
        certifications = (
            Certification.objects.filter(partner_id__in=partner_ids, earned_on__range=(starts_on, ends_on))
            .select_related("contact")
            .order_by("earned_on", "pk")
        )
        for cert in certifications:
            contexts[cert.partner_id].certifications.append(
                {"id": cert.pk, "name": cert.name, "contact": cert.contact.full_name, "earned_on": cert.earned_on.isoformat()}
            )
    return contexts


def compute_lines(rules, contexts):
    """{(partner_id, rule_id, reward_type): Line} of what each partner earns under each rule."""
    result = {}
    for pid, context in contexts.items():
        for index, rule in enumerate(rules):
            rule_key = rule.pk if rule.pk is not None else f"new-{index}"
            for line in rule_type_for(rule.kind).compute(rule.params, context):
                key = (pid, rule_key, line.reward_type)
                if key in result:
                    result[key].amount += line.amount
                    result[key].points += line.points
                else:
                    result[key] = line
    return result


def totals_by_partner(lines):
    totals = defaultdict(lambda: {"amount": ZERO, "points": 0, "cash": ZERO, "mdf": ZERO, "awards": []})
    for (pid, _rule_id, reward_type), line in lines.items():
        entry = totals[pid]
        entry["amount"] += line.amount
        entry["points"] += line.points
        if reward_type == "cash":
            entry["cash"] += line.amount
        elif reward_type == "mdf":
            entry["mdf"] += line.amount
        elif reward_type in ("trip", "exclusive_access"):
            entry["awards"].append(line.detail.get("reward", ""))
    return dict(totals)
