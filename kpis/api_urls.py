from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api

# Included under /api/v1/ next to partners.api_urls, whose router serves the API root page.
router = DefaultRouter()
router.include_root_view = False
router.register("scores", api.ScoreSnapshotViewSet, basename="scoresnapshot")
router.register("score-alerts", api.AlertViewSet, basename="scorealert")

urlpatterns = [path("kpis/overview/", api.ChannelOverviewView.as_view(), name="kpis-overview"), *router.urls]
