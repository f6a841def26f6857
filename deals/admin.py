from django.contrib import admin

from .models import DealRegistration


@admin.register(DealRegistration)
class DealRegistrationAdmin(admin.ModelAdmin):
    list_display = ["title", "partner", "customer", "amount", "status", "registered_on", "decided_on"]
    list_filter = ["status", "registered_on"]
    list_select_related = ["partner", "customer"]
    search_fields = ["title", "partner__name", "partner__external_id", "customer__name"]
    autocomplete_fields = ["partner", "customer"]
    date_hierarchy = "registered_on"
