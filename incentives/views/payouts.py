"""Payouts: the list, batching unpaid earnings, approve, mark paid and reject (one-time form tokens)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.idempotency import FormTokenError, form_token, submit_once
from partners.views import ManagerRequiredMixin

from .. import selectors, services
from ..forms import (
    MarkPaidForm,
    PayoutFilterForm,
    RejectForm,
)
from ..models import (
    EarningLine,
    Payout,
    PayoutStatus,
)
from ..rules import ZERO
from .common import error_message, money, with_form_token


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
        return confirm(
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
                % {"count": len(payouts), "total": money(total)},
            )
        else:
            messages.info(request, _("There were no unpaid earnings to batch."))
        return redirect(reverse("incentives:payouts") + "?status=pending")


def _payout(pk):
    return get_object_or_404(Payout.objects.select_related("partner", "program", "approved_by", "paid_by", "rejected_by"), pk=pk)


def _payout_page(request, payout, *, paid_form=None, reject_form=None, status=200):
    paid_form = with_form_token(request, paid_form or MarkPaidForm(), reverse("incentives:payout_paid", args=[payout.pk]))
    reject_form = with_form_token(
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
        return confirm(
            request,
            title=_("Approve this payout?"),
            message=_("%(amount)s to %(partner)s is approved for payment.") % {"amount": money(payout.amount), "partner": payout.partner},
            button=_("Yes, approve"),
            cancel_url=reverse("incentives:payout", args=[payout.pk]),
            form_token=form_token(request),
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
            error_message(request, error)
        else:
            messages.success(
                request, _("Payout of %(amount)s to %(partner)s approved.") % {"amount": money(payout.amount), "partner": payout.partner}
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
