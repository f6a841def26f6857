"""Reads of kpis for the dashboards, the portal scorecard and the API: a fixed number of queries each.

`filters` everywhere is a dict with any of: territory, tier, partner_type, account_manager (ids or
lists of ids; a PartnerType value). Periods are dates; sales figures cover the whole months they
touch (`definitions.Period`). Public functions (keyword-only):

- ``channel_overview(*, period_start, period_end, filters=None) -> dict`` headline KPIs, each
  {"value", "previous", "change"} against the previous period of the same length, read from the
  channel cube (`kpis.cube`); ``channel_overview_direct`` computes the same from the tables.
- ``channel_cube_state() -> ChannelCube | None`` when the cube was last built.
- ``territory_revenue(*, territory_id, period) -> Decimal | None`` a territory's revenue, from the cube.
- ``revenue_trend(*, period_start, period_end, by="partner_type", filters=None) -> dict``
  {"months": [date], "series": [{"key", "label", "values": [Decimal]}]}; by: partner_type, tier, territory.
- ``tier_distribution(*, filters=None) -> list`` [{"tier_id", "label", "count"}] of partners in the channel.
- ``score_distribution(*, on_date, filters=None, bucket=10) -> dict`` {"date", "buckets", "bands"}.
- ``nps_trend(*, period_start, period_end, filters=None) -> list`` [{"month", "nps", "count", ...}].
- ``retention_cohorts(*, as_of, filters=None, quarters=8) -> list`` [{"cohort", "label", "size", "curve"}].
- ``movers(*, on_date, days=30, limit=10, filters=None) -> dict`` {"date", "since", "top", "bottom"}.
- ``at_risk_list(*, on_date, filters=None) -> QuerySet[ScoreSnapshot]`` latest at-risk snapshots.
- ``alert_list(*, since=None, filters=None, open_only=False) -> QuerySet[Alert]``.
- ``score_trend(*, partner, start, end) -> list`` [(date, score)].
- ``channel_component_medians(*, on_date) -> dict`` {component: median normalised value}.
- ``channel_day(*, on_date) -> dict`` / ``channel_day_figures(*, on_date) -> dict`` the channel's
  figures of a scored day (partners, median score, score sum, bands, score histogram, component
  medians): stored by the recompute (`ChannelDay`), or computed from the snapshots.
- ``partner_scorecard(*, partner, on_date) -> dict`` every KPI of one partner, its snapshot, trend,
  components against the channel median and the explanation of the latest change.
- ``latest_score_date(*, on_date) -> date | None``.
- ``latest_snapshot(*, partner) -> ScoreSnapshot | None`` the partner's newest snapshot (the score badge).
- ``channel_score_aggregates(*, on_date, min_partners=None) -> dict`` {"date", "partners", "median_score",
  "average_score", "components": {component: median}}: channel figures for the portal, None below
  `min_partners` scored (or present) partners so an aggregate never stands for one or two companies.
- ``improvement_hints(*, components, score_model, limit=3) -> dict`` {"raise": [...], "unmeasured": [...]}:
  the components furthest below target, in words.
- ``portal_scorecard(*, partner, on_date) -> dict`` `partner_scorecard` as a partner user may see it.
- ``change_since(*, snapshot, days=30) -> dict | None`` {"since", "score", "explanation"}: the change
  in words against the partner's latest snapshot at least `days` before (a day-to-day change is often none).
"""

import statistics
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Avg, Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Floor
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scopes_disabled

from core.dates import month_end, month_start_after, quarter_start
from partners.models import Partner, PartnerType, Territory, Tier
from surveys.models import NpsFigures, nps_score

from . import cube, scoring
from . import definitions as kpi
from .models import Alert, Band, ChannelCube, ChannelDay, ChannelMonth, PartnerSet, ScoreSnapshot

ZERO = Decimal("0")


def _change(value, previous):
    if value is None or previous is None:
        return None
    return value - previous


def _figure(value, previous):
    return {"value": value, "previous": previous, "change": _change(value, previous)}


def latest_score_date(*, on_date):
    """The most recent day on or before `on_date` with snapshots (a night may have been skipped); one query."""
    return ScoreSnapshot.objects.filter(date__lte=on_date).aggregate(day=Max("date"))["day"]


def latest_scores(*, on_date):
    """{partner id: score} of each partner's latest snapshot on or before `on_date`; one query.

    The tier evaluation reads these (registered with `incentives.providers` at start-up), so the
    nightly run and the manager's re-evaluation button judge the loyalty criterion alike.
    """
    latest = ScoreSnapshot.objects.filter(partner_id=OuterRef("partner_id"), date__lte=on_date).order_by("-date").values("date")[:1]
    return dict(ScoreSnapshot.objects.filter(date__lte=on_date, date=Subquery(latest)).values_list("partner_id", "score").order_by())


def _two_places(value):
    """An average score to the snapshot's precision: the database's AVG and a stored sum / count then agree."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _growth(current, last_year):
    return None if not last_year or last_year <= 0 else (current - last_year) / last_year


def _score_summary(day, condition):
    latest = latest_score_date(on_date=day)
    if latest is None:
        return {"average": None, "at_risk": 0, "scored": 0}
    return ScoreSnapshot.objects.filter(condition, date=latest).aggregate(
        average=Avg("score"), at_risk=Count("id", filter=Q(band=Band.AT_RISK)), scored=Count("id")
    )


def _nps(period, condition):
    months = kpi.nps_by_month(period=period, condition=condition)
    count = sum(figures.count for figures in months.values())
    if not count:
        return None
    promoters = sum(figures.promoters for figures in months.values())
    detractors = sum(figures.detractors for figures in months.values())
    return nps_score(count=count, promoters=promoters, detractors=detractors)


def _period_figures(period, condition):
    sales = kpi.channel_revenue(period=period, condition=condition)
    revenue = sales["revenue"]
    expansion = kpi.market_expansion_totals(period=period, condition=condition)
    engaged = kpi.engagement(start=period.start, end=period.last_day, condition=condition)
    scores = _score_summary(period.last_day, condition)
    roi = kpi.incentive_roi(period=period, condition=condition)
    retained = kpi.retention(start=period.start - timedelta(days=1), end=period.last_day, condition=condition)
    return {
        "revenue": revenue,
        "growth": _growth(revenue, sales["revenue_last_year"]),
        "partners": len(kpi.partners_in_channel(on_date=period.last_day, condition=condition)),
        "average_score": _two_places(scores["average"]),
        "at_risk": scores["at_risk"],
        "nps": _nps(period, condition),
        "new_customers": expansion["new_customers"],
        "new_countries": expansion["new_countries"],
        "engagement_points": sum(row["points"] for row in engaged.values()),
        "incentive_cost": roi["cost"],
        "incentive_revenue_per_cost": roi["revenue_per_cost"],
        "retention": retained["rate"],
    }


def channel_overview_direct(*, period_start, period_end, filters=None):
    """`channel_overview` computed straight from the rollups and activity tables (the definitions);
    ~26 queries whose time grows with the partners. The cube must give the same figures (tests)."""
    period = kpi.Period.from_dates(period_start, period_end)
    previous = period.previous()
    condition = kpi.partner_q(filters=filters)
    current_figures = _period_figures(period, condition)
    previous_figures = _period_figures(previous, condition)
    return {
        "period": period,
        "previous_period": previous,
        "kpis": {name: _figure(value, previous_figures[name]) for name, value in current_figures.items()},
    }


# --- The channel cube (kpis.cube): what the overview reads ----------------------------------------


def channel_cube_state():
    """The cube's last build (`ChannelCube`) or None before the first; one query."""
    return ChannelCube.objects.filter(pk=1).first()


def _set_key(state, kind, month):
    """The stored set of `kind` at the end of `month`: outside the cube's months the sets do not change."""
    if state is None:
        return None
    month = min(max(month.replace(day=1), month_start_after(state.first_month, -1)), state.last_month)
    return f"{kind}:{cube.month_key(month)}"


def _sets(names):
    rows = PartnerSet.objects.filter(name__in=[name for name in names if name]).values_list("name", "bits")
    return {name: cube.as_int(bits) for name, bits in rows}


def _filter_values(filters):
    """[(filter, [values])] of the filters given: one value or a list of them, empty ones left out."""
    pairs = []
    for key in cube.FILTER_SETS:
        value = (filters or {}).get(key)
        if value not in (None, "", []):
            pairs.append((key, list(value) if isinstance(value, list | tuple) else [value]))
    return pairs


def _filter_set_names(filters):
    return [f"{key}:{item}" for key, values in _filter_values(filters) for item in values]


def _mask(filters, sets):
    """The partners of the filters as a bitmap (AND over the filters of the OR of their values); None: all."""
    mask = None
    for key, values in _filter_values(filters):
        union = 0
        for item in values:
            union |= sets.get(f"{key}:{item}", 0)
        mask = union if mask is None else mask & union
    return mask


def _count(bits, mask):
    return (bits if mask is None else bits & mask).bit_count()


def _cells_by_month(*, start, end, filters, group=None):
    """{(month, group value): {measure: sum}} of the cube's cells of months [start, end); one query."""
    fields = ["month", *([group] if group else [])]
    rows = (
        ChannelMonth.objects.filter(kpi.partner_filter_q(filters), month__gte=start, month__lt=end)
        .values(*fields)
        .annotate(**{name: Sum(name) for name in cube.MEASURES})
        .order_by()
    )
    return {(row.pop("month"), row.pop(group) if group else None): row for row in rows}


def _sum(cells, period, name):
    return sum((values[name] for (month, _group), values in cells.items() if period.start <= month < period.end), 0)


def _cube_period_figures(period, cells, sets, mask, state, scores):
    """The headline figures of one period from the cube's cells and sets; `scores` the period end's score summary."""
    revenue = _sum(cells, period, "revenue")
    last_year = _sum(cells, period.last_year(), "revenue")
    answers = _sum(cells, period, "nps_answers")
    promoters, detractors = _sum(cells, period, "nps_promoters"), _sum(cells, period, "nps_detractors")
    cost = _sum(cells, period, "incentive_cost")
    active_at_start = sets.get(_set_key(state, "active", month_start_after(period.start, -1)), 0)
    active_at_end = sets.get(_set_key(state, "active", period.last_day), 0)
    started = _count(active_at_start, mask)
    return {
        "revenue": Decimal(revenue),
        "growth": _growth(Decimal(revenue), Decimal(last_year)),
        "partners": _count(sets.get(_set_key(state, "channel", period.last_day), 0), mask),
        "average_score": _two_places(scores["average"]),
        "at_risk": scores["at_risk"],
        "nps": nps_score(count=answers, promoters=promoters, detractors=detractors),
        "new_customers": _sum(cells, period, "new_customers"),
        "new_countries": _sum(cells, period, "new_countries"),
        "engagement_points": _sum(cells, period, "engagement_points"),
        "incentive_cost": Decimal(cost),
        "incentive_revenue_per_cost": Decimal(_sum(cells, period, "participant_revenue")) / Decimal(cost) if cost else None,
        "retention": Decimal(_count(active_at_start & active_at_end, mask)) / Decimal(started) if started else None,
    }


def _score_summaries(days, filters):
    """{day: {"average", "at_risk", "scored"}} of the latest scores on or before each day; 3-4 queries.

    Unfiltered, the stored channel figures of the scored day (`ChannelDay`) give them."""
    latest = {day: latest_score_date(on_date=day) for day in days}
    scored_days = {day for day in latest.values() if day is not None}
    stored = {}
    if not filters and scored_days:
        rows = ChannelDay.objects.filter(date__in=scored_days).values("date", "partners", "score_sum", "bands")
        stored = {row["date"]: row for row in rows}
    summaries = {}
    for scored in scored_days:
        row = stored.get(scored)
        if row is None:
            summaries[scored] = ScoreSnapshot.objects.filter(kpi.partner_q(filters=filters), date=scored).aggregate(
                average=Avg("score"), at_risk=Count("id", filter=Q(band=Band.AT_RISK)), scored=Count("id")
            )
        else:
            average = row["score_sum"] / row["partners"] if row["partners"] else None
            summaries[scored] = {"average": average, "at_risk": row["bands"].get(Band.AT_RISK, 0), "scored": row["partners"]}
    empty = {"average": None, "at_risk": 0, "scored": 0}
    return {day: summaries[scored] if scored else empty for day, scored in latest.items()}


def channel_overview(*, period_start, period_end, filters=None):
    """Headline KPIs of the channel for the months of the period and the same length before, each
    {"value", "previous", "change"}: read from the channel cube, so ~8 queries whose time does not
    grow with the partners. Equal to `channel_overview_direct` for the cube's build (tests)."""
    period = kpi.Period.from_dates(period_start, period_end)
    previous = period.previous()
    state = channel_cube_state()
    cells = _cells_by_month(start=previous.last_year().start, end=period.end, filters=filters)
    names = _filter_set_names(filters)
    for each in (period, previous):
        names += [_set_key(state, "active", month_start_after(each.start, -1)), _set_key(state, "active", each.last_day)]
        names += [_set_key(state, "channel", each.last_day)]
    sets = _sets(names)
    mask = _mask(filters, sets)
    summaries = _score_summaries([period.last_day, previous.last_day], filters)
    current_figures, previous_figures = (
        _cube_period_figures(each, cells, sets, mask, state, summaries[each.last_day]) for each in (period, previous)
    )
    return {
        "period": period,
        "previous_period": previous,
        "built_at": state.built_at if state else None,
        "kpis": {name: _figure(value, previous_figures[name]) for name, value in current_figures.items()},
    }


def _labels(by, keys):
    if by == "partner_type":
        return {key: str(PartnerType(key).label) if key in PartnerType.values else key for key in keys}
    model = {"tier": Tier, "territory": Territory}[by]
    names = dict(model.objects.filter(pk__in=[key for key in keys if key is not None]).values_list("pk", "name"))
    return {key: names.get(key, "—") for key in keys}


def revenue_trend(*, period_start, period_end, by="partner_type", filters=None):
    """Monthly revenue per partner type, tier or territory, from the channel cube; 2 queries (cells, labels)."""
    period = kpi.Period.from_dates(period_start, period_end)
    group = {"partner_type": "partner_type", "tier": "tier_id", "territory": "territory_id"}[by]
    cells = _cells_by_month(start=period.start, end=period.end, filters=filters, group=group)
    figures = {key: values["revenue"] for key, values in cells.items() if values["revenue"]}
    keys = {key for _month, key in figures}
    labels = _labels(by, keys) if keys else {}
    keys = sorted(keys, key=lambda key: (key is None, str(labels[key]).casefold(), str(key)))
    return {
        "months": period.months,
        "series": [
            {"key": key, "label": labels[key], "values": [figures.get((month, key), ZERO) for month in period.months]} for key in keys
        ],
    }


def tier_distribution(*, filters=None):
    """Partners in the channel now (current status) per current tier, lowest rank first, from the cube's
    sets; 2 queries. Partners without a tier are counted under "—" first."""
    tiers = list(Tier.objects.order_by("rank", "name").values_list("pk", "name"))
    sets = _sets(["current", *_filter_set_names(filters), *[f"tier:{pk}" for pk, _name in tiers]])
    mask = _mask(filters, sets)
    current = sets.get("current", 0) if mask is None else sets.get("current", 0) & mask
    rows, tiered = [], 0
    for pk, name in tiers:
        members = sets.get(f"tier:{pk}", 0)
        tiered |= members
        count = (current & members).bit_count()
        if count:
            rows.append({"tier_id": pk, "label": name, "count": count})
    untiered = (current & ~tiered).bit_count()
    return ([{"tier_id": None, "label": "—", "count": untiered}] if untiered else []) + rows


def score_distribution(*, on_date, filters=None, bucket=10):
    """Latest snapshots on or before `on_date` in score buckets of `bucket` points, and per band; 2-3 queries
    (for the whole channel the day's `ChannelDay`, which the recompute stored)."""
    day = latest_score_date(on_date=on_date)
    edges = list(range(0, 100, bucket))
    result = {"date": day, "buckets": [{"from": low, "to": min(low + bucket, 100), "count": 0} for low in edges], "bands": {}}
    if day is None:
        return result
    if not filters:
        stored = ChannelDay.objects.filter(date=day).values("histogram", "bands").first()
        if stored is not None:  # the whole channel: the day's stored histogram per score point (exact, one row)
            for point, count in enumerate(stored["histogram"]):
                result["buckets"][min(point // bucket, len(edges) - 1)]["count"] += count
            result["bands"] = {band: count for band, count in stored["bands"].items() if count}
            return result
    snapshots = ScoreSnapshot.objects.filter(kpi.partner_q(filters=filters), date=day)
    for row in snapshots.annotate(slot=Floor(F("score") / bucket)).values("slot").annotate(n=Count("id")).order_by():
        index = min(int(row["slot"]), len(edges) - 1)
        result["buckets"][index]["count"] += row["n"]
    result["bands"] = dict(snapshots.values("band").annotate(n=Count("id")).order_by().values_list("band", "n"))
    return result


def nps_trend(*, period_start, period_end, filters=None):
    """Channel NPS per month of the non-anonymous survey answers, from the channel cube; one query.
    NPS None for a month without answers."""
    period = kpi.Period.from_dates(period_start, period_end)
    cells = _cells_by_month(start=period.start, end=period.end, filters=filters)
    trend = []
    for month in period.months:
        values = cells.get((month, None))
        count = values["nps_answers"] if values else 0
        figures = NpsFigures.from_row(values, prefix="nps_", count="nps_answers") if count else None
        trend.append(
            {
                "month": month,
                "nps": figures.score if figures else None,
                "count": count,
                "promoters": figures.promoters if figures else 0,
                "detractors": figures.detractors if figures else 0,
            }
        )
    return trend


def retention_cohorts(*, as_of, filters=None, quarters=8):
    """`definitions.cohort_retention` from the cube's sets; 2 queries. The cube holds statuses at
    month ends and at the end of its build day, so another `as_of` is computed from the tables."""
    state = channel_cube_state()
    if state is None or (as_of != month_end(as_of) and as_of != state.built_on):
        return kpi.cohort_retention(as_of=as_of, condition=kpi.partner_q(filters=filters), quarters=quarters)
    first = month_start_after(quarter_start(as_of), -3 * (quarters - 1))
    cohorts = [month_start_after(first, 3 * index) for index in range(quarters)]

    def status_key(day):
        return f"retained:{cube.NOW}" if day == state.built_on else _set_key(state, "retained", day)

    names = [f"joined:{cube.month_key(month_start_after(cohort, offset))}" for cohort in cohorts for offset in range(3)]
    moments = {}
    for cohort in cohorts:
        offset = 0
        while True:
            quarter_end = month_start_after(cohort, 3 * (offset + 1)) - timedelta(days=1)
            if quarter_end > as_of and offset > 0:
                break
            moments.setdefault(cohort, []).append(min(quarter_end, as_of))
            if quarter_end >= as_of:
                break
            offset += 1
    names += [status_key(day) for days in moments.values() for day in days]
    sets = _sets(names + _filter_set_names(filters))
    mask = _mask(filters, sets)
    result = []
    for cohort in cohorts:
        members = 0
        for offset in range(3):
            if month_start_after(cohort, offset) <= as_of:
                members |= sets.get(f"joined:{cube.month_key(month_start_after(cohort, offset))}", 0)
        members = members if mask is None else members & mask
        size = members.bit_count()
        if not size:
            continue
        curve = [Decimal((members & sets.get(status_key(day), 0)).bit_count()) / Decimal(size) for day in moments[cohort]]
        result.append({"cohort": cohort, "label": f"{cohort.year}-Q{(cohort.month - 1) // 3 + 1}", "size": size, "curve": curve})
    return result


def _scored_on(day, condition):
    return ScoreSnapshot.objects.filter(condition, date=day).select_related("partner", "partner__tier", "partner__account_manager")


def movers(*, on_date, days=30, limit=10, filters=None):
    """Biggest risers and fallers between the latest scored day and the channel's latest scored day
    `days` or more before it; 4 queries.

    The two days' snapshots are joined in the database (a hash join of two index ranges) and only
    the movers' rows are loaded, where a per-partner look-up of each earlier score costs one index
    probe per partner. Partners without a snapshot on both days are not movers.
    """
    day = latest_score_date(on_date=on_date)
    since = latest_score_date(on_date=day - timedelta(days=days)) if day else None
    if since is None:
        return {"date": day, "since": None, "top": [], "bottom": []}
    where, params = "", [since, day]
    condition = kpi.partner_filter_q(filters)
    if condition:
        subquery, subquery_params = Partner.objects.filter(condition).values("pk").query.sql_with_params()
        where, params = f" AND latest.partner_id IN ({subquery})", [*params, *subquery_params]
    table = ScoreSnapshot._meta.db_table
    pairs = f"""
        SELECT latest.id, latest.partner_id, earlier.score AS previous, latest.score - earlier.score AS change
        FROM {table} latest JOIN {table} earlier ON earlier.partner_id = latest.partner_id AND earlier.date = %s
        WHERE latest.date = %s{where}
    """
    sql = f"""
        SELECT * FROM (SELECT id, previous, change FROM ({pairs}) up WHERE change > 0 ORDER BY change DESC, partner_id LIMIT %s) top
        UNION ALL
        SELECT * FROM (SELECT id, previous, change FROM ({pairs}) down WHERE change < 0 ORDER BY change, partner_id LIMIT %s) bottom
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, *params, limit])
        rows = cursor.fetchall()
    snapshots = ScoreSnapshot.objects.select_related("partner", "partner__tier", "partner__account_manager").in_bulk(
        [snapshot_id for snapshot_id, _previous, _change in rows]
    )
    top, bottom = [], []
    for snapshot_id, previous, change in rows:
        snapshot = snapshots[snapshot_id]
        snapshot.previous, snapshot.change = previous, change
        (top if change > 0 else bottom).append(snapshot)
    return {"date": day, "since": since, "top": top, "bottom": bottom}


def at_risk_list(*, on_date, filters=None):
    """Snapshots in the at-risk band on the latest scored day, lowest first, with the partner's last alert; 2 queries."""
    day = latest_score_date(on_date=on_date)
    last_alert = Alert.objects.filter(partner_id=OuterRef("partner_id"), date__lte=on_date).order_by("-date", "-id")
    return (
        _scored_on(day, kpi.partner_q(filters=filters))
        .filter(band=Band.AT_RISK)
        .annotate(last_alert_date=Subquery(last_alert.values("date")[:1]), last_alert_message=Subquery(last_alert.values("message")[:1]))
        .order_by("score", "partner__name")
    )


def alert_list(*, since=None, filters=None, open_only=False):
    alerts = Alert.objects.filter(kpi.partner_q(filters=filters)).select_related("partner", "partner__account_manager")
    if since is not None:
        alerts = alerts.filter(date__gte=since)
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return alerts.order_by("-date", "-id")


def score_trend(*, partner, start, end):
    return list(
        ScoreSnapshot.objects.for_partner(partner).filter(date__gte=start, date__lte=end).order_by("date").values_list("date", "score")
    )


def channel_day_figures(*, on_date):
    """{"partners", "median_score", "score_sum", "bands", "histogram", "components"} of the snapshots of
    `on_date`, computed from them; one query (what `services.channel_day_refresh` stores).

    The database reads each component's normalised value out of the JSON as text, so no document is
    decoded in Python; an absent component (normalised null) is left out of its median.
    """
    fields = {f"normalised_{name}": KT(f"components__{name}__normalised") for name in kpi.COMPONENTS}
    with scopes_disabled():
        rows = list(ScoreSnapshot.objects.filter(date=on_date).annotate(**fields).values_list("score", "band", *fields).order_by())
    scores = [row[0] for row in rows]
    histogram = [0] * 101
    bands = {}
    for score, band, *_components in rows:
        histogram[int(score)] += 1
        bands[band] = bands.get(band, 0) + 1
    components = {}
    for index, name in enumerate(kpi.COMPONENTS, start=2):
        values = [float(row[index]) for row in rows if row[index] not in (None, "null")]  # SQLite's ->> gives "null" text
        components[name] = {"median": statistics.median(values) if values else None, "present": len(values)}
    return {
        "date": on_date,
        "partners": len(rows),
        "median_score": statistics.median(scores) if scores else None,
        "score_sum": sum(scores, ZERO),
        "bands": bands,
        "histogram": histogram,
        "components": components,
    }


def channel_day(*, on_date):
    """The channel figures of a scored day (see `channel_day_figures`): its stored `ChannelDay`, one
    query; for a day without one (snapshots not written by a recompute), computed, one more."""
    fields = ("date", "partners", "median_score", "score_sum", "bands", "histogram", "components")
    figures = ChannelDay.objects.filter(date=on_date).values(*fields).first()
    return figures if figures is not None else channel_day_figures(on_date=on_date)


def channel_component_medians(*, on_date):
    """{component: median normalised value} over every partner scored on `on_date`; 1-2 queries (`channel_day`).

    An aggregate of the whole channel, so it reads across partners on purpose, also for a
    partner user's portal scorecard; absent components are left out of their median.
    """
    components = channel_day(on_date=on_date)["components"]
    return {name: (components.get(name) or {}).get("median") for name in kpi.COMPONENTS}


def territory_revenue(*, territory_id, period):
    """Revenue of every partner of a territory over the period's months, from the channel cube; one query.

    The denominator of a partner's share of its territory: summed from the rollups it grows with
    the territory's partners, from the cube it is the territory's cells of the period."""
    cells = ChannelMonth.objects.filter(territory_id=territory_id, month__gte=period.start, month__lt=period.end)
    return cells.aggregate(total=Sum("revenue"))["total"]


def partner_scorecard(*, partner, on_date, territory_share=True):
    """Every KPI of one partner, its latest score, trend and the words for its latest change; ~16 queries.

    Keys: partner, date, snapshot (latest on or before on_date or None), previous (the one before),
    band, components [{name, label, raw, normalised, weight, share, absent, median}], trend
    [(date, score)] over 180 days, explanation (str or None), moves, sales, engagement, expansion,
    satisfaction (None when absent), cases, incentives. With territory_share=False the share of the
    territory's revenue is not read (the portal: a partner never sees other partners' totals).
    """
    condition = kpi.partner_q(ids=[partner.pk])
    period = kpi.Period.trailing(on_date)
    activity_start = on_date - timedelta(days=kpi.ACTIVITY_DAYS - 1)
    snapshots = list(ScoreSnapshot.objects.for_partner(partner).filter(date__lte=on_date).select_related("score_model")[:2])
    snapshot = snapshots[0] if snapshots else None
    previous = snapshots[1] if len(snapshots) > 1 else None
    medians = channel_component_medians(on_date=snapshot.date) if snapshot else dict.fromkeys(kpi.COMPONENTS)
    components = []
    if snapshot:
        for name, label in kpi.COMPONENTS.items():
            entry = snapshot.components.get(name, {"absent": True})
            components.append({"name": name, "label": label, **entry, "median": medians.get(name)})
    moves, explanation = [], None
    if snapshot and previous:
        moves = scoring.moved_components(snapshot.components, previous.components)
        explanation = scoring.explain_change(score=snapshot.score, previous_score=previous.score, moves=moves)
    sales = kpi.sales_performance(period=period, condition=condition, territory_share=False).get(partner.pk)
    if sales is not None:
        wanted = territory_share and partner.territory_id
        total = territory_revenue(territory_id=partner.territory_id, period=period) if wanted else None
        sales["share"] = sales["revenue"] / total if total and total > 0 else None
    satisfaction = kpi.satisfaction(on_date=on_date, partner_ids=[partner.pk]).get(partner.pk)
    return {
        "partner": partner,
        "date": on_date,
        "period": period,
        "snapshot": snapshot,
        "previous": previous,
        "band": snapshot.band if snapshot else None,
        "components": components,
        "trend": score_trend(partner=partner, start=on_date - timedelta(days=180), end=on_date),
        "moves": moves,
        "explanation": explanation,
        "sales": sales or {"revenue": ZERO, "revenue_last_year": ZERO, "growth": None, "share": None},
        "engagement": kpi.engagement(start=activity_start, end=on_date, condition=condition).get(
            partner.pk, dict.fromkeys([*kpi.ENGAGEMENT_POINTS, "points"], 0)
        ),
        "expansion": kpi.market_expansion(period=period, condition=condition).get(
            partner.pk, {"new_customers": 0, "new_countries": 0, "new_categories": 0}
        ),
        "satisfaction": satisfaction,
        "cases": kpi.case_load(start=activity_start, end=on_date, condition=condition).get(
            partner.pk, {"cases": 0, "conflicts": 0, "load": 0}
        ),
        "incentives": kpi.incentive_cost(period=period, condition=condition).get(partner.pk, {"cost": ZERO, "points": 0}),
    }


def latest_snapshot(*, partner):
    return ScoreSnapshot.objects.for_partner(partner).order_by("-date").first()


def channel_score_aggregates(*, on_date, min_partners=None):
    """Median and average score and each component's median over the channel's latest snapshots; 2 queries.

    Read across partners on purpose (scopes disabled), for a partner user's portal: only
    aggregates leave this function, and only of at least `min_partners` partners (default: the surveys'
    anonymity threshold, settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN), since the median of two companies
    tells either one the other's figure.
    """
    if min_partners is None:
        min_partners = settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN
    with scopes_disabled():
        day = latest_score_date(on_date=on_date)
    result = {"date": day, "partners": 0, "median_score": None, "average_score": None, "components": dict.fromkeys(kpi.COMPONENTS)}
    if day is None:
        return result
    figures = channel_day(on_date=day)
    result["partners"] = figures["partners"]
    if figures["partners"] >= min_partners:
        result["median_score"] = figures["median_score"]
        result["average_score"] = (figures["score_sum"] / figures["partners"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    for name in kpi.COMPONENTS:
        entry = figures["components"].get(name) or {}
        result["components"][name] = entry.get("median") if entry.get("present", 0) >= min_partners else None
    return result


def _hint(name, entry, score_model):
    """What a component measures for this partner and what moves it, in words."""
    target = score_model.bounds(name)[1] if score_model else kpi.default_parameters()[name]["target"]
    raw = entry.get("raw")
    if name == kpi.SALES:
        return _("Revenue in the last 12 complete months: %(raw)s, against a target of %(target)s. Grow your sales.") % {
            "raw": number_format(raw, decimal_pos=0, force_grouping=True),
            "target": number_format(target, decimal_pos=0, force_grouping=True),
        }
    if name == kpi.GROWTH:
        return _("Revenue %(raw)s%% against the same months a year earlier; %(target)s%% scores full marks.") % {
            "raw": ("+" if raw > 0 else "") + number_format(Decimal(str(raw)) * 100, decimal_pos=0, force_grouping=True),
            "target": "+" + number_format(target * 100, decimal_pos=0),
        }
    if name == kpi.ENGAGEMENT:
        return _(
            "Engagement points in the last 90 days: %(raw)s, against a target of %(target)s. Complete trainings and "
            "certifications, attend events, meet your account manager and use the portal."
        ) % {"raw": number_format(raw, decimal_pos=0), "target": number_format(target, decimal_pos=0)}
    if name == kpi.SATISFACTION:
        return _("Your satisfaction score is %(raw)s (from -100 to 100): tell us in the partner survey what would help you.") % {
            "raw": number_format(raw, decimal_pos=0)
        }
    if name == kpi.CONSISTENCY:
        return _("You ordered in %(raw)s%% of the months: ordering every month scores full marks.") % {
            "raw": number_format(Decimal(str(raw)) * 100, decimal_pos=0)
        }
    if name == kpi.EXPANSION:
        return _(
            "New customers, countries and product categories in 12 months: %(raw)s, against a target of %(target)s. Reach new markets."
        ) % {
            "raw": number_format(raw, decimal_pos=0),
            "target": number_format(target, decimal_pos=0),
        }
    return _("Open cases weigh %(raw)s (conflicts count twice): resolving them with your account manager raises the score.") % {
        "raw": number_format(raw, decimal_pos=0)
    }


UNMEASURED = {
    kpi.SALES: gettext_lazy("No sales recorded yet: sales performance becomes part of your score with your first sale."),
    kpi.GROWTH: gettext_lazy("Growth is measured from your second year of sales on."),
    kpi.SATISFACTION: gettext_lazy("Satisfaction is not measured yet: answer the partner survey to have it count."),
    kpi.CONSISTENCY: gettext_lazy("Ordering consistency is measured from your first complete month of sales on."),
    kpi.EXPANSION: gettext_lazy("Market expansion is measured once you have sales."),
}


def improvement_hints(*, components, score_model, limit=3):
    """The `limit` components with most points left to gain, in words; and the unmeasured ones.

    gain = share x (100 - normalised): the points the score would rise if that component reached
    its target and nothing else moved. Absent components have no gain to compute, so they are
    listed apart ("unmeasured"), never as a zero.
    """
    rows = []
    unmeasured = []
    for entry in components:
        if entry.get("absent", True):
            if entry.get("weight") and entry["name"] in UNMEASURED:
                unmeasured.append({"name": entry["name"], "label": entry["label"], "text": UNMEASURED[entry["name"]]})
            continue
        gain = Decimal(str(entry["share"] or 0)) * (100 - Decimal(str(entry["normalised"])))
        gain = gain.quantize(Decimal("0.1"))
        if gain > 0:
            rows.append({"name": entry["name"], "label": entry["label"], "gain": gain, "text": _hint(entry["name"], entry, score_model)})
    rows.sort(key=lambda row: (-row["gain"], row["name"]))
    return {"raise": rows[:limit], "unmeasured": unmeasured}


def portal_scorecard(*, partner, on_date):
    """`partner_scorecard` as the partner itself may see it; 2 queries more.

    Channel medians are replaced by `channel_score_aggregates` (none below the threshold), and the
    share of territory revenue is neither computed nor shown: under the partner's scope it always
    reads 100%, and computed unscoped it would give away the territory's total.
    """
    card = partner_scorecard(partner=partner, on_date=on_date, territory_share=False)
    snapshot = card["snapshot"]
    channel = channel_score_aggregates(on_date=snapshot.date if snapshot else on_date)
    for entry in card["components"]:
        entry["median"] = channel["components"].get(entry["name"])
    card["sales"] = {key: value for key, value in card["sales"].items() if key not in ("share", "territory_id")}
    card["channel"] = channel
    card["hints"] = improvement_hints(components=card["components"], score_model=snapshot.score_model if snapshot else None)
    return card


def change_since(*, snapshot, days=30):
    """The score change in words against the latest snapshot `days` or more before `snapshot`; one query."""
    if snapshot is None:
        return None
    earlier = (
        ScoreSnapshot.objects.for_partner(snapshot.partner_id)
        .filter(date__lte=snapshot.date - timedelta(days=days))
        .order_by("-date")
        .values("date", "score", "components")
        .first()
    )
    if earlier is None:
        return None
    moves = scoring.moved_components(snapshot.components, earlier["components"])
    explanation = scoring.explain_change(score=snapshot.score, previous_score=earlier["score"], moves=moves)
    return {"since": earlier["date"], "score": earlier["score"], "explanation": explanation}
