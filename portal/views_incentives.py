"""The partner side of incentives: programs and their criteria, accrual, earnings and payouts, points,
the reward catalog and redemptions.

As everywhere in the portal, the partner comes from the signed-in user (`self.partner`), and every
lookup goes through a selector that takes the partner (`payouts_for`, `redemptions_for`,
`rewards_for`): another partner's payout or redemption, or a reward of another tier, answers 404
exactly like one that does not exist.

The redeem confirmation carries a one-time token (`partners.idempotency`): a double click, or the
same form sent again, redeems once.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from incentives import selectors, services
from incentives.models import EarningLine, RedemptionStatus
from partners.idempotency import FormTokenError, form_token, submit_once

from .views import PartnerUserRequiredMixin

PAGE_SIZE = 25


class IncentivesView(PartnerUserRequiredMixin, View):
    """The programs the partner is in, with their criteria, what it earned so far and what it misses."""

    def get(self, request):
        preview = {item["program"].pk: item for item in selectors.accrual_preview(partner=self.partner)}
        programs = list(selectors.programs_for_partner(partner=self.partner))
        for program in programs:
            program.accrual = preview.get(program.pk)
        context = {
            "programs": programs,
            "tier_progress": selectors.tier_progress(partner=self.partner),
            "balance": selectors.points_balance(partner=self.partner),
            "partner": self.partner,
        }
        return render(request, "portal/incentives/overview.html", context)


class EarningsView(PartnerUserRequiredMixin, View):
    def get(self, request):
        lines = selectors.earning_lines_for(partner=self.partner).order_by("-created_at", "-id")
        context = {
            "page_obj": Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page")),
            "payouts": selectors.payouts_for(partner=self.partner).order_by("-created_at", "-id")[:50],
        }
        return render(request, "portal/incentives/earnings.html", context)


class PayoutDetailView(PartnerUserRequiredMixin, View):
    def get(self, request, pk):
        payout = get_object_or_404(selectors.payouts_for(partner=self.partner), pk=pk)
        lines = EarningLine.objects.for_partner(self.partner).filter(pk__in=payout.line_ids).select_related("period", "program")
        return render(request, "portal/incentives/payout_detail.html", {"payout": payout, "lines": lines.order_by("pk")})


class PointsView(PartnerUserRequiredMixin, View):
    def get(self, request):
        history = selectors.points_history(partner=self.partner).order_by("-created_at", "-id")
        context = {
            "balance": selectors.points_balance(partner=self.partner),
            "page_obj": Paginator(history, PAGE_SIZE).get_page(request.GET.get("page")),
        }
        return render(request, "portal/incentives/points.html", context)


class RewardListView(PartnerUserRequiredMixin, View):
    def get(self, request):
        context = {
            "rewards": selectors.rewards_for(partner=self.partner).order_by("points_cost", "name"),
            "balance": selectors.points_balance(partner=self.partner),
        }
        return render(request, "portal/incentives/rewards.html", context)


class RedeemView(PartnerUserRequiredMixin, View):
    """Redeem a reward of the partner's tier, after a confirmation page that says what happens.

    The confirmation form carries a one-time token: a second POST of the same form redeems nothing
    and goes to the first redemption; a missing, forged or expired token shows the confirmation again.
    """

    def _reward(self, pk):
        return get_object_or_404(selectors.rewards_for(partner=self.partner), pk=pk)

    def _render(self, request, reward, errors=(), status=200):
        balance = selectors.points_balance(partner=self.partner)
        context = {
            "reward": reward,
            "balance": balance,
            "after": balance - reward.points_cost,
            "needs_approval": selectors.redemption_needs_approval(reward=reward),
            "errors": errors,
            "form_token": form_token(request),
        }
        return render(request, "portal/incentives/redeem.html", context, status=status)

    def get(self, request, pk):
        return self._render(request, self._reward(pk))

    def post(self, request, pk):
        reward = self._reward(pk)
        try:
            return submit_once(request, lambda: self._redeem(request, reward))
        except FormTokenError as error:
            return self._render(request, reward, errors=[str(error)], status=400)

    def _redeem(self, request, reward):
        try:
            redemption = services.redemption_request(partner=self.partner, user=request.user, reward=reward)
        except ValidationError as error:
            reward.refresh_from_db()
            return self._render(request, reward, errors=error.messages, status=400)
        if redemption.status == RedemptionStatus.PENDING_APPROVAL:
            messages.success(
                request,
                _("“%(reward)s” is ordered and waits for approval by your channel manager; the points are reserved.")
                % {"reward": reward.name},
            )
        else:
            messages.success(request, _("“%(reward)s” is ordered. We will let you know when it is on its way.") % {"reward": reward.name})
        return redirect("portal:incentive_redemption", pk=redemption.pk)


class RedemptionListView(PartnerUserRequiredMixin, View):
    def get(self, request):
        redemptions = selectors.redemptions_for(partner=self.partner).order_by("-created_at", "-id")
        context = {"page_obj": Paginator(redemptions, PAGE_SIZE).get_page(request.GET.get("page"))}
        return render(request, "portal/incentives/redemptions.html", context)


class RedemptionDetailView(PartnerUserRequiredMixin, View):
    def get(self, request, pk):
        redemption = get_object_or_404(selectors.redemptions_for(partner=self.partner), pk=pk)
        return render(request, "portal/incentives/redemption_detail.html", {"redemption": redemption})
