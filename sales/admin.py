"""Admin of the sales data and the import records."""

from django.contrib import admin
from django.db import transaction
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from core.admin import ReadOnlyAdmin

from .imports import rollups
from .models import Customer, CustomerFirstSale, ImportJob, MarketFirstSale, Product, Sale, SalesMonth, SalesMonthDetail

IMPORT_ERRORS_SHOWN = 1000  # rejected rows listed on an import's page (the record keeps up to 10,000)


def _refresh_rollups(sales, *extra_pairs):
    """Rebuild the monthly rollups that cover `sales` (a Sale queryset) and any extra (partner_id, month) pairs.

    The rollups are a direct aggregate of the sales table, including the product category and the
    customer's country: an edit here that changes any of those must rebuild the months it touches.
    """
    pairs = set(sales.annotate(m=TruncMonth("invoice_date")).order_by().values_list("partner_id", "m").distinct())
    rollups.refresh(pairs | set(extra_pairs))


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "country", "region", "segment", "updated_at"]
    list_filter = [("country", CountryFilter), "segment"]
    search_fields = ["external_id", "name"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "country" in form.changed_data:
                _refresh_rollups(Sale.objects.filter(customer=obj))


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "list_price", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name", "category"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "category" in form.changed_data:
                _refresh_rollups(Sale.objects.filter(product=obj))


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    """Sales arrive by import; the admin can correct a line, and keeps the monthly rollups in step when it does."""

    list_display = ["external_id", "partner", "source", "invoice_date", "amount", "is_credit_note"]
    list_filter = ["source", "is_credit_note"]
    list_select_related = ["partner"]
    search_fields = ["external_id", "partner__external_id", "partner__name"]
    date_hierarchy = "invoice_date"
    autocomplete_fields = ["partner", "customer", "product"]
    readonly_fields = ["is_credit_note", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["source", "external_id", "partner", "customer", "product"]}),
        (_("Invoice"), {"fields": ["invoice_date", "paid_date", "quantity", "amount", "is_credit_note", "currency", "original_amount"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    # Millions of rows: no COUNT(*) of the whole table on every filtered page.
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = Sale.objects.filter(pk=obj.pk).values_list("partner_id", "invoice_date").first() if change else None
            obj.is_credit_note = obj.amount < 0
            obj.updated_at = timezone.now()
            super().save_model(request, obj, form, change)
            extra = [(before[0], before[1].replace(day=1))] if before else []
            _refresh_rollups(Sale.objects.filter(pk=obj.pk), *extra)

    def delete_model(self, request, obj):
        with transaction.atomic():
            super().delete_model(request, obj)
            rollups.refresh({(obj.partner_id, obj.invoice_date.replace(day=1))})

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            pairs = set(queryset.annotate(m=TruncMonth("invoice_date")).order_by().values_list("partner_id", "m").distinct())
            super().delete_queryset(request, queryset)
            rollups.refresh(pairs)


@admin.register(SalesMonth)
class SalesMonthAdmin(ReadOnlyAdmin):
    list_display = ["partner", "month", "revenue", "paid_revenue", "credit_amount", "quantity", "line_count", "customer_count"]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "partner__external_id"]
    date_hierarchy = "month"
    show_full_result_count = False


@admin.register(SalesMonthDetail)
class SalesMonthDetailAdmin(ReadOnlyAdmin):
    list_display = ["partner", "month", "category", "country", "revenue", "paid_revenue", "quantity", "line_count"]
    list_filter = ["country"]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "partner__external_id", "category"]
    date_hierarchy = "month"
    show_full_result_count = False


@admin.register(CustomerFirstSale)
class CustomerFirstSaleAdmin(ReadOnlyAdmin):
    list_display = ["partner", "customer", "first_invoice_date"]
    list_select_related = ["partner", "customer"]
    search_fields = ["partner__name", "partner__external_id", "customer__name", "customer__external_id"]
    date_hierarchy = "first_invoice_date"
    show_full_result_count = False


@admin.register(MarketFirstSale)
class MarketFirstSaleAdmin(ReadOnlyAdmin):
    list_display = ["partner", "dimension", "value", "first_month"]
    list_filter = ["dimension"]
    list_select_related = ["partner"]
    search_fields = ["partner__name", "partner__external_id", "value"]
    date_hierarchy = "first_month"
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "entity",
        "channel",
        "file_name",
        "status",
        "rows_total",
        "rows_created",
        "rows_updated",
        "rows_rejected",
        "created_by",
    ]
    list_filter = ["entity", "channel", "status"]
    list_select_related = ["created_by"]
    search_fields = ["file_name", "created_by__email", "created_by__username"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["entity", "channel", "file_name", "stored_file", "created_by", "option_list"]}),
        (_("Outcome"), {"fields": ["status", "message", "progress", "created_at", "started_at", "finished_at", "duration"]}),
        (_("Rows"), {"fields": ["rows_total", "rows_created", "rows_updated", "rows_unchanged", "rows_rejected"]}),
        (_("Rejected rows"), {"fields": ["rejected_rows"]}),
    ]
    readonly_fields = ["stored_file", "option_list", "duration", "rejected_rows"]

    @admin.display(description=_("stored file"))
    def stored_file(self, obj):
        # The name only: uploaded files are never served from a public media URL.
        return obj.file.name or "-"

    @admin.display(description=_("options"))
    def option_list(self, obj):
        if not obj.options:
            return "-"
        return format_html_join(", ", "{}={}", ((name, repr(value)) for name, value in sorted(obj.options.items())))

    @admin.display(description=_("duration"))
    def duration(self, obj):
        return obj.duration or "-"

    @admin.display(description=_("rejected rows"))
    def rejected_rows(self, obj):
        errors = obj.errors or []
        if not errors:
            return "-"
        shown = errors[:IMPORT_ERRORS_SHOWN]
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((e.get("line", ""), e.get("column", ""), e.get("reason", "")) for e in shown)
        )
        more = ""
        if len(errors) > len(shown):
            more = format_html("<p>{}</p>", gettext("… and %(count)s more.") % {"count": len(errors) - len(shown)})
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>{}",
            gettext("line"),
            gettext("column"),
            gettext("reason"),
            rows,
            more,
        )
