"""The channel managers' incentive pages, under /incentives/ (namespace "incentives")."""

from django.urls import path

from . import views

app_name = "incentives"

urlpatterns = [
    path("", views.ProgramListView.as_view(), name="list"),
    path("new/", views.ProgramCreateView.as_view(), name="create"),
    path("<int:pk>/", views.ProgramDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ProgramUpdateView.as_view(), name="edit"),
    path("<int:pk>/activate/", views.ProgramActivateView.as_view(), name="activate"),
    path("<int:pk>/close/", views.ProgramCloseView.as_view(), name="close"),
    path("<int:pk>/roi/", views.ProgramRoiView.as_view(), name="roi"),
    path("<int:pk>/simulate/", views.ProgramSimulateView.as_view(), name="simulate"),
    path("<int:pk>/rules/new/", views.RuleFormView.as_view(), name="rule_create"),
    path("<int:pk>/rules/<int:rule_pk>/edit/", views.RuleFormView.as_view(), name="rule_edit"),
    path("<int:pk>/rules/<int:rule_pk>/delete/", views.RuleDeleteView.as_view(), name="rule_delete"),
    path("<int:pk>/periods/<int:period_pk>/", views.PeriodEarningsView.as_view(), name="period"),
    path("<int:pk>/periods/<int:period_pk>/close/", views.PeriodCloseView.as_view(), name="period_close"),
    path("payouts/", views.PayoutListView.as_view(), name="payouts"),
    path("payouts/new/", views.PayoutCreateView.as_view(), name="payout_create"),
    path("payouts/<int:pk>/", views.PayoutDetailView.as_view(), name="payout"),
    path("payouts/<int:pk>/approve/", views.PayoutApproveView.as_view(), name="payout_approve"),
    path("payouts/<int:pk>/paid/", views.PayoutMarkPaidView.as_view(), name="payout_paid"),
    path("payouts/<int:pk>/reject/", views.PayoutRejectView.as_view(), name="payout_reject"),
    path("rewards/", views.RewardListView.as_view(), name="rewards"),
    path("rewards/new/", views.RewardFormView.as_view(), name="reward_create"),
    path("rewards/<int:pk>/edit/", views.RewardFormView.as_view(), name="reward_edit"),
    path("rewards/<int:pk>/delete/", views.RewardDeleteView.as_view(), name="reward_delete"),
    path("redemptions/", views.RedemptionListView.as_view(), name="redemptions"),
    path("redemptions/<int:pk>/approve/", views.RedemptionActionView.as_view(action="approve"), name="redemption_approve"),
    path("redemptions/<int:pk>/fulfil/", views.RedemptionActionView.as_view(action="fulfil"), name="redemption_fulfil"),
    path("redemptions/<int:pk>/reject/", views.RedemptionRejectView.as_view(), name="redemption_reject"),
    path("tiers/", views.TierRuleListView.as_view(), name="tiers"),
    path("tiers/evaluate/", views.TierEvaluateView.as_view(), name="tier_evaluate"),
    path("tiers/<int:tier_pk>/rule/", views.TierRuleFormView.as_view(), name="tier_rule"),
]
