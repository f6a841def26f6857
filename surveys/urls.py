"""The channel managers' pages of the feedback loop, under /surveys/ (namespace "surveys")."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.SurveyListView.as_view(), name="list"),
    path("new/", views.SurveyCreateView.as_view(), name="create"),
    path("<int:pk>/", views.SurveyDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.SurveyUpdateView.as_view(), name="edit"),
    path("<int:pk>/archive/", views.SurveyArchiveView.as_view(), name="archive"),
    path("<int:pk>/duplicate/", views.SurveyDuplicateView.as_view(), name="duplicate"),
    path("<int:pk>/preview/", views.SurveyPreviewView.as_view(), name="preview"),
    path("<int:pk>/questions/new/", views.QuestionFormView.as_view(), name="question_create"),
    path("<int:pk>/questions/<int:question_pk>/edit/", views.QuestionFormView.as_view(), name="question_edit"),
    path("<int:pk>/questions/<int:question_pk>/delete/", views.QuestionDeleteView.as_view(), name="question_delete"),
    path("<int:pk>/questions/<int:question_pk>/move/", views.QuestionMoveView.as_view(), name="question_move"),
    path("<int:pk>/waves/new/", views.WaveCreateView.as_view(), name="wave_create"),
    path("<int:pk>/waves/<int:wave_pk>/", views.WaveResultsView.as_view(), name="wave_results"),
    path("<int:pk>/waves/<int:wave_pk>/close/", views.WaveCloseView.as_view(), name="wave_close"),
    path("<int:pk>/waves/<int:wave_pk>/responses.csv", views.WaveExportView.as_view(), name="wave_export"),
    path("ideas/", views.IdeaListView.as_view(), name="ideas"),
    path("ideas/<int:pk>/", views.IdeaDetailView.as_view(), name="idea_detail"),
    path("ideas/<int:pk>/reply/", views.IdeaReplyView.as_view(), name="idea_reply"),
    path("ideas/<int:pk>/status/", views.IdeaStatusView.as_view(), name="idea_status"),
    path("ideas/<int:pk>/merge/", views.IdeaMergeView.as_view(), name="idea_merge"),
]
