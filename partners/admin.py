"""Django admin for the partner record: every model, with the inlines an administrator needs.

Scopes: `TenantScopeMiddleware` runs staff requests with scopes disabled, so the querysets here are
plain. Writes that carry business rules (a partner's status history, the single primary contact,
deciding an application) go through `partners.services`, as everywhere else.
"""

import csv

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.csv import safe_cell

from . import services
from .models import (
    Contact,
    IdempotencyKey,
    Interaction,
    Membership,
    Partner,
    PartnerApplication,
    PartnerStatusChange,
    PartnerType,
    Territory,
    Tier,
)

DECLINE_REASON = _("Declined by an administrator")
RECENT_INTERACTIONS = 10
IMPORT_ERRORS_SHOWN = 1000  # rejected rows listed on an import's page (the record keeps up to 10,000)


def _error_text(error):
    return "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def _admin_link(obj, label=None):
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or obj)


# --- programme structure ---------------------------------------------------------------------------


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "colour_swatch", "partner_count"]
    search_fields = ["name"]
    ordering = ["rank"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(partner_count=Count("partners"))

    @admin.display(description=_("colour"), ordering="colour")
    def colour_swatch(self, obj):
        # No style="..." (blocked by the Content-Security-Policy): the class is styled in css/admin.css,
        # and js/data-styles.js paints data-bg-colour through the CSSOM (see Media).
        return format_html('<span class="tier-swatch" data-bg-colour="{}"></span> {}', obj.colour, obj.colour)

    class Media:
        css = {"all": ["css/admin.css"]}
        js = ["js/data-styles.js"]

    @admin.display(description=_("partners"), ordering="partner_count")
    def partner_count(self, obj):
        return obj.partner_count


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "country_list", "partner_count"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(partner_count=Count("partners"))

    @admin.display(description=_("countries"))
    def country_list(self, obj):
        return ", ".join(country.code for country in obj.countries)

    @admin.display(description=_("partners"), ordering="partner_count")
    def partner_count(self, obj):
        return obj.partner_count


# --- partner and its inlines -----------------------------------------------------------------------


class ContactInlineFormSet(BaseInlineFormSet):
    """At most one primary contact; saving goes through `contact_save`, which demotes the old one."""

    def clean(self):
        super().clean()
        primaries = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and form.cleaned_data.get("is_primary") and not self._should_delete_form(form)
        ]
        if len(primaries) > 1:
            raise ValidationError(gettext("A partner can have only one primary contact."))


class ContactInline(admin.TabularInline):
    model = Contact
    formset = ContactInlineFormSet
    fields = ["first_name", "last_name", "role", "email", "phone", "is_primary"]
    extra = 0
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role", "user_is_active", "invited_by", "created_at"]
    readonly_fields = ["user_is_active", "invited_by", "created_at"]
    autocomplete_fields = ["user"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "invited_by")

    @admin.display(description=_("active"), boolean=True)
    def user_is_active(self, obj):
        return obj.user.is_active if obj.user_id else None


class StatusChangeInline(ReadOnlyInline):
    model = PartnerStatusChange
    fields = ["changed_at", "from_status", "to_status", "changed_by"]
    readonly_fields = fields
    verbose_name_plural = _("status history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class RecentInteractionFormSet(BaseInlineFormSet):
    """Only the latest entries of the timeline; the full list is one click away."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            # A list, not a sliced QuerySet: the formset indexes it and counts it more than once.
            self._recent = list(super().get_queryset()[:RECENT_INTERACTIONS])
        return self._recent


class InteractionInline(ReadOnlyInline):
    model = Interaction
    formset = RecentInteractionFormSet
    fields = ["occurred_at", "kind", "summary", "author", "is_internal"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("recent interactions")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author").order_by("-occurred_at", "-id")


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "partner_type",
        "status",
        "tier",
        "territory",
        "country",
        "account_manager",
        "joined_on",
    ]
    list_filter = [
        "status",
        "partner_type",
        "tier",
        "territory",
        ("country", CountryFilter),
        ("account_manager", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["tier", "territory", "account_manager"]
    search_fields = ["name", "legal_name", "external_id", "website", "contacts__last_name", "contacts__email"]
    date_hierarchy = "joined_on"
    autocomplete_fields = ["parent", "account_manager"]
    readonly_fields = ["status_changed_at", "all_interactions", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "legal_name", "partner_type", "parent", "external_id", "website"]}),
        (_("Programme"), {"fields": ["status", "status_changed_at", "tier", "territory", "country", "account_manager"]}),
        (_("Dates"), {"fields": ["joined_on", "churned_on", "created_at", "updated_at"]}),
        (_("Timeline"), {"fields": ["all_interactions"]}),
    ]
    inlines = [ContactInline, MembershipInline, StatusChangeInline, InteractionInline]
    actions = ["export_csv"]

    @admin.display(description=_("interactions"))
    def all_interactions(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:partners_interaction_changelist") + "?" + urlencode({"partner__id__exact": obj.pk})
        return format_html('<a href="{}">{}</a>', url, gettext("All interactions of this partner"))

    def get_search_results(self, request, queryset, search_term):
        """The distributor autocomplete offers only distributors that do not buy through another one."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == "partner" and request.GET.get("field_name") == "parent":
            queryset = queryset.filter(partner_type=PartnerType.DISTRIBUTOR, parent__isnull=True)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        """Create or update through the services, so every status change is dated and on the timeline."""
        fields = {name: form.cleaned_data[name] for name in services.PARTNER_FIELDS if name in form.cleaned_data}
        status = form.cleaned_data.get("status", obj.status)
        if change:
            services.partner_update(partner=obj, changed_by=request.user, status=status, **fields)
        else:
            created = services.partner_create(created_by=request.user, status=status, **fields)
            # The admin keeps using `obj` (inlines, log entry, redirect): make it the saved row.
            obj.pk = created.pk
            obj._state.adding = False
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is Contact:
            self._save_contacts(form.instance, formset)
        elif formset.model is Membership:
            memberships = formset.save(commit=False)
            for membership in formset.deleted_objects:
                membership.delete()
            for membership in memberships:
                if membership._state.adding and membership.invited_by_id is None:
                    membership.invited_by = request.user
                membership.save()
            formset.save_m2m()
        else:
            super().save_formset(request, form, formset, change)

    @staticmethod
    def _save_contacts(partner, formset):
        contacts = formset.save(commit=False)
        for contact in formset.deleted_objects:
            services.contact_delete(contact=contact)
        # Non-primary first, so a contact that gives up the primary flag is saved before its successor.
        for contact in sorted(contacts, key=lambda c: c.is_primary):
            services.contact_save(partner=partner, contact=contact)
        formset.save_m2m()

    @admin.action(description=_("Export selected partners as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="partners.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                _("external ID"),
                _("name"),
                _("legal name"),
                _("partner type"),
                _("status"),
                _("tier"),
                _("territory"),
                _("country"),
                _("distributor"),
                _("account manager"),
                _("joined on"),
                _("churned on"),
                _("website"),
            ]
        )
        for partner in queryset.select_related("tier", "territory", "account_manager", "parent").order_by("name", "pk"):
            writer.writerow(
                [
                    safe_cell(value)
                    for value in (
                        partner.external_id,
                        partner.name,
                        partner.legal_name,
                        partner.get_partner_type_display(),
                        partner.get_status_display(),
                        partner.tier or "",
                        partner.territory or "",
                        partner.country.code,
                        partner.parent or "",
                        partner.account_manager.get_username() if partner.account_manager else "",
                        partner.joined_on or "",
                        partner.churned_on or "",
                        partner.website,
                    )
                ]
            )
        return response


@admin.register(PartnerStatusChange)
class PartnerStatusChangeAdmin(admin.ModelAdmin):
    """The status history is written by the services only: view it here, never edit it."""

    list_display = ["partner", "from_status", "to_status", "changed_at", "changed_by"]
    list_filter = ["to_status", "from_status"]
    list_select_related = ["partner", "changed_by"]
    search_fields = ["partner__name", "partner__external_id"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- people and timeline ---------------------------------------------------------------------------


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["full_name", "partner", "role", "email", "phone", "is_primary"]
    list_filter = ["is_primary", "partner__partner_type", ("partner__country", CountryFilter)]
    list_select_related = ["partner"]
    search_fields = ["first_name", "last_name", "email", "phone", "partner__name", "partner__external_id"]
    autocomplete_fields = ["partner"]
    readonly_fields = ["created_at"]

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.full_name

    def save_model(self, request, obj, form, change):
        services.contact_save(partner=obj.partner, contact=obj)

    def delete_model(self, request, obj):
        services.contact_delete(contact=obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "partner", "role", "user_is_active", "invited_by", "created_at"]
    list_filter = ["role", "user__is_active"]
    list_select_related = ["user", "partner", "invited_by"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name", "partner__name", "partner__external_id"]
    autocomplete_fields = ["user", "partner"]
    readonly_fields = ["invited_by", "created_at"]
    date_hierarchy = "created_at"

    @admin.display(description=_("active"), boolean=True, ordering="user__is_active")
    def user_is_active(self, obj):
        return obj.user.is_active

    def save_model(self, request, obj, form, change):
        if not change and obj.invited_by_id is None:
            obj.invited_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "partner", "kind", "summary", "author", "is_internal"]
    list_filter = ["kind", "is_internal", ("author", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["partner", "author"]
    search_fields = ["summary", "details", "partner__name", "partner__external_id"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["partner", "author"]
    readonly_fields = ["created_at"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("author", request.user.pk)
        return initial


# --- applications ------------------------------------------------------------------------------------


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    list_display = [
        "company_name",
        "contact_name",
        "email",
        "partner_type",
        "country",
        "status",
        "submitted_at",
        "decided_at",
        "partner_link",
    ]
    list_filter = ["status", "partner_type", ("country", CountryFilter)]
    list_select_related = ["partner", "decided_by"]
    search_fields = ["company_name", "legal_name", "first_name", "last_name", "email"]
    date_hierarchy = "submitted_at"
    readonly_fields = ["status", "decided_at", "decided_by", "decline_reason", "partner_link"]
    fieldsets = [
        (_("Company"), {"fields": ["company_name", "legal_name", "partner_type", "country", "website"]}),
        (_("Contact person"), {"fields": ["first_name", "last_name", "email", "phone", "message", "submitted_at"]}),
        (_("Decision"), {"fields": ["status", "decided_at", "decided_by", "decline_reason", "partner_link"]}),
    ]
    actions = ["accept_applications", "decline_applications"]

    @admin.display(description=_("contact person"), ordering="last_name")
    def contact_name(self, obj):
        return obj.contact_name

    @admin.display(description=_("partner"), ordering="partner__name")
    def partner_link(self, obj):
        return _admin_link(obj.partner) if obj.partner_id else "-"

    @admin.action(description=_("Accept selected applications"), permissions=["change"])
    def accept_applications(self, request, queryset):
        accepted = 0
        for application in queryset.order_by("submitted_at", "pk"):
            try:
                partner = services.application_accept(application=application, accepted_by=request.user)
            except ValidationError as error:
                self.message_user(
                    request,
                    gettext("Could not accept “%(application)s”: %(error)s")
                    % {"application": application.company_name, "error": _error_text(error)},
                    messages.ERROR,
                )
            else:
                accepted += 1
                self.message_user(
                    request,
                    gettext("Accepted “%(application)s”: partner %(partner)s was created.")
                    % {"application": application.company_name, "partner": partner},
                    messages.SUCCESS,
                )
        if accepted > 1:
            self.message_user(
                request,
                ngettext("%(count)d application was accepted.", "%(count)d applications were accepted.", accepted) % {"count": accepted},
                messages.SUCCESS,
            )

    @admin.action(description=_("Decline selected applications"), permissions=["change"])
    def decline_applications(self, request, queryset):
        declined = 0
        for application in queryset.order_by("submitted_at", "pk"):
            try:
                services.application_decline(application=application, declined_by=request.user, reason=str(DECLINE_REASON))
            except ValidationError as error:
                self.message_user(
                    request,
                    gettext("Could not decline “%(application)s”: %(error)s")
                    % {"application": application.company_name, "error": _error_text(error)},
                    messages.ERROR,
                )
            else:
                declined += 1
                self.message_user(
                    request, gettext("Declined “%(application)s”.") % {"application": application.company_name}, messages.SUCCESS
                )
        if declined > 1:
            self.message_user(
                request,
                ngettext("%(count)d application was declined.", "%(count)d applications were declined.", declined) % {"count": declined},
                messages.SUCCESS,
            )


# --- sales data and imports ------------------------------------------------------------------------


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """The stored first answers of POSTs sent with an Idempotency-Key (and of portal forms): to look, not to edit."""

    list_display = ["created_at", "user", "method", "path", "status_code", "key"]
    list_filter = ["method", "status_code"]
    list_select_related = ["user"]
    search_fields = ["key", "path", "user__username", "user__email"]
    date_hierarchy = "created_at"
    show_full_result_count = False
