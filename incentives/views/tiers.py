"""Tier qualification rules, the history of tier changes and the re-evaluation button."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.models import Tier
from partners.views import ManagerRequiredMixin

from .. import services
from ..forms import (
    TierRuleForm,
)
from ..models import (
    TierChange,
    TierRule,
)


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
            try:
                services.tier_rule_save(tier=tier, by=request.user, **{name: form.cleaned_data[name] for name in services.TIER_RULE_FIELDS})
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Qualification for %(tier)s saved.") % {"tier": tier.name})
                return redirect("incentives:tiers")
        return self._render(request, tier, form, status=400)


class TierEvaluateView(ManagerRequiredMixin, View):
    permission_required = "incentives.add_tierchange"

    def get(self, request):
        return confirm(
            request,
            title=_("Re-evaluate every partner's tier?"),
            message=_(
                "Partners that meet a higher tier's rule move up at once; partners below their tier's rule move down only "
                "after the grace period. Partners and their managers are e-mailed about each change. The loyalty-score "
                "criterion uses each partner's latest score, as the nightly run does."
            ),
            button=_("Yes, re-evaluate"),
            cancel_url=reverse("incentives:tiers"),
        )

    def post(self, request):
        changes = services.tiers_reevaluate()
        if changes:
            messages.success(
                request,
                ngettext("%(count)s partner changed tier.", "%(count)s partners changed tier.", len(changes)) % {"count": len(changes)},
            )
        else:
            messages.info(request, _("Every partner keeps its tier."))
        return redirect("incentives:tiers")
