from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from partners import views as partner_views
from partners.forms_auth import LoginForm
from partners.views_auth import ThrottledPasswordResetView

urlpatterns = [
    path("", partner_views.home, name="home"),
    path("healthz/", partner_views.healthz, name="healthz"),
    path("partners/imports/", include("sales.urls")),
    path("partners/", include("partners.urls")),
    path("portal/", include("portal.urls")),
    path("surveys/", include("surveys.urls")),
    path("incentives/", include("incentives.urls")),
    path("kpis/", include("kpis.urls")),
    path("apply/", partner_views.ApplyView.as_view(), name="apply"),
    path("apply/thanks/", partner_views.apply_thanks, name="apply_thanks"),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True), name="login"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            post_reset_login=True, post_reset_login_backend="partners.auth.CaseInsensitiveModelBackend"
        ),
        name="password_reset_confirm",
    ),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/api-token/", partner_views.ApiTokenView.as_view(), name="api_token"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("partners.api_urls")),
    path("api/v1/", include("sales.api_urls")),
    path("api/v1/", include("surveys.api_urls")),
    path("api/v1/", include("incentives.api_urls")),
    path("api/v1/", include("kpis.api_urls")),
    # The schema and its UI list every operation, manager-only ones included: for signed-in users only.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api_schema"),
    # The split view serves Swagger UI's start-up script from /api/docs/?script instead of inline, and
    # our template links its page CSS instead of an inline <style>: the page works under the
    # Content-Security-Policy (script-src and style-src 'self').
    path(
        "api/docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="api_schema", template_name="api/swagger_ui.html", permission_classes=[IsAuthenticated]
            )
        ),
        name="api_docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "partners.api_errors.api_bad_request"
handler404 = "partners.api_errors.api_not_found"

admin.site.site_header = "PartnerLoop"
admin.site.site_title = "PartnerLoop admin"
# MEDIA_ROOT is never served as such, not even with DEBUG: it holds uploaded import files, which
# only manager views may read.
