"""The channel managers' incentive pages: programs and rules, period close, ROI and what-if, payouts,
the reward catalog, redemptions and tier rules.

Every view is for channel managers (`ManagerRequiredMixin`) and checks one model permission of the
`incentives` app (granted to the "Channel managers" group by `partners.roles`). Manager requests run
with the partner scope disabled, so the ledger is read across partners here.

Views stay thin: forms parse, `services` write (and raise the ValidationErrors shown on the forms),
`selectors` read; the few page-specific reads below (the program list, period totals) are built to a
fixed number of queries. Every state change is a POST behind a confirmation page or a form.

The money forms (approve, mark paid or reject a payout; approve, fulfil or reject a redemption)
carry a one-time token (`partners.idempotency`): the services' compare-and-set already refuses a
second transition, and with the token a double click is answered "already submitted" instead of
"this payout is approved", and a form without a valid token changes nothing.
"""

from datetime import timedelta
from decimal import Decimal

from crispy_forms.layout import Hidden
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, ProtectedError, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.dates import shift_months
from core.web import paginate, querystring_without_page
from partners.idempotency import FORM_TOKEN_FIELD, FormTokenError, form_token, submit_once
from partners.models import Partner, PartnerType, Tier
from partners.views import ManagerRequiredMixin

from . import engine, selectors, services
from .forms import (
    RULE_FORMS,
    MarkPaidForm,
    PayoutFilterForm,
    ProgramFilterForm,
    ProgramForm,
    RedemptionFilterForm,
    RejectForm,
    RewardForm,
    SimulateForm,
    TierRuleForm,
    add_service_error,
)
from .models import (
    EarningLine,
    Payout,
    PayoutStatus,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    Rule,
    RuleKind,
    TierChange,
    TierRule,
)
from .rules import fmt

ZERO = Decimal("0")


# --- reads ------------------------------------------------------------------------------------


def program_list(*, q="", status=""):
    """Programs with their rule count, newest start first (one query for a page)."""
    programs = Program.objects.annotate(rule_count=Count("rules", distinct=True))
    if status:
        programs = programs.filter(status=status)
    if q:
        programs = programs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return programs.order_by("-starts_on", "name", "pk")


def period_totals(program):
    """{period id: {amount, points, lines, partners}} of the ledger of `program`, in one query."""
    rows = (
        EarningLine.objects.filter(program=program)
        .values("period_id")
        .annotate(amount=Sum("amount"), points=Sum("points"), lines=Count("pk"), partners=Count("partner_id", distinct=True))
        .order_by()
    )
    return {row["period_id"]: row for row in rows}


def _partner_names(ids):
    return dict(Partner.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def _roi_rows(figures):
    """The payouts of an ROI/simulation result as rows with partner names, biggest cost first."""
    names = _partner_names(figures.get("payouts", {}))
    rows = [
        {"partner_id": pid, "name": names.get(pid, pid), **payout, "cost": payout["cash"] + payout["mdf"]}
        for pid, payout in figures.get("payouts", {}).items()
    ]
    return sorted(rows, key=lambda row: (-row["cost"], -row["points"], str(row["name"])))


def _money(value):
    return number_format(value, decimal_pos=2, force_grouping=True)


def _percent(ratio):
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.1"))


# --- lookups ----------------------------------------------------------------------------------


def _program(pk):
    return get_object_or_404(Program, pk=pk)


def _rule(program, rule_pk):
    return get_object_or_404(Rule, pk=rule_pk, program=program)


def _period(program, period_pk):
    return get_object_or_404(ProgramPeriod.objects.select_related("program"), pk=period_pk, program=program)


def _confirm(request, *, title, message, button, cancel_url, danger=False, details=None, status=200, once=False, error=None):
    """A confirmation page; `once`: its form carries a one-time token (check it with `submit_once`)."""
    context = {"title": title, "message": message, "button": button, "cancel_url": cancel_url, "danger": danger, "details": details}
    context.update(form_token=form_token(request) if once else None, error=error)
    return render(request, "confirm.html", context, status=status)


def _with_form_token(request, form, action):
    """A crispy form posting to `action`, with a one-time token in a hidden field."""
    form.helper.form_action = action
    form.helper.add_input(Hidden(FORM_TOKEN_FIELD, form_token(request, action)))
    return form


def _error_message(request, error):
    messages.error(request, " ".join(error.messages))


# --- programs ---------------------------------------------------------------------------------


class ProgramListView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_program"

    def get(self, request):
        filter_form = ProgramFilterForm(request.GET)
        context = {
            "filter_form": filter_form,
            "page_obj": paginate(request, program_list(**filter_form.filters())),
            "querystring": querystring_without_page(request),
        }
        return render(request, "incentives/program_list.html", context)


class ProgramCreateView(ManagerRequiredMixin, View):
    permission_required = "incentives.add_program"

    def get(self, request):
        today = timezone.localdate()
        initial = {"starts_on": today.replace(day=1), "ends_on": today.replace(month=12, day=31)}
        return render(request, "incentives/program_form.html", {"form": ProgramForm(initial=initial)})

    def post(self, request):
        form = ProgramForm(request.POST)
        if form.is_valid():
            try:
                program = services.program_create(by=request.user, **form.service_fields())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Program “%(name)s” created as a draft. Add its rules next.") % {"name": program.name})
                return redirect("incentives:detail", pk=program.pk)
        return render(request, "incentives/program_form.html", {"form": form}, status=400)


class ProgramUpdateView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_program"

    def get(self, request, pk):
        program = _program(pk)
        return render(request, "incentives/program_form.html", {"form": ProgramForm(instance=program), "program": program})

    def post(self, request, pk):
        program = _program(pk)
        form = ProgramForm(request.POST, instance=program)
        if form.is_valid():
            try:
                services.program_update(program=program, by=request.user, **form.service_fields())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Program “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
                return redirect("incentives:detail", pk=program.pk)
        program.refresh_from_db()
        return render(request, "incentives/program_form.html", {"form": form, "program": program}, status=400)


class ProgramDetailView(ManagerRequiredMixin, View):
    """The program page: eligibility, rules with their explanations, periods with their totals, ROI."""

    permission_required = "incentives.view_program"

    def get(self, request, pk):
        program = selectors.program_detail(program=_program(pk))
        totals = period_totals(program)
        periods = list(program.periods.all())
        today = timezone.localdate()
        for period in periods:
            period.totals = totals.get(period.pk)
            period.has_ended = period.ends_on < today
        roi = selectors.program_roi(program=program) if any(p.is_closed for p in periods) else None
        context = {
            "program": program,
            "rules": list(program.rules.all()),
            "periods": periods,
            "roi": roi,
            "roi_rows": _roi_rows(roi)[:10] if roi and roi.get("periods") else [],
            "roi_percent": _percent(roi.get("roi")) if roi else None,
            "rule_kinds": RuleKind.choices,
            "partner_type_labels": [str(PartnerType(value).label) for value in program.partner_types],
        }
        return render(request, "incentives/program_detail.html", context)


class ProgramActivateView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_program"

    def get(self, request, pk):
        program = _program(pk)
        return _confirm(
            request,
            title=_("Activate this program?"),
            message=_(
                "“%(name)s” is published to the partners it lets in, with its rules as criteria. Once active, its rules and "
                "eligibility can no longer change."
            )
            % {"name": program.name},
            button=_("Yes, activate"),
            cancel_url=reverse("incentives:detail", args=[program.pk]),
        )

    def post(self, request, pk):
        program = _program(pk)
        try:
            services.program_activate(program=program, by=request.user)
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, _("Program “%(name)s” is active.") % {"name": program.name})
        return redirect("incentives:detail", pk=program.pk)


class ProgramCloseView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_program"

    def get(self, request, pk):
        program = _program(pk)
        return _confirm(
            request,
            title=_("Close this program?"),
            message=_(
                "“%(name)s” stops: no new periods start and partners no longer see it among their running programs. "
                "Periods already started can still be closed into earnings."
            )
            % {"name": program.name},
            button=_("Yes, close the program"),
            cancel_url=reverse("incentives:detail", args=[program.pk]),
            danger=True,
        )

    def post(self, request, pk):
        program = _program(pk)
        try:
            services.program_close(program=program, by=request.user)
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, _("Program “%(name)s” is closed.") % {"name": program.name})
        return redirect("incentives:detail", pk=program.pk)


# --- rules ------------------------------------------------------------------------------------


class RuleFormView(ManagerRequiredMixin, View):
    """Add a rule of one kind (`?kind=`), or edit one; the parameters are checked by `incentives.rules`."""

    def dispatch(self, request, *args, **kwargs):
        self.permission_required = "incentives.change_rule" if kwargs.get("rule_pk") else "incentives.add_rule"
        return super().dispatch(request, *args, **kwargs)

    def _setup(self, request, pk, rule_pk):
        program = _program(pk)
        rule = _rule(program, rule_pk) if rule_pk else None
        kind = rule.kind if rule else request.GET.get("kind") or request.POST.get("kind")
        if kind not in RULE_FORMS:
            raise Http404(_("Unknown rule kind."))
        return program, rule, kind

    def _render(self, request, program, rule, kind, form, status=200):
        context = {"program": program, "rule": rule, "kind": kind, "kind_label": RuleKind(kind).label, "form": form}
        return render(request, "incentives/rule_form.html", context, status=status)

    def _refuse_if_running(self, request, program):
        if program.status != ProgramStatus.DRAFT:
            messages.error(request, _("The rules of an active or closed program cannot change: partners rely on the published criteria."))
            return redirect("incentives:detail", pk=program.pk)
        return None

    def get(self, request, pk, rule_pk=None):
        program, rule, kind = self._setup(request, pk, rule_pk)
        refused = self._refuse_if_running(request, program)
        if refused:
            return refused
        return self._render(request, program, rule, kind, RULE_FORMS[kind](rule=rule))

    def post(self, request, pk, rule_pk=None):
        program, rule, kind = self._setup(request, pk, rule_pk)
        refused = self._refuse_if_running(request, program)
        if refused:
            return refused
        form = RULE_FORMS[kind](request.POST, rule=rule)
        if form.is_complete():
            try:
                if rule is None:
                    rule = services.rule_add(program=program, kind=kind, params=form.params(), name=form.cleaned_data["name"])
                else:
                    rule = services.rule_update(rule=rule, params=form.params(), name=form.cleaned_data["name"])
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Rule saved: %(explanation)s.") % {"explanation": rule.explanation})
                return redirect(reverse("incentives:detail", args=[program.pk]) + "#rules")
        return self._render(request, program, rule, kind, form, status=400)


class RuleDeleteView(ManagerRequiredMixin, View):
    permission_required = "incentives.delete_rule"

    def get(self, request, pk, rule_pk):
        program = _program(pk)
        rule = _rule(program, rule_pk)
        return _confirm(
            request,
            title=_("Delete this rule?"),
            message=_("“%(rule)s” (%(explanation)s) is removed from the draft program.") % {"rule": rule, "explanation": rule.explanation},
            button=_("Yes, delete"),
            cancel_url=reverse("incentives:detail", args=[program.pk]),
            danger=True,
        )

    def post(self, request, pk, rule_pk):
        program = _program(pk)
        rule = _rule(program, rule_pk)
        try:
            services.rule_delete(rule=rule)
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(request, _("Rule “%(rule)s” deleted.") % {"rule": rule})
        return redirect(reverse("incentives:detail", args=[program.pk]) + "#rules")


# --- periods ----------------------------------------------------------------------------------


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
    text = _("%(text)s: %(amount)s in money and %(points)s points.") % {"text": text, "amount": _money(amount), "points": fmt(points)}
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
        program = _program(pk)
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
        return _confirm(request, title=title, message=message, button=button, cancel_url=reverse("incentives:detail", args=[program.pk]))

    def post(self, request, pk, period_pk):
        program = _program(pk)
        period = _period(program, period_pk)
        try:
            result = services.period_close(period=period, by=request.user)
        except ValidationError as error:
            _error_message(request, error)
            return redirect(reverse("incentives:detail", args=[program.pk]) + "#periods")
        title = _("Period closed.") if result.first_close else _("Period recalculated.")
        messages.success(request, f"{title} {close_summary(result)}")
        return redirect("incentives:period", pk=program.pk, period_pk=period.pk)


class PeriodEarningsView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_earningline"

    def get(self, request, pk, period_pk):
        program = _program(pk)
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
        program = _program(pk)
        closed = list(program.periods.filter(closed_at__isnull=False).order_by("starts_on"))
        period = next((p for p in closed if str(p.pk) == request.GET.get("period")), None)
        roi = selectors.program_roi(program=program, period=period)
        context = {
            "program": program,
            "closed": closed,
            "period": period,
            "roi": roi,
            "rows": _roi_rows(roi) if roi.get("periods") else [],
            "roi_percent": _percent(roi.get("roi")),
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
        program = _program(pk)
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
                    rows = _roi_rows(result)
        past = [p for p in program.periods.all() if p.ends_on < today]
        context = {
            "program": program,
            "rules": rules,
            "form": form,
            "result": result,
            "rows": rows,
            "roi_percent": _percent(result.get("roi")) if result else None,
            "past_periods": past,
        }
        return render(request, "incentives/program_simulate.html", context, status=400 if form.is_bound and form.errors else 200)


# --- payouts ----------------------------------------------------------------------------------


class PayoutListView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_payout"

    def get(self, request):
        filter_form = PayoutFilterForm(request.GET)
        status = filter_form.status_value()
        payouts = selectors.payout_list(status=status or None).order_by("-created_at", "-id")
        if request.GET.get("export") == "csv":
            response = HttpResponse(selectors.payouts_csv(payouts=payouts), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="payouts{"-" + status if status else ""}.csv"'
            return response
        counts = dict(Payout.objects.order_by().values_list("status").annotate(n=Count("pk")))
        unbatched = EarningLine.objects.filter(payout__isnull=True, reward_type="cash", period__closed_at__isnull=False).aggregate(
            amount=Sum("amount"), lines=Count("pk")
        )
        context = {
            "filter_form": filter_form,
            "status": status,
            "page_obj": paginate(request, payouts),
            "querystring": querystring_without_page(request),
            "statuses": [(value, label, counts.get(value, 0)) for value, label in PayoutStatus.choices],
            "unbatched": unbatched,
        }
        return render(request, "incentives/payout_list.html", context)


class PayoutCreateView(ManagerRequiredMixin, View):
    permission_required = "incentives.add_payout"

    def get(self, request):
        return _confirm(
            request,
            title=_("Batch unpaid earnings into payouts?"),
            message=_(
                "Every partner's unpaid cash earnings of closed periods are batched into one payout per partner and program, "
                "waiting for approval. A partner whose unpaid total is not positive waits for the next batch."
            ),
            button=_("Yes, create payouts"),
            cancel_url=reverse("incentives:payouts"),
        )

    def post(self, request):
        payouts = services.payouts_create(by=request.user)
        if payouts:
            total = sum((payout.amount for payout in payouts), ZERO)
            messages.success(
                request,
                ngettext(
                    "%(count)s payout created, %(total)s in all, waiting for approval.",
                    "%(count)s payouts created, %(total)s in all, waiting for approval.",
                    len(payouts),
                )
                % {"count": len(payouts), "total": _money(total)},
            )
        else:
            messages.info(request, _("There were no unpaid earnings to batch."))
        return redirect(reverse("incentives:payouts") + "?status=pending")


def _payout(pk):
    return get_object_or_404(Payout.objects.select_related("partner", "program", "approved_by", "paid_by", "rejected_by"), pk=pk)


def _payout_page(request, payout, *, paid_form=None, reject_form=None, status=200):
    paid_form = _with_form_token(request, paid_form or MarkPaidForm(), reverse("incentives:payout_paid", args=[payout.pk]))
    reject_form = _with_form_token(
        request, reject_form or RejectForm(submit_label=_("Reject payout")), reverse("incentives:payout_reject", args=[payout.pk])
    )
    context = {
        "payout": payout,
        "lines": EarningLine.objects.filter(pk__in=payout.line_ids).select_related("period", "rule").order_by("pk"),
        "audit": selectors.audit_trail(obj=payout),
        "paid_form": paid_form,
        "reject_form": reject_form,
    }
    return render(request, "incentives/payout_detail.html", context, status=status)


class PayoutDetailView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_payout"

    def get(self, request, pk):
        return _payout_page(request, _payout(pk))


class PayoutApproveView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_payout"

    def _page(self, request, payout, error=None, status=200):
        return _confirm(
            request,
            title=_("Approve this payout?"),
            message=_("%(amount)s to %(partner)s is approved for payment.") % {"amount": _money(payout.amount), "partner": payout.partner},
            button=_("Yes, approve"),
            cancel_url=reverse("incentives:payout", args=[payout.pk]),
            once=True,
            error=error,
            status=status,
        )

    def get(self, request, pk):
        return self._page(request, _payout(pk))

    def post(self, request, pk):
        payout = _payout(pk)
        try:
            return submit_once(request, lambda: self._approve(request, payout))
        except FormTokenError as error:
            return self._page(request, payout, error=str(error), status=400)

    def _approve(self, request, payout):
        try:
            services.payout_approve(payout=payout, by=request.user)
        except ValidationError as error:
            _error_message(request, error)
        else:
            messages.success(
                request, _("Payout of %(amount)s to %(partner)s approved.") % {"amount": _money(payout.amount), "partner": payout.partner}
            )
        return redirect("incentives:payout", pk=payout.pk)


class PayoutMarkPaidView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_payout"

    def get(self, request, pk):
        return redirect(reverse("incentives:payout", args=[pk]) + "#mark-paid")

    def post(self, request, pk):
        payout = _payout(pk)
        form = MarkPaidForm(request.POST)

        def write():
            if form.is_valid():
                try:
                    services.payout_mark_paid(payout=payout, by=request.user, reference=form.cleaned_data["reference"])
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    messages.success(
                        request, _("Payout marked paid with reference %(reference)s.") % {"reference": form.cleaned_data["reference"]}
                    )
                    return redirect("incentives:payout", pk=payout.pk)
            return _payout_page(request, payout, paid_form=form, status=400)

        try:
            return submit_once(request, write)
        except FormTokenError as error:
            form.add_error(None, str(error))
            return _payout_page(request, payout, paid_form=form, status=400)


class PayoutRejectView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_payout"

    def get(self, request, pk):
        return redirect(reverse("incentives:payout", args=[pk]) + "#reject")

    def post(self, request, pk):
        payout = _payout(pk)
        form = RejectForm(request.POST, submit_label=_("Reject payout"))

        def write():
            if form.is_valid():
                try:
                    services.payout_reject(payout=payout, by=request.user, reason=form.cleaned_data["reason"])
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    messages.success(request, _("Payout rejected; its earnings return to the unpaid lines."))
                    return redirect("incentives:payout", pk=payout.pk)
            return _payout_page(request, payout, reject_form=form, status=400)

        try:
            return submit_once(request, write)
        except FormTokenError as error:
            form.add_error(None, str(error))
            return _payout_page(request, payout, reject_form=form, status=400)


# --- rewards ----------------------------------------------------------------------------------


class RewardListView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_reward"

    def get(self, request):
        rewards = Reward.objects.prefetch_related("tiers").annotate(redemption_count=Count("redemptions")).order_by("points_cost", "name")
        context = {"page_obj": paginate(request, rewards), "querystring": querystring_without_page(request)}
        return render(request, "incentives/reward_list.html", context)


class RewardFormView(ManagerRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        self.permission_required = "incentives.change_reward" if kwargs.get("pk") else "incentives.add_reward"
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk=None):
        reward = get_object_or_404(Reward, pk=pk) if pk else None
        return render(request, "incentives/reward_form.html", {"form": RewardForm(instance=reward), "reward": reward})

    def post(self, request, pk=None):
        reward = get_object_or_404(Reward, pk=pk) if pk else None
        form = RewardForm(request.POST, instance=reward)
        if form.is_valid():
            with transaction.atomic():
                saved = form.save()
            messages.success(request, _("Reward “%(name)s” saved.") % {"name": saved.name})
            return redirect("incentives:rewards")
        return render(request, "incentives/reward_form.html", {"form": form, "reward": reward}, status=400)


class RewardDeleteView(ManagerRequiredMixin, View):
    permission_required = "incentives.delete_reward"

    def get(self, request, pk):
        reward = get_object_or_404(Reward, pk=pk)
        return _confirm(
            request,
            title=_("Delete this reward?"),
            message=_("“%(name)s” leaves the catalog for good. A reward that was redeemed cannot be deleted: deactivate it instead.")
            % {"name": reward.name},
            button=_("Yes, delete"),
            cancel_url=reverse("incentives:rewards"),
            danger=True,
        )

    def post(self, request, pk):
        reward = get_object_or_404(Reward, pk=pk)
        try:
            with transaction.atomic():
                reward.delete()
        except ProtectedError:
            messages.error(request, _("“%(name)s” was redeemed, so it cannot be deleted; deactivate it instead.") % {"name": reward.name})
        else:
            messages.success(request, _("Reward “%(name)s” deleted.") % {"name": reward.name})
        return redirect("incentives:rewards")


# --- redemptions ------------------------------------------------------------------------------


class RedemptionListView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_redemption"

    def get(self, request):
        filter_form = RedemptionFilterForm(request.GET)
        status = filter_form.status_value()
        redemptions = selectors.redemption_list(status=status or None).order_by("-created_at", "-id")
        counts = dict(Redemption.objects.order_by().values_list("status").annotate(n=Count("pk")))
        context = {
            "filter_form": filter_form,
            "status": status,
            "page_obj": paginate(request, redemptions),
            "querystring": querystring_without_page(request),
            "statuses": [(value, label, counts.get(value, 0)) for value, label in RedemptionStatus.choices],
            "reject_form": RejectForm(submit_label=_("Reject and refund")),
        }
        return render(request, "incentives/redemption_list.html", context)


def _redemption(pk):
    return get_object_or_404(Redemption.objects.select_related("partner", "reward", "user"), pk=pk)


class RedemptionActionView(ManagerRequiredMixin, View):
    """Approve or fulfil a redemption (POST); the list page asks for the confirmation."""

    permission_required = "incentives.change_redemption"
    action = None

    def _page(self, request, redemption, error=None, status=200):
        values = {"reward": redemption.reward.name, "partner": redemption.partner.name, "points": fmt(redemption.points)}
        if self.action == "approve":
            title, message, button = (
                _("Approve this redemption?"),
                _("%(partner)s redeems “%(reward)s” for %(points)s points.") % values,
                _("Yes, approve"),
            )
        else:
            title, message, button = (
                _("Mark this redemption fulfilled?"),
                _("“%(reward)s” was delivered to %(partner)s.") % values,
                _("Yes, fulfilled"),
            )
        return _confirm(
            request,
            title=title,
            message=message,
            button=button,
            cancel_url=reverse("incentives:redemptions"),
            once=True,
            error=error,
            status=status,
        )

    def get(self, request, pk):
        return self._page(request, _redemption(pk))

    def post(self, request, pk):
        redemption = _redemption(pk)
        try:
            return submit_once(request, lambda: self._decide(request, redemption))
        except FormTokenError as error:
            return self._page(request, redemption, error=str(error), status=400)

    def _decide(self, request, redemption):
        service = services.redemption_approve if self.action == "approve" else services.redemption_fulfil
        try:
            service(redemption=redemption, by=request.user)
        except ValidationError as error:
            _error_message(request, error)
        else:
            done = _("Redemption approved.") if self.action == "approve" else _("Redemption marked fulfilled.")
            messages.success(request, done)
        return redirect("incentives:redemptions")


class RedemptionRejectView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_redemption"

    def _render(self, request, redemption, form, status=200):
        _with_form_token(request, form, request.path)
        return render(request, "incentives/redemption_reject.html", {"redemption": redemption, "form": form}, status=status)

    def get(self, request, pk):
        return self._render(request, _redemption(pk), RejectForm(submit_label=_("Reject and refund")))

    def post(self, request, pk):
        redemption = _redemption(pk)
        form = RejectForm(request.POST, submit_label=_("Reject and refund"))

        def write():
            if form.is_valid():
                try:
                    services.redemption_reject(redemption=redemption, by=request.user, reason=form.cleaned_data["reason"])
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    messages.success(
                        request, _("Redemption rejected; %(points)s points went back to the partner.") % {"points": fmt(redemption.points)}
                    )
                    return redirect("incentives:redemptions")
            return self._render(request, redemption, form, status=400)

        try:
            return submit_once(request, write)
        except FormTokenError as error:
            form.add_error(None, str(error))
            return self._render(request, redemption, form, status=400)


# --- tiers ------------------------------------------------------------------------------------


class TierRuleListView(ManagerRequiredMixin, View):
    """Tier qualification rules per tier, the re-evaluation button and the history of tier changes."""

    permission_required = "incentives.view_tierrule"

    def get(self, request):
        tiers = list(Tier.objects.order_by("rank"))
        rules = {rule.tier_id: rule for rule in TierRule.objects.all()}
        for tier in tiers:
            tier.rule = rules.get(tier.pk)
        changes = TierChange.objects.select_related("partner", "from_tier", "to_tier").order_by("-at", "-id")
        context = {"tiers": tiers, "page_obj": paginate(request, changes), "querystring": querystring_without_page(request)}
        return render(request, "incentives/tier_rules.html", context)


class TierRuleFormView(ManagerRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        exists = TierRule.objects.filter(tier_id=kwargs["tier_pk"]).exists()
        self.permission_required = "incentives.change_tierrule" if exists else "incentives.add_tierrule"
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, tier, form, status=200):
        return render(request, "incentives/tier_rule_form.html", {"tier": tier, "form": form}, status=status)

    def get(self, request, tier_pk):
        tier = get_object_or_404(Tier, pk=tier_pk)
        return self._render(request, tier, TierRuleForm(instance=TierRule.objects.filter(tier=tier).first()))

    def post(self, request, tier_pk):
        tier = get_object_or_404(Tier, pk=tier_pk)
        form = TierRuleForm(request.POST, instance=TierRule.objects.filter(tier=tier).first() or TierRule(tier=tier))
        if form.is_valid():
            with transaction.atomic():
                form.save()
            messages.success(request, _("Qualification for %(tier)s saved.") % {"tier": tier.name})
            return redirect("incentives:tiers")
        return self._render(request, tier, form, status=400)


class TierEvaluateView(ManagerRequiredMixin, View):
    permission_required = "incentives.add_tierchange"

    def get(self, request):
        return _confirm(
            request,
            title=_("Re-evaluate every partner's tier?"),
            message=_(
                "Partners that meet a higher tier's rule move up at once; partners below their tier's rule move down only "
                "after the grace period. Partners and their managers are e-mailed about each change. The loyalty-score "
                "criterion is not checked here: the nightly job passes the scores in."
            ),
            button=_("Yes, re-evaluate"),
            cancel_url=reverse("incentives:tiers"),
        )

    def post(self, request):
        changes = services.tiers_evaluate()
        if changes:
            messages.success(
                request,
                ngettext("%(count)s partner changed tier.", "%(count)s partners changed tier.", len(changes)) % {"count": len(changes)},
            )
        else:
            messages.info(request, _("Every partner keeps its tier."))
        return redirect("incentives:tiers")
