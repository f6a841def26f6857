"""The channel managers' KPI pages: the channel overview, a partner's scorecard, alert acknowledgement.

Every view is for channel managers (`ManagerRequiredMixin`, permission `kpis.view_scoresnapshot`);
manager requests run with the partner scope disabled, so the selectors read across partners here.
Each page reads through `kpis.selectors` in a fixed number of queries whatever the number of
partners, and every table of the overview downloads as CSV with `?export=<table>`.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from core.csv import csv_response
from core.dates import month_end, month_start_after
from core.tasks import enqueue_after_commit
from partners.models import Partner
from partners.views import ManagerRequiredMixin

from . import selectors, services
from .forms import CUSTOM, QUARTER, OverviewFilterForm
from .models import Alert, ScoreModel

ALERTS_SHOWN = 25
AT_RISK_SHOWN = 25  # the lowest scores; the CSV export lists every partner at risk
ALERT_DAYS = 30  # "recent alerts": raised in the 30 days up to the scores' date
TREND_MONTHS = 12  # trend charts show at least the 12 months up to the end of the period
SCORECARD_TREND_DAYS = 180

# Headline KPIs in page order: name -> (label, format, whether a rise is good news).
HEADLINES = {
    "revenue": (gettext_lazy("Revenue"), "money", True),
    "growth": (gettext_lazy("Growth on last year"), "percent", True),
    "partners": (gettext_lazy("Partners in the channel"), "count", True),
    "average_score": (gettext_lazy("Average loyalty score"), "score", True),
    "at_risk": (gettext_lazy("Partners at risk"), "count", False),
    "nps": (gettext_lazy("Partner NPS"), "score", True),
    "new_customers": (gettext_lazy("New customers"), "count", True),
    "new_countries": (gettext_lazy("New countries"), "count", True),
    "engagement_points": (gettext_lazy("Engagement points"), "count", True),
    "incentive_cost": (gettext_lazy("Incentive cost"), "money", False),
    "incentive_revenue_per_cost": (gettext_lazy("Revenue per incentive spent"), "ratio", True),
    "retention": (gettext_lazy("Retention"), "percent", True),
}
GROUPINGS = {
    "partner_type": gettext_lazy("By type"),
    "tier": gettext_lazy("By tier"),
    "territory": gettext_lazy("By territory"),
}


# --- formatting -----------------------------------------------------------------------------------


def _display(value, kind, *, signed=False):
    """A figure as the page shows it; percentages of ratios, change of a percentage in points."""
    if value is None:
        return "—"
    sign = "+" if signed and value > 0 else ""
    if kind == "money":
        return sign + number_format(value, decimal_pos=0, force_grouping=True)
    if kind == "percent":
        text = number_format(Decimal(value) * 100, decimal_pos=1)
        return sign + (_("%(value)s pt") % {"value": text} if signed else f"{text}%")
    if kind == "ratio":
        return sign + number_format(value, decimal_pos=2) + "×"
    if kind == "score":
        return sign + number_format(value, decimal_pos=1)
    return sign + number_format(value, decimal_pos=0, force_grouping=True)


def _chart_number(value):
    return None if value is None else float(value)


# --- the overview -----------------------------------------------------------------------------


class Overview:
    """Every section of the channel overview for one set of filters, each read only when used."""

    def __init__(self, *, start, end, filters, today, preset):
        self.start, self.end, self.filters, self.today = start, end, filters, today
        # Score sections show the latest scores: today's for a preset period, for custom dates those
        # of the end of the period's last month (sales figures cover whole months too).
        self.as_of = min(month_end(end), today) if preset == CUSTOM else today
        self.trend_start = min(start.replace(day=1), month_start_after(end.replace(day=1), -(TREND_MONTHS - 1)))

    @cached_property
    def headline(self):
        figures = selectors.channel_overview(period_start=self.start, period_end=self.end, filters=self.filters)
        rows = []
        for name, (label, kind, rise_is_good) in HEADLINES.items():
            figure = figures["kpis"][name]
            change = figure["change"]
            rows.append(
                {
                    "name": name,
                    "label": label,
                    "kind": kind,
                    **figure,
                    "value_display": _display(figure["value"], kind),
                    "previous_display": _display(figure["previous"], kind),
                    "change_display": _display(change, kind, signed=True) if change is not None else "—",
                    "good": None if not change else (change > 0) == rise_is_good,
                }
            )
        return {"period": figures["period"], "previous_period": figures["previous_period"], "rows": rows}

    @cached_property
    def revenue(self):
        return {
            by: selectors.revenue_trend(period_start=self.trend_start, period_end=self.end, by=by, filters=self.filters) for by in GROUPINGS
        }

    @cached_property
    def tiers(self):
        return selectors.tier_distribution(filters=self.filters)

    @cached_property
    def scores(self):
        return selectors.score_distribution(on_date=self.as_of, filters=self.filters)

    @cached_property
    def bands(self):
        """Where the active score model's bands start, to colour the score buckets; one query."""
        model = ScoreModel.objects.active().values("watch_min", "healthy_min").first()
        return {"watch": model["watch_min"], "healthy": model["healthy_min"]} if model else {"watch": 50, "healthy": 80}

    @cached_property
    def nps(self):
        return selectors.nps_trend(period_start=self.trend_start, period_end=self.end, filters=self.filters)

    @cached_property
    def cohorts(self):
        return selectors.retention_cohorts(as_of=min(month_end(self.end), self.today), filters=self.filters)

    @cached_property
    def movers(self):
        return selectors.movers(on_date=self.as_of, filters=self.filters)

    @cached_property
    def at_risk(self):
        return list(selectors.at_risk_list(on_date=self.as_of, filters=self.filters))

    def at_risk_lowest(self, limit):
        """The `limit` lowest scores at risk, for the page (the export reads `at_risk`, every one)."""
        return list(selectors.at_risk_list(on_date=self.as_of, filters=self.filters)[:limit])

    @cached_property
    def alerts_since(self):
        return self.as_of - timedelta(days=ALERT_DAYS - 1)

    def alerts(self, limit=None):
        alerts = selectors.alert_list(since=self.alerts_since, filters=self.filters).filter(date__lte=self.as_of)
        return list(alerts[:limit] if limit else alerts)

    # -- charts --

    def chart_data(self):
        charts = []
        for by, label in GROUPINGS.items():
            trend = self.revenue[by]
            charts.append(
                {
                    "canvas": f"chart-revenue-{by}",
                    "type": "line",
                    "title": str(label),
                    "labels": [date_format(month, "YEAR_MONTH_FORMAT") for month in trend["months"]],
                    "datasets": [
                        {"label": str(series["label"]), "values": [_chart_number(v) for v in series["values"]]}
                        for series in trend["series"]
                    ],
                }
            )
        charts.append(
            {
                "canvas": "chart-tiers",
                "type": "doughnut",
                "labels": [str(row["label"]) for row in self.tiers],
                "datasets": [{"label": _("Partners"), "values": [row["count"] for row in self.tiers]}],
            }
        )
        charts.append(
            {
                "canvas": "chart-scores",
                "type": "bar",
                "labels": [f"{bucket['from']}–{bucket['to']}" for bucket in self.scores["buckets"]],
                "datasets": [{"label": _("Partners"), "values": [bucket["count"] for bucket in self.scores["buckets"]]}],
                "bands": self.bands,
                "bucketStarts": [bucket["from"] for bucket in self.scores["buckets"]],
            }
        )
        charts.append(
            {
                "canvas": "chart-nps",
                "type": "line",
                "labels": [date_format(row["month"], "YEAR_MONTH_FORMAT") for row in self.nps],
                "datasets": [{"label": _("NPS"), "values": [_chart_number(row["nps"]) for row in self.nps]}],
                "min": -100,
                "max": 100,
            }
        )
        longest = max((len(cohort["curve"]) for cohort in self.cohorts), default=0)
        charts.append(
            {
                "canvas": "chart-cohorts",
                "type": "line",
                "percent": True,
                "labels": [_("Q+%(n)s") % {"n": offset} for offset in range(longest)],
                "datasets": [
                    {"label": cohort["label"], "values": [round(float(share) * 100, 1) for share in cohort["curve"]]}
                    for cohort in self.cohorts
                ],
                "min": 0,
                "max": 100,
            }
        )
        return {"charts": charts}

    # -- CSV tables: name -> (header, rows) --

    def table(self, name):
        return getattr(self, f"_table_{name}")()

    def _table_headline(self):
        header = [_("KPI"), _("value"), _("previous period"), _("change")]
        return header, [[str(row["label"]), row["value"], row["previous"], row["change"]] for row in self.headline["rows"]]

    def _table_revenue(self):
        header = [_("grouping"), _("group"), _("month"), _("revenue")]
        rows = []
        for by, trend in self.revenue.items():
            for series in trend["series"]:
                for month, value in zip(trend["months"], series["values"], strict=True):
                    rows.append([by, str(series["label"]), month.strftime("%Y-%m"), value])
        return header, rows

    def _table_tiers(self):
        return [_("tier"), _("partners")], [[str(row["label"]), row["count"]] for row in self.tiers]

    def _table_scores(self):
        header = [_("score from"), _("score below"), _("partners")]
        return header, [[bucket["from"], bucket["to"], bucket["count"]] for bucket in self.scores["buckets"]]

    def _table_nps(self):
        header = [_("month"), _("NPS"), _("answers"), _("promoters"), _("detractors")]
        return header, [[row["month"].strftime("%Y-%m"), row["nps"], row["count"], row["promoters"], row["detractors"]] for row in self.nps]

    def _table_cohorts(self):
        longest = max((len(cohort["curve"]) for cohort in self.cohorts), default=0)
        header = [_("joined in"), _("partners"), *[_("retained Q+%(n)s") % {"n": offset} for offset in range(longest)]]
        return header, [[cohort["label"], cohort["size"], *cohort["curve"]] for cohort in self.cohorts]

    def _table_movers(self):
        header = [_("direction"), _("partner"), _("external ID"), _("score then"), _("score"), _("change")]
        rows = []
        for direction, snapshots in ((_("up"), self.movers["top"]), (_("down"), self.movers["bottom"])):
            for snapshot in snapshots:
                partner = snapshot.partner
                rows.append([direction, partner.name, partner.external_id, snapshot.previous, snapshot.score, snapshot.change])
        return header, rows

    def _table_at_risk(self):
        header = [_("partner"), _("external ID"), _("account manager"), _("score"), _("date"), _("last alert"), _("alert message")]
        rows = [
            [
                s.partner.name,
                s.partner.external_id,
                s.partner.account_manager.get_full_name() if s.partner.account_manager else "",
                s.score,
                s.date.isoformat(),
                s.last_alert_date.isoformat() if s.last_alert_date else "",
                s.last_alert_message or "",
            ]
            for s in self.at_risk
        ]
        return header, rows

    def _table_alerts(self):
        header = [_("date"), _("partner"), _("external ID"), _("kind"), _("score"), _("compared with"), _("message"), _("acknowledged at")]
        rows = [
            [
                alert.date.isoformat(),
                alert.partner.name,
                alert.partner.external_id,
                str(alert.get_kind_display()),
                alert.score,
                alert.reference_score,
                alert.message,
                alert.acknowledged_at.isoformat() if alert.acknowledged_at else "",
            ]
            for alert in self.alerts()
        ]
        return header, rows


EXPORTS = ["headline", "revenue", "tiers", "scores", "nps", "cohorts", "movers", "at_risk", "alerts"]


class OverviewView(ManagerRequiredMixin, View):
    """/kpis/: the channel at a glance, for the period and partners chosen in the filter form (GET)."""

    permission_required = "kpis.view_scoresnapshot"

    def get(self, request):
        today = timezone.localdate()
        services.channel_cube_ensure(today=today)
        data = request.GET.copy()
        data.setdefault("period", QUARTER)
        form = OverviewFilterForm(data, today=today)
        if not form.is_valid():
            return render(request, "kpis/overview.html", {"form": form, "exports": EXPORTS}, status=400)
        start, end = form.period_dates
        overview = Overview(start=start, end=end, filters=form.filters(), today=today, preset=form.cleaned_data["period"])
        export = request.GET.get("export")
        if export:
            if export not in EXPORTS:
                form.add_error(None, _("There is no table “%(name)s” to export.") % {"name": export})
                return render(request, "kpis/overview.html", {"form": form, "exports": EXPORTS}, status=400)
            header, rows = overview.table(export)
            return csv_response(f"kpis-{export}-{start:%Y%m%d}-{end:%Y%m%d}", header, rows)
        params = request.GET.copy()
        params.pop("export", None)
        context = {
            "form": form,
            "overview": overview,
            "headline": overview.headline,
            "revenue": overview.revenue,
            "groupings": GROUPINGS,
            "tiers": overview.tiers,
            "scores": overview.scores,
            "nps": overview.nps,
            "cohorts": overview.cohorts,
            "movers": overview.movers,
            "at_risk": overview.at_risk_lowest(AT_RISK_SHOWN),
            "at_risk_shown": AT_RISK_SHOWN,
            "alerts": overview.alerts(limit=ALERTS_SHOWN),
            "alerts_shown": ALERTS_SHOWN,
            "chart_data": overview.chart_data(),
            "querystring": params.urlencode(),
            "exports": EXPORTS,
            "cube": selectors.channel_cube_state(),
        }
        return render(request, "kpis/overview.html", context)


class CubeRefreshView(ManagerRequiredMixin, View):
    """POST: rebuild the overview's figures now (a Celery job) instead of waiting for the next 10-minute refresh."""

    permission_required = "kpis.view_scoresnapshot"

    def post(self, request):
        from .tasks import refresh_channel_cube

        enqueue_after_commit(refresh_channel_cube)
        messages.success(request, _("The channel figures are being refreshed; reload the page in a minute to see them."))
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            target = reverse("kpis:overview")
        return redirect(target)


# --- the scorecard ------------------------------------------------------------------------------


def scorecard_chart_data(card, *, median_label):
    trend = card["trend"]
    components = [entry for entry in card["components"] if not entry.get("absent", True)]
    return {
        "charts": [
            {
                "canvas": "chart-score-trend",
                "type": "line",
                "labels": [date_format(day, "SHORT_DATE_FORMAT") for day, _score in trend],
                "datasets": [{"label": _("Loyalty score"), "values": [float(score) for _day, score in trend]}],
                "min": 0,
                "max": 100,
            },
            {
                "canvas": "chart-components",
                "type": "bar",
                "horizontal": True,
                "labels": [str(entry["label"]) for entry in components],
                "datasets": [
                    {"label": str(card["partner"].name), "values": [entry["normalised"] for entry in components]},
                    {"label": str(median_label), "values": [entry["median"] for entry in components]},
                ],
                "min": 0,
                "max": 100,
            },
        ]
    }


class ScorecardView(ManagerRequiredMixin, View):
    """/kpis/partners/<pk>/: every KPI of one partner, its score trend, its components against the channel."""

    permission_required = "kpis.view_scoresnapshot"

    def get(self, request, pk):
        partner = get_object_or_404(Partner.objects.select_related("tier", "territory", "account_manager"), pk=pk)
        today = timezone.localdate()
        card = selectors.partner_scorecard(partner=partner, on_date=today)
        export = request.GET.get("export")
        if export == "components":
            header = [_("component"), _("raw value"), _("normalised"), _("weight"), _("share"), _("absent"), _("channel median")]
            rows = [
                [
                    str(c["label"]),
                    c.get("raw"),
                    c.get("normalised"),
                    c.get("weight"),
                    c.get("share"),
                    "yes" if c.get("absent") else "no",
                    c["median"],
                ]
                for c in card["components"]
            ]
            return csv_response(f"scorecard-{partner.pk}-components", header, rows)
        if export == "trend":
            return csv_response(
                f"scorecard-{partner.pk}-trend", [_("date"), _("score")], [[day.isoformat(), score] for day, score in card["trend"]]
            )
        context = {
            "partner": partner,
            "card": card,
            "alerts": list(selectors.alert_list().filter(partner=partner)[:10]),
            "change_30": selectors.change_since(snapshot=card["snapshot"]),
            "chart_data": scorecard_chart_data(card, median_label=_("Channel median")),
        }
        return render(request, "kpis/scorecard.html", context)


class ScoreBadgeView(ManagerRequiredMixin, View):
    """The latest score and band of a partner, loaded into the partner detail page by htmx."""

    permission_required = "kpis.view_scoresnapshot"

    def get(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        return render(request, "kpis/_score_badge.html", {"partner": partner, "snapshot": selectors.latest_snapshot(partner=partner)})


class AlertAcknowledgeView(ManagerRequiredMixin, View):
    permission_required = "kpis.change_alert"

    def post(self, request, pk):
        alert = get_object_or_404(Alert, pk=pk)
        services.alert_acknowledge(alert=alert, user=request.user)
        messages.success(request, _("Alert for %(partner)s acknowledged.") % {"partner": alert.partner.name})
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            target = reverse("kpis:overview")
        return redirect(target)
