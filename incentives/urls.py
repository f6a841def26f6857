"""The channel managers' incentive pages, under /incentives/ (namespace "incentives")."""

from django.urls import path

from .views import payouts, periods, programs, rewards, tiers

app_name = "incentives"

urlpatterns = [
    path("", programs.ProgramListView.as_view(), name="list"),
    path("new/", programs.ProgramCreateView.as_view(), name="create"),
    path("<int:pk>/", programs.ProgramDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", programs.ProgramUpdateView.as_view(), name="edit"),
    path("<int:pk>/activate/", programs.ProgramActivateView.as_view(), name="activate"),
    path("<int:pk>/close/", programs.ProgramCloseView.as_view(), name="close"),
    path("<int:pk>/roi/", periods.ProgramRoiView.as_view(), name="roi"),
    path("<int:pk>/simulate/", periods.ProgramSimulateView.as_view(), name="simulate"),
    path("<int:pk>/rules/new/", programs.RuleFormView.as_view(), name="rule_create"),
    path("<int:pk>/rules/<int:rule_pk>/edit/", programs.RuleFormView.as_view(), name="rule_edit"),
    path("<int:pk>/rules/<int:rule_pk>/delete/", programs.RuleDeleteView.as_view(), name="rule_delete"),
    path("<int:pk>/periods/<int:period_pk>/", periods.PeriodEarningsView.as_view(), name="period"),
    path("<int:pk>/periods/<int:period_pk>/close/", periods.PeriodCloseView.as_view(), name="period_close"),
    path("payouts/", payouts.PayoutListView.as_view(), name="payouts"),
    path("payouts/new/", payouts.PayoutCreateView.as_view(), name="payout_create"),
    path("payouts/<int:pk>/", payouts.PayoutDetailView.as_view(), name="payout"),
    path("payouts/<int:pk>/approve/", payouts.PayoutApproveView.as_view(), name="payout_approve"),
    path("payouts/<int:pk>/paid/", payouts.PayoutMarkPaidView.as_view(), name="payout_paid"),
    path("payouts/<int:pk>/reject/", payouts.PayoutRejectView.as_view(), name="payout_reject"),
    path("rewards/", rewards.RewardListView.as_view(), name="rewards"),
    path("rewards/new/", rewards.RewardFormView.as_view(), name="reward_create"),
    path("rewards/<int:pk>/edit/", rewards.RewardFormView.as_view(), name="reward_edit"),
    path("rewards/<int:pk>/delete/", rewards.RewardDeleteView.as_view(), name="reward_delete"),
    path("redemptions/", rewards.RedemptionListView.as_view(), name="redemptions"),
    path("redemptions/<int:pk>/approve/", rewards.RedemptionActionView.as_view(action="approve"), name="redemption_approve"),
    path("redemptions/<int:pk>/fulfil/", rewards.RedemptionActionView.as_view(action="fulfil"), name="redemption_fulfil"),
    path("redemptions/<int:pk>/reject/", rewards.RedemptionRejectView.as_view(), name="redemption_reject"),
    path("tiers/", tiers.TierRuleListView.as_view(), name="tiers"),
    path("tiers/evaluate/", tiers.TierEvaluateView.as_view(), name="tier_evaluate"),
    path("tiers/<int:tier_pk>/rule/", tiers.TierRuleFormView.as_view(), name="tier_rule"),
]
