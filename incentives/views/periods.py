"""Period close, the earnings of a period, the program ROI and the what-if simulation."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.dates import shift_months
from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.views import ManagerRequiredMixin

from .. import engine, selectors, services
from ..forms import (
    SimulateForm,
)
from ..models import (
    EarningLine,
    ProgramPeriod,
)
from ..rules import ZERO, fmt
from .common import error_message, money, percent, program_or_404


def _period(program, period_pk):
    return get_object_or_404(ProgramPeriod.objects.select_related("program"), pk=period_pk, program=program)


def close_summary(result):
    """The manager's message after a close: what the CloseResult wrote."""
    lines = result.created
    if not lines:
        return _("Nothing changed: every earning of this period is already in the ledger.")
    amount = sum((line.amount for line in lines), ZERO)
    points = sum(line.points for line in lines)
    partners = len({line.partner_id for line in lines})
    text = ngettext(
        "%(count)s earning line written for %(partners)s partners",
        "%(count)s earning lines written for %(partners)s partners",
        len(lines),
    ) % {"count": len(lines), "partners": partners}
    text = _("%(text)s: %(amount)s in money and %(points)s points.") % {"text": text, "amount": money(amount), "points": fmt(points)}
    if result.adjustments:
        text += " " + ngettext(
            "%(count)s of them is an adjustment after late sales.",
            "%(count)s of them are adjustments after late sales.",
            len(result.adjustments),
        ) % {"count": len(result.adjustments)}
    return text


class PeriodCloseView(ManagerRequiredMixin, View):
    """The "Close period" button: turns the period's sales into earnings lines (again: adjustments only)."""

    permission_required = "incentives.change_programperiod"

    def get(self, request, pk, period_pk):
        program = program_or_404(pk)
        period = _period(program, period_pk)
        dates = {"start": date_format(period.starts_on), "end": date_format(period.ends_on)}
        if period.is_closed:
            title = _("Recalculate this closed period?")
            message = (
                _(
                    "The period %(start)s – %(end)s was closed before. Sales that changed since are written as adjustment lines; "
                    "the lines already written stay as they are."
                )
                % dates
            )
            button = _("Yes, recalculate")
        else:
            title = _("Close this period?")
            message = (
                _(
                    "The sales of %(start)s – %(end)s become earnings lines for every partner in the program, with the reason for "
                    "each. Closed lines are never edited: later changes become adjustments."
                )
                % dates
            )
            button = _("Yes, close the period")
        return confirm(request, title=title, message=message, button=button, cancel_url=reverse("incentives:detail", args=[program.pk]))

    def post(self, request, pk, period_pk):
        program = program_or_404(pk)
        period = _period(program, period_pk)
        try:
            result = services.period_close(period=period, by=request.user)
        except ValidationError as error:
            error_message(request, error)
            return redirect(reverse("incentives:detail", args=[program.pk]) + "#periods")
        title = _("Period closed.") if result.first_close else _("Period recalculated.")
        messages.success(request, f"{title} {close_summary(result)}")
        return redirect("incentives:period", pk=program.pk, period_pk=period.pk)


class PeriodEarningsView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_earningline"

    def get(self, request, pk, period_pk):
        program = program_or_404(pk)
        period = _period(program, period_pk)
        lines = (
            EarningLine.objects.filter(period=period).select_related("partner", "rule", "payout").order_by("partner__name", "rule_id", "pk")
        )
        partner_id = request.GET.get("partner", "")
        if partner_id.isdigit():
            lines = lines.filter(partner_id=int(partner_id))
        totals = lines.aggregate(amount=Sum("amount"), points=Sum("points"), lines=Count("pk"))
        context = {
            "program": program,
            "period": period,
            "page_obj": paginate(request, lines),
            "querystring": querystring_without_page(request),
            "totals": totals,
        }
        return render(request, "incentives/period_earnings.html", context)


class ProgramRoiView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_program"

    def get(self, request, pk):
        program = program_or_404(pk)
        closed = list(program.periods.filter(closed_at__isnull=False).order_by("starts_on"))
        period = next((p for p in closed if str(p.pk) == request.GET.get("period")), None)
        roi = selectors.program_roi(program=program, period=period)
        context = {
            "program": program,
            "closed": closed,
            "period": period,
            "roi": roi,
            "rows": selectors.roi_rows(roi) if roi.get("periods") else [],
            "roi_percent": percent(roi.get("roi")),
        }
        return render(request, "incentives/program_roi.html", context)


def _previous_period(program, today):
    """The last full period of the program's kind that has ended (its dates need not be in the program)."""
    start, _end = engine.period_bounds(program, today)
    anchor = start - timedelta(days=1)
    length = engine.MONTHS[program.period]
    begin = shift_months(anchor.replace(day=1), -(length - 1))
    return begin, anchor


class ProgramSimulateView(ManagerRequiredMixin, View):
    """What-if: the program's rules over a past period's real sales; cost, payouts per partner, ROI. Writes nothing."""

    permission_required = "incentives.view_program"

    def get(self, request, pk):
        program = program_or_404(pk)
        today = timezone.localdate()
        if request.GET.get("starts_on") or request.GET.get("ends_on"):
            form = SimulateForm(request.GET)
        else:
            starts_on, ends_on = _previous_period(program, today)
            form = SimulateForm(initial={"starts_on": starts_on, "ends_on": ends_on})
        result, rows = None, []
        rules = list(program.rules.all())
        if form.is_bound and form.is_valid():
            if not rules:
                form.add_error(None, _("Add at least one rule to simulate the program."))
            else:
                try:
                    result = services.program_simulate(program=program, **form.cleaned_data)
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    rows = selectors.roi_rows(result)
        past = [p for p in program.periods.all() if p.ends_on < today]
        context = {
            "program": program,
            "rules": rules,
            "form": form,
            "result": result,
            "rows": rows,
            "roi_percent": percent(result.get("roi")) if result else None,
            "past_periods": past,
        }
        return render(request, "incentives/program_simulate.html", context, status=400 if form.is_bound and form.errors else 200)
