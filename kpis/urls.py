"""The channel managers' KPI pages, under /kpis/ (namespace "kpis")."""

from django.urls import path

from . import views

app_name = "kpis"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("refresh/", views.CubeRefreshView.as_view(), name="cube_refresh"),
    path("partners/<int:pk>/", views.ScorecardView.as_view(), name="scorecard"),
    path("partners/<int:pk>/badge/", views.ScoreBadgeView.as_view(), name="score_badge"),
    path("alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="alert_acknowledge"),
]
