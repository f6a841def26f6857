from django.urls import path

from . import views

app_name = "sales"

# Mounted at /partners/imports/ (config/urls.py), where the imports were before the sales app existed.
urlpatterns = [
    path("", views.ImportListView.as_view(), name="imports"),
    path("new/", views.ImportCreateView.as_view(), name="import_new"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="import_detail"),
    path("<int:pk>/progress/", views.ImportProgressView.as_view(), name="import_progress"),
    path("<int:pk>/errors.csv", views.ImportErrorsCsvView.as_view(), name="import_errors_csv"),
]
