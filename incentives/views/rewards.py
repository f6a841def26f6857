"""The reward catalog and the redemption queue (approve, fulfil, reject and refund)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.idempotency import FormTokenError, form_token, submit_once
from partners.views import ManagerRequiredMixin

from .. import selectors, services
from ..forms import (
    RedemptionFilterForm,
    RejectForm,
    RewardForm,
)
from ..models import (
    Redemption,
    RedemptionStatus,
    Reward,
)
from ..rules import fmt
from .common import error_message, with_form_token


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
            fields = {name: form.cleaned_data[name] for name in services.REWARD_FIELDS}
            try:
                if reward is None:
                    saved = services.reward_create(by=request.user, tiers=form.cleaned_data["tiers"], **fields)
                else:
                    saved = services.reward_update(reward=reward, by=request.user, tiers=form.cleaned_data["tiers"], **fields)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Reward “%(name)s” saved.") % {"name": saved.name})
                return redirect("incentives:rewards")
        return render(request, "incentives/reward_form.html", {"form": form, "reward": reward}, status=400)


class RewardDeleteView(ManagerRequiredMixin, View):
    permission_required = "incentives.delete_reward"

    def get(self, request, pk):
        reward = get_object_or_404(Reward, pk=pk)
        return confirm(
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
            services.reward_delete(reward=reward, by=request.user)
        except ValidationError as error:
            error_message(request, error)
        else:
            messages.success(request, _("Reward “%(name)s” deleted.") % {"name": reward.name})
        return redirect("incentives:rewards")


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
        return confirm(
            request,
            title=title,
            message=message,
            button=button,
            cancel_url=reverse("incentives:redemptions"),
            form_token=form_token(request),
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
            error_message(request, error)
        else:
            done = _("Redemption approved.") if self.action == "approve" else _("Redemption marked fulfilled.")
            messages.success(request, done)
        return redirect("incentives:redemptions")


class RedemptionRejectView(ManagerRequiredMixin, View):
    permission_required = "incentives.change_redemption"

    def _render(self, request, redemption, form, status=200):
        with_form_token(request, form, request.path)
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
