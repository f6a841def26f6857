"""The sales data: customers, products, invoice lines, their monthly rollups and first-seen tables,
and the record of every import.

The tables keep the names they had when these models lived in `partners` (migration sales/0001 moved
them in state only), so the statement triggers of partners/0004 and every raw-SQL path stay as they are.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from partners.models import Partner, PartnerOwnedQuerySet
from partners.tenancy import partner_scoped_manager

# --- Sales data: customers, products, invoice lines and their monthly rollups ---------------------


class Customer(models.Model):
    """An end customer; one customer can buy through several partners."""

    external_id = models.CharField(_("external ID"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = CountryField(_("country"), blank=True)
    region = models.CharField(_("region"), max_length=120, blank=True)
    segment = models.CharField(_("segment"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "partners_customer"
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self):
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=120, blank=True)
    list_price = models.DecimalField(_("list price"), max_digits=18, decimal_places=4, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "partners_product"
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self):
        return f"{self.sku} {self.name}"


class SaleQuerySet(PartnerOwnedQuerySet):
    def with_relations(self):
        return self.select_related("partner", "customer", "product")


class Sale(models.Model):
    """One invoice line, as imported from the ERP; `(source, external_id)` identifies it for re-imports.

    Amounts keep the 4 decimals ERP systems export (NUMERIC(18,4)); a negative amount is a credit
    note. The foreign keys carry no single-column index of their own: lookups go through the
    (partner, invoice_date) index, and fewer indexes keep million-row imports fast. On PostgreSQL
    they are guarded by set-based statement triggers (migration 0004) instead of per-row foreign-key
    constraints, which cost a million-row import half a minute of checks.
    """

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="sales", verbose_name=_("partner"), db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("customer"),
        db_index=False,
        db_constraint=False,
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("product"),
        db_index=False,
        db_constraint=False,
    )
    invoice_date = models.DateField(_("invoice date"))
    paid_date = models.DateField(_("paid date"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4, default=1)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=4, help_text=_("In the base currency."))
    currency = models.CharField(_("original currency"), max_length=3, blank=True)
    original_amount = models.DecimalField(_("original amount"), max_digits=18, decimal_places=4, null=True, blank=True)
    is_credit_note = models.BooleanField(_("credit note"), default=False)
    source = models.CharField(_("source"), max_length=40, default="erp")
    external_id = models.CharField(_("external ID"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = partner_scoped_manager(SaleQuerySet, "partner_id")

    class Meta:
        db_table = "partners_sale"
        ordering = ["-invoice_date", "-id"]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="sale_source_external_id_unique"),
            models.CheckConstraint(condition=Q(is_credit_note=Q(amount__lt=0)), name="sale_credit_note_iff_negative"),
            models.CheckConstraint(condition=Q(quantity__gte=0) | Q(amount__lt=0), name="sale_negative_quantity_only_on_credit"),
        ]
        indexes = [models.Index(fields=["partner", "invoice_date"], name="sale_partner_date_idx")]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


class SalesMonth(models.Model):
    """Monthly sales of one partner, kept up to date by every import (dashboards never scan sales)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="sales_months", db_index=False, db_constraint=False)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    revenue = models.DecimalField(_("revenue"), max_digits=20, decimal_places=4, default=0)
    paid_revenue = models.DecimalField(_("paid revenue"), max_digits=20, decimal_places=4, default=0)
    credit_amount = models.DecimalField(_("credit notes"), max_digits=20, decimal_places=4, default=0)
    quantity = models.DecimalField(_("quantity"), max_digits=20, decimal_places=4, default=0)
    line_count = models.PositiveIntegerField(_("invoice lines"), default=0)
    customer_count = models.PositiveIntegerField(_("customers"), default=0)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_salesmonth"
        ordering = ["partner", "month"]
        verbose_name = _("monthly sales")
        verbose_name_plural = _("monthly sales")
        constraints = [models.UniqueConstraint(fields=["partner", "month"], name="sales_month_unique")]
        indexes = [models.Index(fields=["month"], name="sales_month_month_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.month:%Y-%m}"


class SalesMonthDetail(models.Model):
    """Monthly sales of one partner by product category and country (the customer's, else the partner's)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="sales_month_details", db_index=False, db_constraint=False)
    month = models.DateField(_("month"))
    category = models.CharField(_("category"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    revenue = models.DecimalField(_("revenue"), max_digits=20, decimal_places=4, default=0)
    paid_revenue = models.DecimalField(_("paid revenue"), max_digits=20, decimal_places=4, default=0)
    quantity = models.DecimalField(_("quantity"), max_digits=20, decimal_places=4, default=0)
    line_count = models.PositiveIntegerField(_("invoice lines"), default=0)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_salesmonthdetail"
        ordering = ["partner", "month", "category", "country"]
        verbose_name = _("monthly sales detail")
        verbose_name_plural = _("monthly sales details")
        constraints = [
            models.UniqueConstraint(fields=["partner", "month", "category", "country"], name="sales_month_detail_unique"),
        ]
        indexes = [models.Index(fields=["month", "country"], name="sales_detail_month_country_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.month:%Y-%m} {self.category}/{self.country}"


class ImportEntity(models.TextChoices):
    PARTNERS = "partners", _("Partners")
    CUSTOMERS = "customers", _("Customers")
    PRODUCTS = "products", _("Products")
    SALES = "sales", _("Sales")


class ImportChannel(models.TextChoices):
    CLI = "cli", _("Command line")
    UPLOAD = "upload", _("Upload")
    API = "api", _("API")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Imported")
    VALIDATED = "validated", _("Validated (dry run)")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """The record of one import: who, when, which file, what happened, and every rejected row."""

    entity = models.CharField(_("data"), max_length=20, choices=ImportEntity.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=ImportChannel.choices)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    phase = models.CharField(_("phase"), max_length=60, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("started by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_created = models.PositiveIntegerField(_("created"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rejected"), default=0)
    message = models.TextField(_("message"), blank=True)
    errors = models.JSONField(_("rejected rows"), default=list, blank=True)

    class Meta:
        db_table = "partners_importjob"
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["-created_at"], name="import_job_created_idx")]

    def __str__(self):
        return f"{self.get_entity_display()} {self.file_name or self.get_channel_display()} ({self.get_status_display()})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def is_finished(self):
        return self.status not in (ImportStatus.PENDING, ImportStatus.RUNNING)


class CustomerFirstSale(models.Model):
    """The date of a partner's first invoice line (amount > 0) to a customer, so "new customers" reads
    one row per pair instead of grouping the sales table. Kept by every import's rollup refresh
    (sales/imports/rollups.py), like the monthly rollups; filled from the sales by migration 0006.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="customer_first_sales", db_index=False, db_constraint=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    first_invoice_date = models.DateField(_("first invoice date"))

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_customerfirstsale"
        ordering = ["partner", "first_invoice_date"]
        verbose_name = _("first sale to a customer")
        verbose_name_plural = _("first sales to customers")
        constraints = [models.UniqueConstraint(fields=["partner", "customer"], name="customer_first_sale_unique")]
        indexes = [models.Index(fields=["first_invoice_date", "partner"], name="customer_first_sale_date_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.customer_id} {self.first_invoice_date}"


class MarketDimension(models.TextChoices):
    COUNTRY = "country", _("Country")
    CATEGORY = "category", _("Product category")


class MarketFirstSale(models.Model):
    """The first month a partner sold in a customer country or a product category (a detail rollup row
    with revenue > 0), so "new countries / categories" counts rows of a period instead of grouping
    every detail rollup. Kept by every import's rollup refresh (sales/imports/rollups.py), like
    `CustomerFirstSale`; filled from the detail rollups by migration 0007.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="market_first_sales", db_index=False, db_constraint=False)
    dimension = models.CharField(_("dimension"), max_length=10, choices=MarketDimension.choices)
    value = models.CharField(_("value"), max_length=120)
    first_month = models.DateField(_("first month"))

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_marketfirstsale"
        ordering = ["partner", "dimension", "first_month", "value"]
        verbose_name = _("first sale in a market")
        verbose_name_plural = _("first sales in markets")
        constraints = [models.UniqueConstraint(fields=["partner", "dimension", "value"], name="market_first_sale_unique")]
        indexes = [models.Index(fields=["dimension", "first_month", "partner"], name="market_first_sale_month_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.dimension} {self.value} {self.first_month:%Y-%m}"


