"""Programs and their rules: list, create, edit, activate, close; add, edit and delete rules of a draft."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.models import PartnerType
from partners.views import ManagerRequiredMixin

from .. import selectors, services
from ..forms import (
    RULE_FORMS,
    ProgramFilterForm,
    ProgramForm,
)
from ..models import (
    ProgramStatus,
    Rule,
    RuleKind,
)
from .common import error_message, percent, program_or_404


def _rule(program, rule_pk):
    return get_object_or_404(Rule, pk=rule_pk, program=program)


class ProgramListView(ManagerRequiredMixin, View):
    permission_required = "incentives.view_program"

    def get(self, request):
        filter_form = ProgramFilterForm(request.GET)
        context = {
            "filter_form": filter_form,
            "page_obj": paginate(request, selectors.program_list(**filter_form.filters())),
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
        program = program_or_404(pk)
        return render(request, "incentives/program_form.html", {"form": ProgramForm(instance=program), "program": program})

    def post(self, request, pk):
        program = program_or_404(pk)
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
        program = selectors.program_detail(program=program_or_404(pk))
        totals = selectors.period_totals(program=program)
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
            "roi_rows": selectors.roi_rows(roi)[:10] if roi and roi.get("periods") else [],
            "roi_percent": percent(roi.get("roi")) if roi else None,
            "rule_kinds": RuleKind.choices,
            "partner_type_labels": [str(PartnerType(value).label) for value in program.partner_types],
        }
        return render(request, "incentives/program_detail.html", context)


class ProgramActivateView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_program"

    def get(self, request, pk):
        program = program_or_404(pk)
        return confirm(
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
        program = program_or_404(pk)
        try:
            services.program_activate(program=program, by=request.user)
        except ValidationError as error:
            error_message(request, error)
        else:
            messages.success(request, _("Program “%(name)s” is active.") % {"name": program.name})
        return redirect("incentives:detail", pk=program.pk)


class ProgramCloseView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_program"

    def get(self, request, pk):
        program = program_or_404(pk)
        return confirm(
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
        program = program_or_404(pk)
        try:
            services.program_close(program=program, by=request.user)
        except ValidationError as error:
            error_message(request, error)
        else:
            messages.success(request, _("Program “%(name)s” is closed.") % {"name": program.name})
        return redirect("incentives:detail", pk=program.pk)


class RuleFormView(ManagerRequiredMixin, View):
    """Add a rule of one kind (`?kind=`), or edit one; the parameters are checked by `incentives.rules`."""

    def dispatch(self, request, *args, **kwargs):
        self.permission_required = "incentives.change_rule" if kwargs.get("rule_pk") else "incentives.add_rule"
        return super().dispatch(request, *args, **kwargs)

    def _setup(self, request, pk, rule_pk):
        program = program_or_404(pk)
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
                    rule = services.rule_add(
                        program=program, kind=kind, params=form.params(), name=form.cleaned_data["name"], by=request.user
                    )
                else:
                    rule = services.rule_update(rule=rule, params=form.params(), name=form.cleaned_data["name"], by=request.user)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Rule saved: %(explanation)s.") % {"explanation": rule.explanation})
                return redirect(reverse("incentives:detail", args=[program.pk]) + "#rules")
        return self._render(request, program, rule, kind, form, status=400)


class RuleDeleteView(ManagerRequiredMixin, View):
    permission_required = "incentives.delete_rule"

    def get(self, request, pk, rule_pk):
        program = program_or_404(pk)
        rule = _rule(program, rule_pk)
        return confirm(
            request,
            title=_("Delete this rule?"),
            message=_("“%(rule)s” (%(explanation)s) is removed from the draft program.") % {"rule": rule, "explanation": rule.explanation},
            button=_("Yes, delete"),
            cancel_url=reverse("incentives:detail", args=[program.pk]),
            danger=True,
        )

    def post(self, request, pk, rule_pk):
        program = program_or_404(pk)
        rule = _rule(program, rule_pk)
        try:
            services.rule_delete(rule=rule, by=request.user)
        except ValidationError as error:
            error_message(request, error)
        else:
            messages.success(request, _("Rule “%(rule)s” deleted.") % {"rule": rule})
        return redirect(reverse("incentives:detail", args=[program.pk]) + "#rules")
