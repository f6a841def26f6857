"""Admin of kpis: score-model versions (edit, copy, activate), read-only snapshots, alerts, and the
channel figures the dashboards read (read-only: they are rebuilt from the tables, never edited)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, ServiceAdmin

from . import services
from .models import Alert, ChannelCube, ChannelDay, ChannelMonth, PartnerSet, ScoreModel, ScoreSnapshot

RECIPE_FIELDS = list(services.RECIPE_FIELDS)


@admin.register(ScoreModel)
class ScoreModelAdmin(ServiceAdmin):
    """Score model versions through `kpis.services` (audited); a version that scored snapshots keeps its recipe."""

    list_display = ["version", "name", "is_active", "healthy_min", "watch_min", "alert_below", "alert_drop_points", "activated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "notes"]
    actions = ["activate", "copy_as_new_version"]
    fields = ["version", "name", "notes", "is_active", *RECIPE_FIELDS, "created_at", "activated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A version that scored snapshots is frozen, so every stored score stays explainable by its recipe.
        frozen = RECIPE_FIELDS if obj is not None and obj.is_used else []
        return ["is_active", "created_at", "activated_at", *frozen]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        latest = ScoreModel.objects.order_by("-version").values_list("version", flat=True).first() or 0
        initial.setdefault("version", latest + 1)
        return initial

    def service_save(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.SCORE_MODEL_FIELDS if name in form.cleaned_data}
        return services.score_model_save(score_model=obj if change else None, by=request.user, **fields)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.is_used) and super().has_delete_permission(request, obj)

    def service_delete(self, request, obj):
        services.score_model_delete(score_model=obj, by=request.user)

    @admin.action(description=_("Activate the selected version"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one version to activate."), messages.ERROR)
            return
        try:
            model = services.score_model_activate(score_model=queryset.get(), by=request.user)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return
        self.message_user(request, gettext("Version %(version)s is now active.") % {"version": model.version})

    @admin.action(description=_("Copy as a new version"))
    def copy_as_new_version(self, request, queryset):
        copies = [services.score_model_copy(score_model=model, by=request.user) for model in queryset.order_by("version")]
        self.message_user(
            request,
            ngettext("Created %(count)d new version.", "Created %(count)d new versions.", len(copies)) % {"count": len(copies)},
        )


@admin.register(ScoreSnapshot)
class ScoreSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["date", "partner", "score", "band", "score_model", "computed_at"]
    list_filter = ["band", "date", "score_model"]
    list_select_related = ["partner", "score_model"]
    search_fields = ["partner__name", "partner__external_id"]
    date_hierarchy = "date"


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["date", "partner", "kind", "score", "reference_score", "notified_at", "acknowledged_at"]
    list_filter = ["kind", "date", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "partner__external_id", "message"]
    date_hierarchy = "date"
    readonly_fields = [
        "partner",
        "date",
        "kind",
        "score",
        "reference_score",
        "message",
        "components",
        "notified_at",
        "acknowledged_at",
        "acknowledged_by",
        "created_at",
    ]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Acknowledge the selected alerts"))
    def acknowledge(self, request, queryset):
        for alert in queryset:
            services.alert_acknowledge(alert=alert, user=request.user)
        self.message_user(request, gettext("Alerts acknowledged."))


@admin.register(ChannelDay)
class ChannelDayAdmin(ReadOnlyAdmin):
    list_display = ["date", "partners", "median_score", "computed_at"]
    date_hierarchy = "date"


@admin.register(ChannelCube)
class ChannelCubeAdmin(ReadOnlyAdmin):
    list_display = ["built_at", "built_on", "first_month", "last_month", "partners", "cells", "seconds"]


@admin.register(ChannelMonth)
class ChannelMonthAdmin(ReadOnlyAdmin):
    list_display = ["month", "partner_type", "tier_id", "territory_id", "account_manager_id", "revenue", "engagement_points", "nps_answers"]
    list_filter = ["partner_type", "month"]
    date_hierarchy = "month"


@admin.register(PartnerSet)
class PartnerSetAdmin(ReadOnlyAdmin):
    list_display = ["name", "size"]
    search_fields = ["name"]
    exclude = ["bits"]

    @admin.display(description=_("partners"))
    def size(self, obj):
        return int.from_bytes(bytes(obj.bits), "little").bit_count()
