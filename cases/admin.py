from django.contrib import admin

from .models import Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "partner", "kind", "status", "subject", "closed_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["partner"]
    search_fields = ["subject", "partner__name", "partner__external_id"]
    date_hierarchy = "opened_at"
    autocomplete_fields = ["partner"]
