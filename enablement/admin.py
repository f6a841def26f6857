from django.contrib import admin

from .models import Certification


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["name", "contact", "partner", "earned_on", "expires_on"]
    list_filter = ["earned_on", "expires_on"]
    list_select_related = ["contact", "partner"]
    search_fields = ["name", "contact__first_name", "contact__last_name", "partner__name", "partner__external_id"]
    autocomplete_fields = ["contact", "partner"]
    date_hierarchy = "earned_on"
