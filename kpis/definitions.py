"""Every KPI, defined once: set-based queries over the rollups and activity tables (docs/kpis.md).

Each function answers for a set of partners in a fixed number of queries, whatever the size of
the set. The set is a `Q` on the `partner_id` of the table read, built by `partner_q()`: a list of
ids, an id range (one chunk of the nightly run) or the dashboard filters. Periods of sales figures
are whole months (`Period`), because the rollups are monthly; activity figures use exact days.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import CharField, Count, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseKind
from core.dates import month_start_after, quarter_start
from enablement.models import Certification
from incentives.models import EarningLine, RewardType
from partners.models import Interaction, InteractionKind, Partner, PartnerStatus, PartnerStatusChange
from sales.models import MarketDimension, MarketFirstSale, SalesMonth
from sales.selectors import new_customers
from surveys.selectors import partner_satisfaction

ZERO = Decimal("0")
EVERY = Q()  # the empty partner condition: every partner

# --- Loyalty-score components: name -> label, and whether more is worse -------------------------

SALES, GROWTH, ENGAGEMENT, SATISFACTION, CONSISTENCY, EXPANSION, CASES = (
    "sales",
    "growth",
    "engagement",
    "satisfaction",
    "consistency",
    "expansion",
    "cases",
)
COMPONENTS = {
    SALES: _("sales performance"),
    GROWTH: _("growth"),
    ENGAGEMENT: _("engagement"),
    SATISFACTION: _("satisfaction"),
    CONSISTENCY: _("tenure and ordering consistency"),
    EXPANSION: _("market expansion"),
    CASES: _("case load"),
}
NEGATIVE_COMPONENTS = {CASES}


def default_weights():
    return {SALES: 20, GROWTH: 15, ENGAGEMENT: 20, SATISFACTION: 15, CONSISTENCY: 10, EXPANSION: 10, CASES: 10}


def default_parameters():
    """Raw value scoring 0 ("floor") and 100 ("target"); for case load the target is the load that scores 0."""
    return {
        SALES: {"floor": 0, "target": 250000},
        GROWTH: {"floor": -0.5, "target": 0.5},
        ENGAGEMENT: {"floor": 0, "target": 30},
        SATISFACTION: {"floor": -100, "target": 100},
        CONSISTENCY: {"floor": 0, "target": 1},
        EXPANSION: {"floor": 0, "target": 10},
        CASES: {"floor": 0, "target": 5},
    }


# Engagement points per activity (documented in docs/kpis.md); portal logins count once per day.
ENGAGEMENT_POINTS = {
    "training": 3,
    "certifications": 5,
    "events": 3,
    "meetings": 2,
    "downloads": 1,
    "portal_logins": 1,
}
ENGAGEMENT_KINDS = {
    "training": [InteractionKind.TRAINING_COMPLETED],
    "events": [InteractionKind.EVENT_ATTENDED],
    "meetings": [InteractionKind.MEETING, InteractionKind.QUARTERLY_REVIEW],
    "downloads": [InteractionKind.RESOURCE_DOWNLOADED],
}
ACTIVITY_DAYS = 90  # engagement and case load look back this many days, the day itself included
CASE_WEIGHT = {CaseKind.SUPPORT: 1, CaseKind.CONFLICT: 2, CaseKind.CHANNEL_CONFLICT: 2}
IN_CHANNEL = [PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE, PartnerStatus.INACTIVE]
RETAINED = [PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE]

# --- Dates and periods -------------------------------------------------------------------------


def day_start(day):
    """The aware start of a local calendar day: activity stamped before it belongs to earlier days."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day):
    """The aware start of the next day: "on or before `day`" means strictly before this."""
    return day_start(day + timedelta(days=1))


@dataclass(frozen=True)
class Period:
    """Whole months [start, end): `start` is a first of month, `end` the first of the month after the last."""

    start: date
    end: date

    @classmethod
    def from_dates(cls, period_start, period_end):
        """The months that cover period_start..period_end (inclusive)."""
        if period_end < period_start:
            raise ValueError("period_end before period_start")
        return cls(period_start.replace(day=1), month_start_after(period_end, 1))

    @classmethod
    def trailing(cls, on_date, months=12):
        """The `months` complete months before the month of `on_date`: nothing dated after it counts."""
        end = on_date.replace(day=1)
        return cls(month_start_after(end, -months), end)

    @property
    def length(self):
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    @property
    def months(self):
        return [month_start_after(self.start, offset) for offset in range(self.length)]

    @property
    def last_day(self):
        return self.end - timedelta(days=1)

    def previous(self):
        return Period(month_start_after(self.start, -self.length), self.start)

    def last_year(self):
        return Period(month_start_after(self.start, -12), month_start_after(self.end, -12))


# --- Which partners ----------------------------------------------------------------------------


def partner_q(*, ids=None, id_range=None, filters=None, field="partner_id"):
    """A Q on `field` for a set of partners: ids, an inclusive (first, last) id range and/or dashboard filters.

    `filters` keys: territory, tier, partner_type, account_manager (ids or a type value); empty
    values are ignored. No argument means every partner.
    """
    condition = Q()
    if ids is not None:
        condition &= Q(**{f"{field}__in": list(ids)})
    if id_range is not None:
        condition &= Q(**{f"{field}__gte": id_range[0], f"{field}__lte": id_range[1]})
    partners = partner_filter_q(filters)
    if partners:
        condition &= Q(**{f"{field}__in": Partner.objects.filter(partners).values("pk")})
    return condition


def partner_filter_q(filters, prefix=""):
    lookups = {"territory": "territory_id", "tier": "tier_id", "partner_type": "partner_type", "account_manager": "account_manager_id"}
    condition = Q()
    for key, lookup in lookups.items():
        value = (filters or {}).get(key)
        if value not in (None, "", []):
            condition &= Q(**{f"{prefix}{lookup}__in" if isinstance(value, list | tuple) else f"{prefix}{lookup}": value})
    return condition


def status_on(day):
    """An annotation: the partner's status at the end of `day`, from its status history.

    The latest change on or before the day gives it; without one, the "from" status of the first
    later change (blank: the partner did not exist yet); without any history, the current status.
    """
    outer = OuterRef("pk")
    end = day_end(day)
    last = PartnerStatusChange.objects.filter(partner_id=outer, changed_at__lt=end).order_by("-changed_at", "-id")
    nxt = PartnerStatusChange.objects.filter(partner_id=outer, changed_at__gte=end).order_by("changed_at", "id")
    return Coalesce(
        Subquery(last.values("to_status")[:1]),
        Subquery(nxt.values("from_status")[:1]),
        F("status"),
        output_field=CharField(),
    )


def partners_in_channel(*, on_date, condition=EVERY):
    """[{id, partner_type, tier_id, territory_id, account_manager_id, joined_on}] of partners in the
    channel (onboarding, active or inactive) at the end of `on_date` and joined by then; one query."""
    return list(
        Partner.objects.filter(partner_q_to(condition, "pk"))
        .filter(Q(joined_on__isnull=True) | Q(joined_on__lte=on_date))
        .annotate(status_then=status_on(on_date))
        .filter(status_then__in=IN_CHANNEL)
        .order_by("pk")
        .values("id", "name", "partner_type", "tier_id", "territory_id", "account_manager_id", "joined_on", "status_then")
    )


# --- Sales performance -------------------------------------------------------------------------

GROUPS = {
    "partner": "partner_id",
    "partner_type": "partner__partner_type",
    "tier": "partner__tier_id",
    "territory": "partner__territory_id",
}


def _growth(current, previous):
    return None if not previous or previous <= 0 else (current - previous) / previous


def sales_performance(*, period, by="partner", condition=EVERY, territory_share=True):
    """{key: {revenue, revenue_last_year, growth, share}} per partner, type, tier or territory; 2 queries
    (1 with territory_share=False: the partners' shares are left None for the caller to fill).

    revenue = sum of SalesMonth.revenue over the period's months (credit notes already netted);
    growth = (revenue - same months last year) / same months last year, None without last year's;
    share = for a partner, its share of its territory's revenue (all partners of the territory);
    for a group, its share of the revenue of all groups shown.
    """
    key = GROUPS[by]
    last_year = period.last_year()
    rows = (
        SalesMonth.objects.filter(condition)
        .filter(Q(month__gte=period.start, month__lt=period.end) | Q(month__gte=last_year.start, month__lt=last_year.end))
        .values(key, *(["partner__territory_id"] if by == "partner" else []))
        .annotate(
            current=Coalesce(Sum("revenue", filter=Q(month__gte=period.start)), ZERO),
            last_year=Coalesce(Sum("revenue", filter=Q(month__lt=last_year.end)), ZERO),
        )
        .order_by()
    )
    result = {}
    for row in rows:
        result[row[key]] = {
            "revenue": row["current"],
            "revenue_last_year": row["last_year"],
            "growth": _growth(row["current"], row["last_year"]),
            "territory_id": row.get("partner__territory_id"),
        }
    if by == "partner" and not territory_share:
        for figures in result.values():
            figures["share"] = None
    elif by == "partner":
        totals = dict(
            SalesMonth.objects.filter(month__gte=period.start, month__lt=period.end, partner__territory__isnull=False)
            .values("partner__territory_id")
            .annotate(total=Sum("revenue"))
            .order_by()
            .values_list("partner__territory_id", "total")
        )
        for figures in result.values():
            total = totals.get(figures["territory_id"])
            figures["share"] = figures["revenue"] / total if total and total > 0 else None
    else:
        grand = sum((figures["revenue"] for figures in result.values()), ZERO)
        for figures in result.values():
            figures["share"] = figures["revenue"] / grand if grand > 0 else None
    return result


def channel_revenue(*, period, condition=EVERY):
    """{revenue, revenue_last_year} summed over the partners of `condition`; one query.

    The channel total of `sales_performance` (the same sums), without grouping by partner.
    """
    last_year = period.last_year()
    current = Q(month__gte=period.start, month__lt=period.end)
    previous = Q(month__gte=last_year.start, month__lt=last_year.end)
    totals = (
        SalesMonth.objects.filter(condition)
        .filter(current | previous)
        .aggregate(now=Coalesce(Sum("revenue", filter=current), ZERO), before=Coalesce(Sum("revenue", filter=previous), ZERO))
    )
    return {"revenue": totals["now"], "revenue_last_year": totals["before"]}


def revenue_by_month(*, period, by=None, condition=EVERY):
    """{(group key, month): revenue} for a trend chart, one query; `by` None gives the channel total."""
    fields = ["month"] + ([GROUPS[by]] if by else [])
    rows = (
        SalesMonth.objects.filter(condition, month__gte=period.start, month__lt=period.end)
        .values(*fields)
        .annotate(total=Sum("revenue"))
        .order_by()
    )
    return {(row[GROUPS[by]] if by else None, row["month"]): row["total"] for row in rows}


def ordering_history(*, period, condition=EVERY):
    """{partner_id: {revenue, previous_revenue, active_months, first_month}} for the score; one query.

    `previous_revenue` is the 12 months before the period; `active_months` the months of the period
    with positive revenue; `first_month` the partner's first rollup month before the period's end.
    """
    previous = Period(month_start_after(period.start, -12), period.start)
    rows = (
        SalesMonth.objects.filter(condition, month__lt=period.end)
        .values("partner_id")
        .annotate(
            window_revenue=Coalesce(Sum("revenue", filter=Q(month__gte=period.start)), ZERO),
            previous_revenue=Coalesce(Sum("revenue", filter=Q(month__gte=previous.start, month__lt=previous.end)), ZERO),
            active_months=Count("id", filter=Q(month__gte=period.start, revenue__gt=0)),
            first_month=Min("month"),
        )
        .order_by()
    )
    return {row.pop("partner_id"): {**row, "revenue": row.pop("window_revenue")} for row in rows}


# --- Market expansion --------------------------------------------------------------------------


def market_expansion(*, period, condition=EVERY):
    """{partner_id: {new_customers, new_countries, new_categories}}; 2 queries.

    New means first seen with this partner inside the period: a customer whose first invoice line
    (amount > 0) with the partner falls in it (`CustomerFirstSale`), a customer country or a product
    category whose first monthly rollup row (SalesMonthDetail, revenue > 0) falls in it
    (`MarketFirstSale`). Both tables are kept by the sales import, so a period counts its own rows
    instead of grouping the sales or the detail rollups of the whole history.
    """
    result = defaultdict(lambda: {"new_customers": 0, "new_countries": 0, "new_categories": 0})
    customers = (
        new_customers(starts_on=period.start, ends_before=period.end, condition=condition)
        .values("partner_id")
        .annotate(n=Count("partner_id"))  # not the pk: an index-only scan of (first_invoice_date, partner)
        .order_by()
        .values_list("partner_id", "n")
    )
    for partner_id, count in customers:
        result[partner_id]["new_customers"] = count
    markets = (
        MarketFirstSale.objects.filter(condition, first_month__gte=period.start, first_month__lt=period.end)
        .values("partner_id", "dimension")
        .annotate(n=Count("partner_id"))
        .order_by()
        .values_list("partner_id", "dimension", "n")
    )
    keys = {MarketDimension.COUNTRY: "new_countries", MarketDimension.CATEGORY: "new_categories"}
    for partner_id, dimension, count in markets:
        result[partner_id][keys[dimension]] = count
    return dict(result)


def market_expansion_totals(*, period, condition=EVERY):
    """{new_customers, new_countries, new_categories} summed over the partners of `condition`; 2 queries.

    The channel sum of `market_expansion` (the same rows), counted without grouping by partner.
    """
    customers = new_customers(starts_on=period.start, ends_before=period.end, condition=condition)
    totals = {"new_customers": customers.aggregate(n=Count("partner_id"))["n"], "new_countries": 0, "new_categories": 0}
    markets = (
        MarketFirstSale.objects.filter(condition, first_month__gte=period.start, first_month__lt=period.end)
        .values("dimension")
        .annotate(n=Count("partner_id"))
        .order_by()
        .values_list("dimension", "n")
    )
    keys = {MarketDimension.COUNTRY: "new_countries", MarketDimension.CATEGORY: "new_categories"}
    for dimension, count in markets:
        totals[keys[dimension]] = count
    return totals


# --- Engagement --------------------------------------------------------------------------------


def engagement(*, start, end, condition=EVERY):
    """{partner_id: {training, certifications, events, meetings, downloads, portal_logins, points}}; 2 queries.

    Counts activities dated start..end (local days, inclusive) from partners.Interaction and
    certifications earned (partners.Certification). Portal logins count distinct days with a login.
    points = sum of count x ENGAGEMENT_POINTS.
    """
    since, until = day_start(start), day_end(end)
    annotations = {name: Count("id", filter=Q(kind__in=kinds)) for name, kinds in ENGAGEMENT_KINDS.items()}
    annotations["portal_logins"] = Count(TruncDate("occurred_at"), filter=Q(kind=InteractionKind.PORTAL_LOGIN), distinct=True)
    kinds = [kind for group in ENGAGEMENT_KINDS.values() for kind in group] + [InteractionKind.PORTAL_LOGIN]
    rows = (
        Interaction.objects.filter(condition, kind__in=kinds, occurred_at__gte=since, occurred_at__lt=until)
        .values("partner_id")
        .annotate(**annotations)
        .order_by()
    )
    empty = dict.fromkeys(ENGAGEMENT_POINTS, 0)
    result = defaultdict(lambda: dict(empty))
    for row in rows:
        result[row.pop("partner_id")].update(row)
    certifications = Certification.objects.filter(condition, earned_on__gte=start, earned_on__lte=end)
    for row in certifications.values("partner_id").annotate(n=Count("id")).order_by():
        result[row["partner_id"]]["certifications"] = row["n"]
    for figures in result.values():
        figures["points"] = sum(figures[name] * points for name, points in ENGAGEMENT_POINTS.items())
    return dict(result)


# --- Satisfaction ------------------------------------------------------------------------------


def satisfaction(*, on_date, partner_ids=None, months=12):
    """{partner_id: figures + "value"} from surveys.selectors.partner_satisfaction; one query.

    value = the partner's NPS (-100..100) over the 12 months up to the end of `on_date`; without
    NPS answers, its mean 1-5 rating mapped onto the same scale ((avg - 3) x 50); a partner with
    no answers is absent from the result (the component is missing, not zero).
    """
    figures = partner_satisfaction(partner_ids=partner_ids, as_of=day_end(on_date), months=months)
    result = {}
    for partner_id, row in figures.items():
        if row["nps"] is not None:
            value = Decimal(row["nps"])
        elif row["avg_rating"] is not None:
            value = (Decimal(str(row["avg_rating"])) - 3) * 50
        else:
            continue
        result[partner_id] = {**row, "value": value}
    return result


def nps_by_month(*, period, condition=EVERY):
    """{month: NpsFigures} of the channel's non-anonymous NPS answers; one query."""
    from surveys.models import Answer, NpsFigures, QuestionKind

    rows = (
        Answer.objects.filter(
            question__kind=QuestionKind.NPS,
            number__isnull=False,
            response__wave__survey__is_anonymous=False,
            response__submitted_at__gte=day_start(period.start),
            response__submitted_at__lt=day_start(period.end),
        )
        .filter(partner_q_to(condition, "response__partner_id"))
        .annotate(month=TruncMonth("response__submitted_at"))
        .nps_by("month")
        .order_by()
    )
    return {as_date(row["month"]): NpsFigures.from_row(row) for row in rows}


def as_date(value):
    """A date from a database value: a truncated timestamp (PostgreSQL) or ISO text (SQLite's raw cursor)."""
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value) if isinstance(value, str) else value


def partner_q_to(condition, field):
    """Re-targets a `partner_q()` condition on `partner_id` to another field path."""
    if not condition:
        return condition
    clone = Q()
    clone.connector, clone.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            clone.children.append(partner_q_to(child, field))
        else:
            lookup, value = child
            clone.children.append((lookup.replace("partner_id", field, 1), value))
    return clone


# --- Conflict and case load --------------------------------------------------------------------


def case_load(*, start, end, condition=EVERY):
    """{partner_id: {cases, conflicts, load}} of cases open at any time start..end; one query.

    A case counts when opened before the end of `end` and not closed before `start`; load weighs
    conflicts and channel conflicts twice (CASE_WEIGHT).
    """
    since, until = day_start(start), day_end(end)
    conflicts = [CaseKind.CONFLICT, CaseKind.CHANNEL_CONFLICT]
    rows = (
        Case.objects.filter(condition, opened_at__lt=until)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .values("partner_id")
        .annotate(cases=Count("id"), conflicts=Count("id", filter=Q(kind__in=conflicts)))
        .order_by()
    )
    return {
        row["partner_id"]: {"cases": row["cases"], "conflicts": row["conflicts"], "load": row["cases"] + row["conflicts"]} for row in rows
    }


# --- Incentive ROI -----------------------------------------------------------------------------

CASH_TYPES = [RewardType.CASH, RewardType.MDF]


def incentive_cost(*, period, condition=EVERY):
    """{partner_id: {cost, points}} of earnings of program periods ending inside `period`; one query.

    cost = cash + MDF earning lines (adjustments included); points are reported apart (no set
    money value), the same convention as incentives.selectors.roi_figures.
    """
    rows = (
        EarningLine.objects.filter(condition, period__ends_on__gte=period.start, period__ends_on__lt=period.end)
        .values("partner_id")
        .annotate(cost=Coalesce(Sum("amount", filter=Q(reward_type__in=CASH_TYPES)), ZERO), points=Coalesce(Sum("points"), 0))
        .order_by()
    )
    return {row["partner_id"]: {"cost": row["cost"], "points": row["points"]} for row in rows}


def incentive_participation(*, period, condition=EVERY):
    """{partner_id: {month}}: the months of `period` a partner took part in an incentive program; one query.

    A partner takes part in a month when it has an earning line of a program period covering
    (part of) that month: the months it was being rewarded for.
    """
    months = defaultdict(set)
    lines = (
        EarningLine.objects.filter(condition, period__starts_on__lt=period.end, period__ends_on__gte=period.start)
        .values_list("partner_id", "period__starts_on", "period__ends_on")
        .distinct()
    )
    for partner_id, starts_on, ends_on in lines:
        month = max(starts_on.replace(day=1), period.start)
        while month <= ends_on and month < period.end:
            months[partner_id].add(month)
            month = month_start_after(month, 1)
    return dict(months)


def incentive_roi(*, period, condition=EVERY):
    """Channel incentive ROI over `period`; 4 queries.

    cost = `incentive_cost` of the period; revenue = the participants' rollup revenue in the
    months they took part (`incentive_participation`); revenue_per_cost = revenue / cost;
    growth_per_cost = (revenue - their revenue in the same months a year earlier) / cost. Per
    program with a non-participant baseline: incentives.selectors.program_roi. Month by month, so
    the channel cube can sum it.
    """
    costs = incentive_cost(period=period, condition=condition)
    participation = incentive_participation(period=period, condition=condition)
    last_year = period.last_year()
    rows = SalesMonth.objects.filter(
        Q(month__gte=period.start, month__lt=period.end) | Q(month__gte=last_year.start, month__lt=last_year.end),
        partner_id__in=list(participation),
    ).values_list("partner_id", "month", "revenue")
    revenue = last_year_revenue = ZERO
    for partner_id, month, amount in rows:
        if month in participation[partner_id]:
            revenue += amount
        if month_start_after(month, 12) in participation[partner_id]:
            last_year_revenue += amount
    cost = sum((row["cost"] for row in costs.values()), ZERO)
    return {
        "participants": len(participation),
        "cost": cost,
        "points": sum(row["points"] for row in costs.values()),
        "revenue": revenue,
        "revenue_last_year": last_year_revenue,
        "revenue_per_cost": revenue / cost if cost else None,
        "growth_per_cost": (revenue - last_year_revenue) / cost if cost else None,
    }


# --- Retention ---------------------------------------------------------------------------------


def retention(*, start, end, condition=EVERY):
    """Share of partners active at the end of `start` still active at the end of `end`; one query.

    {"active_at_start", "retained", "rate"} (rate None when nobody was active at the start).
    """
    rows = (
        Partner.objects.filter(partner_q_to(condition, "pk"))
        .annotate(at_start=status_on(start), at_end=status_on(end))
        .filter(at_start=PartnerStatus.ACTIVE)
        .aggregate(active=Count("id"), retained=Count("id", filter=Q(at_end=PartnerStatus.ACTIVE)))
    )
    active, retained = rows["active"], rows["retained"]
    return {"active_at_start": active, "retained": retained, "rate": Decimal(retained) / Decimal(active) if active else None}


def cohort_retention(*, as_of, condition=EVERY, quarters=8):
    """Retention curves by joining quarter: [{cohort, size, curve}] oldest first; 2 queries.

    A cohort is the partners that joined in one calendar quarter (of the last `quarters`); curve[k]
    is the share of them still in the channel (onboarding or active) at the end of the k-th quarter
    after joining (k = 0 is the joining quarter), for every quarter end up to `as_of`.
    """
    first = month_start_after(quarter_start(as_of), -3 * (quarters - 1))
    partners = list(
        Partner.objects.filter(partner_q_to(condition, "pk"), joined_on__gte=first, joined_on__lte=as_of).values_list(
            "id", "joined_on", "status"
        )
    )
    history = defaultdict(list)
    for partner_id, changed_at, from_status, to_status in (
        PartnerStatusChange.objects.filter(partner_id__in=[pid for pid, _joined, _status in partners])
        .order_by("changed_at", "id")
        .values_list("partner_id", "changed_at", "from_status", "to_status")
    ):
        history[partner_id].append((changed_at, from_status, to_status))
    cohorts = defaultdict(list)
    for partner_id, joined_on, status in partners:
        cohorts[quarter_start(joined_on)].append((partner_id, status))
    result = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        curve = []
        offset = 0
        while True:
            quarter_end = month_start_after(cohort, 3 * (offset + 1)) - timedelta(days=1)
            if quarter_end > as_of and offset > 0:
                break
            moment = day_end(min(quarter_end, as_of))
            kept = sum(1 for pid, status in members if _status_at(history.get(pid, []), moment, status) in RETAINED)
            curve.append(Decimal(kept) / Decimal(len(members)))
            if quarter_end >= as_of:
                break
            offset += 1
        result.append({"cohort": cohort, "label": f"{cohort.year}-Q{(cohort.month - 1) // 3 + 1}", "size": len(members), "curve": curve})
    return result


def _status_at(changes, moment, current):
    """The status at `moment` from a partner's ordered (changed_at, from, to) history (see status_on)."""
    index = bisect.bisect_left([changed_at for changed_at, _from, _to in changes], moment)
    if index > 0:
        return changes[index - 1][2]
    if changes:
        return changes[0][1]
    return current
