"""The partner's own loyalty scorecard in the portal.

The partner comes from the signed-in user (`self.partner`), never from the URL; the page reads
`kpis.selectors.portal_scorecard`, which shows the partner its own figures and the channel only as
aggregates of at least five partners, and leaves out the share of territory revenue (see there).
"""

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from kpis import selectors
from kpis.views import scorecard_chart_data

from .views import PartnerUserRequiredMixin


class ScorecardView(PartnerUserRequiredMixin, View):
    def get(self, request):
        card = selectors.portal_scorecard(partner=self.partner, on_date=timezone.localdate())
        context = {
            "partner": self.partner,
            "card": card,
            "change_30": selectors.change_since(snapshot=card["snapshot"]),
            "chart_data": scorecard_chart_data(card, median_label=_("Channel median")),
        }
        return render(request, "portal/kpis/scorecard.html", context)
