from django.urls import path

from . import views, views_incentives, views_kpis, views_surveys

app_name = "portal"

urlpatterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("activity/", views.ActivityView.as_view(), name="activity"),
    path("contacts/", views.ContactListView.as_view(), name="contacts"),
    path("contacts/new/", views.ContactFormView.as_view(), name="contact_create"),
    path("contacts/<int:pk>/edit/", views.ContactFormView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("team/", views.TeamView.as_view(), name="team"),
    path("team/invite/", views.TeamInviteView.as_view(), name="team_invite"),
    path("team/<int:pk>/active/", views.TeamSetActiveView.as_view(), name="team_set_active"),
    path("team/<int:pk>/resend/", views.TeamResendInvitationView.as_view(), name="team_resend_invitation"),
    path("surveys/", views_surveys.SurveyListView.as_view(), name="surveys"),
    path("surveys/<int:invitation_id>/", views_surveys.SurveyAnswerView.as_view(), name="survey_answer"),
    path("ideas/", views_surveys.IdeaListView.as_view(), name="ideas"),
    path("ideas/<int:pk>/", views_surveys.IdeaDetailView.as_view(), name="idea_detail"),
    path("scorecard/", views_kpis.ScorecardView.as_view(), name="scorecard"),
    path("incentives/", views_incentives.IncentivesView.as_view(), name="incentives"),
    path("incentives/earnings/", views_incentives.EarningsView.as_view(), name="incentive_earnings"),
    path("incentives/payouts/<int:pk>/", views_incentives.PayoutDetailView.as_view(), name="incentive_payout"),
    path("incentives/points/", views_incentives.PointsView.as_view(), name="incentive_points"),
    path("incentives/rewards/", views_incentives.RewardListView.as_view(), name="incentive_rewards"),
    path("incentives/rewards/<int:pk>/redeem/", views_incentives.RedeemView.as_view(), name="incentive_redeem"),
    path("incentives/redemptions/", views_incentives.RedemptionListView.as_view(), name="incentive_redemptions"),
    path("incentives/redemptions/<int:pk>/", views_incentives.RedemptionDetailView.as_view(), name="incentive_redemption"),
]
