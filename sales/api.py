"""REST API of the sales data: customers, products, sales and monthly rollups, read-only (they arrive
through the imports), and `POST /api/v1/sales/bulk/`, the API door to the same import service as the
CSV upload. Scoped like every API view: a partner token reads its own company's rows only.
"""

import csv
import io
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_countries.serializers import CountryFieldMixin
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import filters, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from partners.api import ManagerWritePartnerRead
from partners.idempotency import idempotent
from partners.parsers import ExactJSONParser, format_megabytes
from partners.tenancy import ScopedAPIMixin, is_channel_manager

from .filters import ProductFilter, SaleFilter, SalesMonthFilter
from .imports import ImportOptions, columns_for, jobs
from .models import Customer, ImportChannel, ImportEntity, Product, Sale, SalesMonth

# --- sales data: read-only resources ---------------------------------------------------------------


class ReadOnlyViewSet(ScopedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve only: any other method answers 405 to everybody."""

    permission_classes = [ManagerWritePartnerRead]
    http_method_names = ["get", "head", "options"]


class CustomerSerializer(CountryFieldMixin, serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "country", "region", "segment", "created_at", "updated_at"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "list_price", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    partner_external_id = serializers.CharField(source="partner.external_id", read_only=True)
    customer_external_id = serializers.CharField(source="customer.external_id", read_only=True, allow_null=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True)

    class Meta:
        model = Sale
        fields = [
            "id",
            "partner",
            "partner_external_id",
            "customer",
            "customer_external_id",
            "product",
            "product_sku",
            "invoice_date",
            "paid_date",
            "quantity",
            "amount",
            "currency",
            "original_amount",
            "is_credit_note",
            "source",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SalesMonthSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesMonth
        fields = ["id", "partner", "month", "revenue", "paid_revenue", "credit_amount", "quantity", "line_count", "customer_count"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        description="Invoice lines, newest first; a partner user's token lists only its own partner's sales. Read-only: sales "
        "are written by the imports (CSV, or `POST /api/v1/sales/bulk/`). Amounts are decimal strings with 4 decimals; a "
        "negative amount is a credit note."
    ),
    retrieve=extend_schema(description="One invoice line; another partner's sale answers 404 to a partner user."),
)
class SaleViewSet(ReadOnlyViewSet):
    serializer_class = SaleSerializer
    filterset_class = SaleFilter
    # SaleFilter owns `?ordering=` (it refuses unknown fields with a 400, DRF's OrderingFilter ignores them).
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return Sale.objects.with_relations()


@extend_schema_view(
    list=extend_schema(
        description="End customers. Channel managers see all of them; a partner user sees only the customers that bought "
        "through its own partner. Read-only: customers come from the customer import (or are created by a sales import "
        "with `create_missing`)."
    ),
    retrieve=extend_schema(description="One customer; a customer that never bought through the partner user's partner answers 404."),
)
class CustomerViewSet(ReadOnlyViewSet):
    serializer_class = CustomerSerializer
    search_fields = ["name", "external_id"]
    ordering_fields = ["name", "external_id"]

    def get_queryset(self):
        customers = Customer.objects.all()
        if is_channel_manager(self.request.user):
            return customers
        # Customers are not owned by a partner: a partner user sees those that bought through it.
        partner = getattr(self.request, "partner", None)
        if partner is None:
            return customers.none()
        return customers.filter(Exists(Sale.objects.filter(partner=partner, customer=OuterRef("pk"))))


@extend_schema_view(
    list=extend_schema(
        description="The product catalogue, readable by every signed-in user. Read-only: products come from the product "
        "import (or are created by a sales import with `create_missing`)."
    ),
)
class ProductViewSet(ReadOnlyViewSet):
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "list_price"]


@extend_schema_view(
    list=extend_schema(
        description="Monthly sales per partner (rebuilt by every import), by partner and month. A partner user's token lists "
        "only its own partner's months. Read-only."
    ),
    retrieve=extend_schema(description="One partner's month; another partner's month answers 404 to a partner user."),
)
class SalesMonthViewSet(ReadOnlyViewSet):
    serializer_class = SalesMonthSerializer
    filterset_class = SalesMonthFilter
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["month", "revenue"]

    def get_queryset(self):
        return SalesMonth.objects.order_by("partner_id", "month")


# --- sales data: the bulk import ---------------------------------------------------------------------

SALES_REQUIRED, SALES_OPTIONAL = columns_for("sales")
SALES_COLUMNS = [*SALES_REQUIRED, *SALES_OPTIONAL]
BULK_BYTES_PER_ROW = 2048  # a generous row of ten 64-character values, pretty-printed


def bulk_body_limit():
    """The largest request body the bulk endpoint reads: it follows the row limit."""
    return 64 * 1024 + settings.PARTNERLOOP_BULK_API_MAX_ROWS * BULK_BYTES_PER_ROW


def bulk_body_too_large_message(limit):
    rows = settings.PARTNERLOOP_BULK_API_MAX_ROWS
    return ngettext(
        "The request body is larger than %(size)s MB; send at most %(rows)s row per call.",
        "The request body is larger than %(size)s MB; send at most %(rows)s rows per call.",
        rows,
    ) % {"size": format_megabytes(limit), "rows": rows}


def _cell_text(value):
    """The CSV text of one JSON value; None when the value is not a string, a number or null."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int to Python, but `true` is not an amount
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and value.is_finite():
        # Plain notation (1E+3 -> "1000"), except for absurd exponents (1E+999999999 would be a
        # billion digits): those go as they are, and the import rejects them as not an amount.
        return format(value, "f") if abs(value.adjusted()) <= 40 else str(value)
    return None


def _importable_text(text):
    if "\x00" in text or "\r" in text or "\n" in text:
        return False
    try:
        text.encode("utf-8")  # an unpaired surrogate ("\ud800") is valid JSON but not UTF-8
    except UnicodeEncodeError:
        return False
    return True


ROW_SCHEMA = {
    "type": "object",
    "description": "One invoice line: the columns of the sales CSV format (docs/import-format.md). Other keys are ignored.",
    "properties": {column: {"oneOf": [{"type": "string"}, {"type": "number"}], "nullable": True} for column in SALES_COLUMNS},
    "required": list(SALES_REQUIRED),
    "additionalProperties": True,
    "example": {
        "external_id": "INV-2024-0001-1",
        "partner_external_id": "P-1001",
        "invoice_date": "2024-01-31",
        "amount": "1234.5678",
        "customer_external_id": "C-42",
        "product_sku": "SKU-1",
        "quantity": "2",
    },
}


@extend_schema_field(ROW_SCHEMA)
class SalesRowField(serializers.Field):
    """One row: an object whose sales columns hold strings or numbers (null is empty); other keys are ignored."""

    default_error_messages = {
        "not_an_object": _("Each row must be an object of column names and values."),
        "bad_value": _("Enter a string or a number."),
        "bad_text": _("The value contains a line break, a NUL character or invalid Unicode."),
        "no_columns": _("The row has none of the sales columns ({columns})."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_an_object")
        row, errors = {}, {}
        for column in SALES_COLUMNS:
            text = _cell_text(data.get(column))
            if text is None:
                errors[column] = [self.error_messages["bad_value"]]
            elif not _importable_text(text):
                errors[column] = [self.error_messages["bad_text"]]
            else:
                row[column] = text
        if errors:
            raise ValidationError(errors)
        if not any(text.strip() for text in row.values()):
            self.fail("no_columns", columns=", ".join(SALES_COLUMNS))
        return row

    def to_representation(self, value):
        return value


@extend_schema_field(
    {"type": "array", "items": ROW_SCHEMA, "minItems": 1, "maxItems": settings.PARTNERLOOP_BULK_API_MAX_ROWS},
)
class SalesRowsField(serializers.ListField):
    child = SalesRowField()
    default_error_messages = {
        "not_a_list": _("Expected a list of rows but got {input_type}."),
        "empty": _("Send at least one row."),
    }

    def to_internal_value(self, data):
        # Checked before the rows themselves, so an oversized request costs no per-row work.
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        limit = settings.PARTNERLOOP_BULK_API_MAX_ROWS
        if len(data) > limit:
            message = ngettext(
                "At most %(limit)s row can be sent in one call; this request has %(count)s. Split it into several calls.",
                "At most %(limit)s rows can be sent in one call; this request has %(count)s. Split it into several calls.",
                limit,
            )
            raise ValidationError(message % {"limit": limit, "count": len(data)}, code="too_many")
        return self.run_child_validation(data)


class SalesBulkOptionsSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text=_("Validate and count only; write nothing."))
    create_missing = serializers.BooleanField(
        default=False, help_text=_("Create unknown products and customers (named by their key) instead of rejecting the row.")
    )
    allow_partial = serializers.BooleanField(
        default=False, help_text=_("Write the good rows even when some are rejected (default: all or nothing).")
    )
    source = serializers.CharField(
        default="erp", max_length=40, help_text=_("The system the external IDs come from; a sale is identified by (source, external_id).")
    )

    def to_internal_value(self, data):
        # A misspelt option ("dryrun") must not be ignored: the call would write what it meant to check.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise ValidationError(
                    {api_settings.NON_FIELD_ERRORS_KEY: [_("Unknown option(s): %(names)s.") % {"names": ", ".join(map(str, unknown))}]}
                )
        return super().to_internal_value(data)


class SalesBulkSerializer(serializers.Serializer):
    rows = SalesRowsField(
        help_text=_(
            "Invoice lines, at most PARTNERLOOP_BULK_API_MAX_ROWS (10,000 by default) per call. Send amounts and quantities as "
            'strings ("1234.5678"): they are kept exactly. JSON numbers are accepted and read exactly too, but many JSON '
            "libraries turn them into binary floats before sending, which can change the last digits."
        )
    )
    options = SalesBulkOptionsSerializer(required=False)


class SalesBulkErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text=_("The line of the CSV the rows were converted to (the header is line 1)."))
    column = serializers.CharField()
    reason = serializers.CharField()
    row = serializers.IntegerField(help_text=_("The index of the rejected row in `rows` (0-based): line - 2."))


class SalesBulkResultSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text=_("The import record, listed with every other import for managers."))
    # A plain string, not an enum: an enum named after "status" would collide with the partner status in the schema.
    status = serializers.CharField(
        help_text=_(
            "succeeded (written), validated (dry run, nothing written; a 400 when a real import would be rejected) "
            "or rejected (nothing written)."
        )
    )
    rows = serializers.IntegerField(help_text=_("Rows received."))
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text=_("Rows with at least one error."))
    errors = SalesBulkErrorSerializer(many=True, help_text=_("Every error of every rejected row (up to 10,000)."))


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "array", "items": {}}, {"type": "object", "additionalProperties": {}}],
        "description": "Rows received; for an invalid body, the errors of the `rows` field (a list of messages, or "
        "errors by row index).",
    }
)
class _RowsOrErrorsField(serializers.Field):
    pass


class SalesBulkRejectedSerializer(SalesBulkResultSerializer):
    """A 400, in one of three shapes: the import's body plus `detail` when rows were rejected; `detail` alone
    when the request as a whole was refused; errors by field (`rows`, `options`) when the body is invalid."""

    rows = _RowsOrErrorsField()
    options = serializers.DictField(help_text=_("For an invalid body: the errors of the `options` field."))
    detail = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class CanImportSales(permissions.BasePermission):
    """Channel managers holding the import permission; partner users never (they cannot import)."""

    message = _("Only channel managers allowed to run imports can send sales.")

    def has_permission(self, request, view):
        return is_channel_manager(request.user) and request.user.has_perm("sales.add_importjob")


class SalesBulkThrottle(UserRateThrottle):
    """Up to 10,000 rows a call: at most 120 calls a minute per user, whatever the general API rate."""

    scope = "sales_bulk"
    rate = "120/minute"  # fixed here: a scope missing from DEFAULT_THROTTLE_RATES would be an ImproperlyConfigured


def _rows_as_csv(rows):
    """The rows as a sales CSV file in the documented format (header, then one line per row), UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SALES_COLUMNS)
    writer.writerows([row[column] for column in SALES_COLUMNS] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _bulk_body(job):
    return {
        "job": job.pk,
        "status": job.status,
        "rows": job.rows_total,
        "created": job.rows_created,
        "updated": job.rows_updated,
        "unchanged": job.rows_unchanged,
        "rejected": job.rows_rejected,
        "errors": [{**error, "row": error["line"] - 2} for error in job.errors],
    }


_BULK_EXAMPLE_ROWS = [
    {"external_id": "INV-1-1", "partner_external_id": "P-1001", "invoice_date": "2024-01-31", "amount": "1234.5678"},
    {"external_id": "INV-2-1", "partner_external_id": "P-1001", "invoice_date": "2024-02-02", "amount": "-99.95", "quantity": "-1"},
]


class SalesBulkView(ScopedAPIMixin, APIView):
    """`POST /api/v1/sales/bulk/`: the rows become a CSV file in memory and go through the same import as an upload."""

    permission_classes = [CanImportSales]
    parser_classes = [ExactJSONParser]
    max_body_bytes = staticmethod(bulk_body_limit)
    body_too_large_message = staticmethod(bulk_body_too_large_message)
    throttle_classes = [*APIView.throttle_classes, SalesBulkThrottle]

    # Two-phase: the import records its own failures and must not run inside an outer transaction.
    @idempotent(two_phase=True)
    @extend_schema(
        summary="Import sales rows (upsert on source and external ID)",
        description=(
            "Imports invoice lines for ERP integrations, through the same import as a CSV upload: rows are validated, "
            "upserted on `(source, external_id)` (a repeated call changes nothing) and rolled up into monthly totals. "
            "All or nothing by default: with any rejected row nothing is written and the answer is a 400 listing every "
            "error with its row index. Every call is recorded as an import (channel `api`). Channel managers holding the "
            "import permission only; partner users get 403. Send amounts as strings to keep them exact. Dates are "
            "YYYY-MM-DD and amounts use a decimal point. At most 120 calls a minute per user."
        ),
        request=SalesBulkSerializer,
        responses={
            200: SalesBulkResultSerializer,
            400: OpenApiResponse(
                SalesBulkRejectedSerializer,
                description="Rows rejected (nothing written), the request as a whole rejected (`detail` only), or an invalid "
                "body (errors by field: `rows` by row index and column, `options`).",
            ),
            403: OpenApiResponse(description="Not signed in, or not allowed to import."),
            413: OpenApiResponse(description="The request body is larger than the row limit allows."),
            429: OpenApiResponse(description="Too many calls; retry after the number of seconds in Retry-After."),
        },
        examples=[
            OpenApiExample("Two rows", value={"rows": _BULK_EXAMPLE_ROWS, "options": {"dry_run": False}}, request_only=True),
            OpenApiExample(
                "Imported",
                value={
                    "job": 17,
                    "status": "succeeded",
                    "rows": 2,
                    "created": 2,
                    "updated": 0,
                    "unchanged": 0,
                    "rejected": 0,
                    "errors": [],
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Rejected",
                value={
                    "job": 18,
                    "status": "rejected",
                    "rows": 2,
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "rejected": 1,
                    "errors": [{"line": 3, "column": "partner_external_id", "reason": "No partner has the external ID “P-9”.", "row": 1}],
                    "detail": "1 row was rejected, so nothing was written.",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request):
        serializer = SalesBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = serializer.validated_data["rows"]
        # The request carries data only: how to read it is fixed (ISO dates, decimal point, UTF-8 CSV).
        options = ImportOptions(
            **serializer.validated_data.get("options", {}), date_format="iso", decimal="point", delimiter=",", encoding="utf-8"
        )
        data = _rows_as_csv(rows)
        job = jobs.import_job_create(entity=ImportEntity.SALES, channel=ImportChannel.API, options=options, created_by=request.user)
        job = jobs.import_job_run(job_id=job.pk, stream=io.BytesIO(data), size=len(data))
        if not jobs.is_rejected(job):
            return Response(_bulk_body(job))
        if not job.rows_rejected:  # the request as a whole (not one of its rows) could not be imported
            return Response({"detail": job.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response({**_bulk_body(job), "detail": job.message}, status=status.HTTP_400_BAD_REQUEST)
