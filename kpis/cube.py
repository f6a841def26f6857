"""The channel cube: the overview's figures per month and group of partners, and sets of partners as bitmaps.

The overview sums a period's figures over every partner of the filters. Read from the rollups and
activity tables, that costs time in proportion to the partners; read from cells, one per month and
(type, tier, territory, account manager), it costs time in proportion to the cells, which stop
growing once every combination is used. `compute()` reads each table once with the definitions'
filters (`kpis.definitions`), grouped by month and cell in the database (portal logins, which
count distinct days per partner, per partner and month); `kpis.services.channel_cube_refresh`
stores the result. Figures that pair two moments of the same partner (retention, the partners in
the channel, cohorts) cannot be summed over cells: they are bitmaps of partner ids, combined with
AND and counted.

Every function here reads across partners on purpose: only the managers' overview reads the cube.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from core.dates import month_end, month_start_after
from enablement.models import Certification
from incentives.models import EarningLine
from partners.models import Interaction, Partner, PartnerStatus, PartnerStatusChange
from sales.models import CustomerFirstSale, MarketDimension, MarketFirstSale, SalesMonth

from . import definitions as kpi

DIMENSIONS = ("partner_type", "tier_id", "territory_id", "account_manager_id")
FILTER_SETS = {"partner_type": "partner_type", "tier": "tier_id", "territory": "territory_id", "account_manager": "account_manager_id"}
MONEY = ("revenue", "participant_revenue", "incentive_cost")
COUNTS = (
    "incentive_points",
    "new_customers",
    "new_countries",
    "new_categories",
    "engagement_points",
    "nps_answers",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
)
MEASURES = MONEY + COUNTS
NOW = "now"


def month_key(month):
    return f"{month:%Y-%m}"


@dataclass
class CubeFigures:
    first_month: date
    last_month: date
    built_on: date
    partners: int
    cells: dict = field(default_factory=dict)  # (month, type, tier, territory, manager) -> {measure: value}
    sets: dict = field(default_factory=dict)  # name -> bytearray


class Bitmap:
    """A bitmap of partner ids up to a size fixed in advance, as little-endian bytes (bit n of the integer = partner n)."""

    def __init__(self, size):
        self.bits = bytearray(size)

    def add(self, partner_id):
        self.bits[partner_id >> 3] |= 1 << (partner_id & 7)


def as_int(bits):
    return int.from_bytes(bytes(bits), "little")


def _month_range(first, last):
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month_start_after(month, 1)
    return months


def _bounds(today):
    """The first and last month at whose end a partner's status can differ: the sets are constant
    before the earliest status change or joining day and after the latest (cells need no bounds)."""
    firsts, lasts = [today.replace(day=1)], [today.replace(day=1)]
    for queryset, name in ((Partner.objects.all(), "joined_on"), (PartnerStatusChange.objects.all(), "changed_at")):
        row = queryset.aggregate(first=Min(name), last=Max(name))
        for value, bucket in ((row["first"], firsts), (row["last"], lasts)):
            if value is not None:
                value = timezone.localtime(value).date() if isinstance(value, datetime) else value
                bucket.append(value.replace(day=1))
    return min(firsts), max(lasts)


def _nps_answers():
    from surveys.models import Answer, QuestionKind

    return Answer.objects.filter(question__kind=QuestionKind.NPS, number__isnull=False, response__wave__survey__is_anonymous=False)


def _grouped(queryset, partner, month, **aggregates):
    """Rows of `queryset` summed per month and the partner's cell: [(cell key, {aggregate: value})]; one query.

    `partner` is the path to the partner from the queryset's model ("partner", "response__partner"),
    `month` an expression of the row's month. The database joins the partner and groups, so only
    cells travel, not one row per partner and month.
    """
    fields = {f"cell_{name}": F(f"{partner}__{name}") for name in DIMENSIONS}
    sums = {f"sum_{name}": aggregate for name, aggregate in aggregates.items()}  # not a field's name: "revenue" is one
    rows = queryset.annotate(cell_month=month, **fields).values("cell_month", *fields).annotate(**sums).order_by()
    return [
        ((kpi.as_date(row["cell_month"]), *(row[f"cell_{key}"] for key in DIMENSIONS)), {key: row[f"sum_{key}"] for key in aggregates})
        for row in rows
    ]


def compute(*, today):
    """Every cell and set of the cube from the tables as they are; a fixed number of queries (14)."""
    first, last = _bounds(today)
    partner_cells = {row[0]: row[1:] for row in Partner.objects.values_list("pk", *DIMENSIONS).order_by().iterator(chunk_size=10_000)}
    cells = defaultdict(lambda: dict.fromkeys(MEASURES, 0))

    def add(key, figures):
        cell = cells[key]
        for name, value in figures.items():
            cell[name] += value or 0

    covering = EarningLine.objects.filter(partner_id=OuterRef("partner_id"), period__ends_on__gte=OuterRef("month")).annotate(
        first_month=TruncMonth("period__starts_on")
    )
    sales = _grouped(SalesMonth.objects.all(), "partner", F("month"), revenue=Sum("revenue"))
    # EXISTS in the WHERE clause, not in the sum's FILTER: the database turns it into one semi-join
    # instead of a look-up of the earnings per monthly rollup row (3.9 s -> 0.4 s at 10,000 partners).
    participants = _grouped(
        SalesMonth.objects.filter(Exists(covering.filter(first_month__lte=OuterRef("month")))),
        "partner",
        F("month"),
        participant_revenue=Sum("revenue"),
    )
    customers = _grouped(CustomerFirstSale.objects.all(), "partner", TruncMonth("first_invoice_date"), new_customers=Count("partner_id"))
    markets = _grouped(
        MarketFirstSale.objects.all(),
        "partner",
        F("first_month"),
        new_countries=Count("partner_id", filter=Q(dimension=MarketDimension.COUNTRY)),
        new_categories=Count("partner_id", filter=Q(dimension=MarketDimension.CATEGORY)),
    )
    incentives = _grouped(
        EarningLine.objects.all(),
        "partner",
        TruncMonth("period__ends_on"),
        incentive_cost=Sum("amount", filter=Q(reward_type__in=kpi.CASH_TYPES)),
        incentive_points=Sum("points"),
    )
    from surveys.models import nps_aggregates

    nps = _grouped(
        _nps_answers(),
        "response__partner",
        TruncMonth("response__submitted_at"),
        **nps_aggregates("nps_", count="nps_answers"),
    )
    for rows in (sales, participants, customers, markets, incentives, nps, _engagement(partner_cells)):
        for key, figures in rows:
            add(key, figures)
    figures = CubeFigures(first_month=first, last_month=last, built_on=today, partners=len(partner_cells))
    figures.cells = {key: values for key, values in cells.items() if any(values.values())}
    figures.sets = _sets(partner_cells, first, last, today)
    return figures


def _engagement(partner_cells):
    """[(cell key, {"engagement_points"})]: `definitions.engagement` per month and cell; 3 queries.

    Activities and certifications are counted per cell in the database; portal logins count distinct
    days per partner, so they are counted per partner and month and added to the partner's cell.
    """
    kinds = [kind for group in kpi.ENGAGEMENT_KINDS.values() for kind in group]
    counts = {name: Count("id", filter=Q(kind__in=group)) for name, group in kpi.ENGAGEMENT_KINDS.items()}
    counted = _grouped(Interaction.objects.filter(kind__in=kinds), "partner", TruncMonth("occurred_at"), **counts)
    rows = [(key, {"engagement_points": sum(row[name] * kpi.ENGAGEMENT_POINTS[name] for name in counts)}) for key, row in counted]
    certified = _grouped(Certification.objects.all(), "partner", TruncMonth("earned_on"), n=Count("id"))
    rows += [(key, {"engagement_points": row["n"] * kpi.ENGAGEMENT_POINTS["certifications"]}) for key, row in certified]
    logins = (
        Interaction.objects.filter(kind=kpi.InteractionKind.PORTAL_LOGIN)
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("partner_id", "month")
        .annotate(days=Count(TruncDate("occurred_at"), distinct=True))
        .order_by()
    )
    points = kpi.ENGAGEMENT_POINTS["portal_logins"]
    for partner_id, month, days in logins:
        if partner_id not in partner_cells:
            continue  # created while the cube was being read: the next refresh counts it
        rows.append(((kpi.as_date(month), *partner_cells[partner_id]), {"engagement_points": days * points}))
    return rows


def _sets(partner_cells, first, last, today):
    """The bitmaps: statuses at each month's end (and now), joining months, and one per filter value.

    Each partner's status history is walked once against the ordered moments (the rule of
    `definitions.status_on`: the latest change before the moment, else the first change's "from"
    status, else the current status), so the work is partners x months of plain comparisons.
    """
    history = defaultdict(list)
    for partner_id, changed_at, from_status, to_status in (
        PartnerStatusChange.objects.order_by("partner_id", "changed_at", "id")
        .values_list("partner_id", "changed_at", "from_status", "to_status")
        .iterator(chunk_size=20_000)
    ):
        history[partner_id].append((changed_at, from_status, to_status))
    size = max(partner_cells, default=0) // 8 + 1
    sets = defaultdict(lambda: Bitmap(size))
    moments = [(month_key(month), month_end(month)) for month in _month_range(month_start_after(first, -1), last)]
    moments.append((NOW, today))
    moments = sorted(
        ((kpi.day_end(day), day, sets[f"active:{key}"], sets[f"retained:{key}"], sets[f"channel:{key}"]) for key, day in moments),
        key=lambda moment: moment[0],
    )  # the walk below needs them in time order ("now" falls inside the last months)
    active, retained, in_channel = PartnerStatus.ACTIVE, set(kpi.RETAINED), set(kpi.IN_CHANNEL)
    for partner_id, status, joined_on in Partner.objects.values_list("pk", "status", "joined_on").order_by().iterator(chunk_size=10_000):
        if partner_id not in partner_cells:
            continue  # created while the cube was being read: the next refresh counts it
        changes = history.get(partner_id, ())
        byte, bit = partner_id >> 3, 1 << (partner_id & 7)
        index, count = 0, len(changes)
        before = changes[0][1] if changes else status
        for end, day, active_set, retained_set, channel_set in moments:
            while index < count and changes[index][0] < end:
                index += 1
            status_then = changes[index - 1][2] if index else before
            if status_then == active:
                active_set.bits[byte] |= bit
            if status_then in retained:
                retained_set.bits[byte] |= bit
            if status_then in in_channel and (joined_on is None or joined_on <= day):
                channel_set.bits[byte] |= bit
        if status in in_channel:
            sets["current"].add(partner_id)
        if joined_on is not None and joined_on <= today:
            sets[f"joined:{month_key(joined_on)}"].add(partner_id)
        for name, value in zip(FILTER_SETS, partner_cells[partner_id], strict=True):
            if value not in (None, ""):
                sets[f"{name}:{value}"].add(partner_id)
    return {name: bitmap.bits for name, bitmap in sets.items()}
