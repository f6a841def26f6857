"""The portable sales engine: the same rules and results as the COPY engine, row by row in Python.

It runs where PostgreSQL's COPY is not available (the embedded SQLite database of `make run`) and
serves as the reference the COPY engine is tested against. It holds one file's rows in memory, so
it is meant for files of thousands of rows, not millions.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Partner

from ..models import Customer, Product, Sale
from . import rollups
from .base import STORED_ERRORS, ImportResult
from .reader import iter_rows
from .sales_copy import COLUMN_ORDER
from .values import CURRENCY_RE, MAX_KEY_LENGTH, RowError, decimal_comma_for, parse_amount, parse_date, parse_quantity

# In a dry run with `create_missing`, the id of a product or customer that the real run would create.
TO_BE_CREATED = object()
FIELDS = ("partner_id", "customer_id", "product_id", "invoice_date", "paid_date", "quantity", "amount", "currency", "original_amount")


def run(*, stream, layout, options, progress):
    decimal_comma = decimal_comma_for(options, layout.delimiter)
    day_first = options.date_format == "dmy"
    rows = []
    for line, cells in iter_rows(stream, layout, on_progress=progress.bytes(_("Reading the file"), 2, 60)):
        rows.append(_parse(line, cells, decimal_comma, day_first))
    progress(_("Checking rows"), 65)
    partners = dict(
        Partner.objects.filter(external_id__in={r["partner_ext"] for r in rows if r["partner_ext"]}).values_list("external_id", "id")
    )
    products = dict(Product.objects.filter(sku__in={r["sku"] for r in rows if r["sku"]}).values_list("sku", "id"))
    customers = dict(Customer.objects.filter(external_id__in={r["cust"] for r in rows if r["cust"]}).values_list("external_id", "id"))
    seen = {}
    for row in rows:
        seen[row["ext"]] = seen.get(row["ext"], 0) + 1
    errors = []
    for row in rows:
        errors.extend(_check(row, partners, products, customers, seen, options.create_missing))
    errors.sort(key=lambda e: (e.line, COLUMN_ORDER[e.column], e.code))
    bad_lines = {error.line for error in errors}
    result = ImportResult(
        rows_total=len(rows), dry_run=options.dry_run, error_count=len(errors), rejected=len(bad_lines), errors=errors[:STORED_ERRORS]
    )
    if errors and not options.allow_partial:
        return result
    good = [row for row in rows if row["line"] not in bad_lines]
    existing = {sale.external_id: sale for sale in Sale.objects.filter(source=options.source, external_id__in=[row["ext"] for row in good])}
    if options.create_missing and not options.dry_run:
        products.update(_create_missing(Product, "sku", {row["sku"] for row in good if row["sku"] and row["sku"] not in products}))
        customers.update(
            _create_missing(Customer, "external_id", {row["cust"] for row in good if row["cust"] and row["cust"] not in customers})
        )
    progress(_("Writing sales"), 80)
    now = timezone.now()
    to_create, to_update, pairs = [], [], set()
    for row in good:
        values = {
            "partner_id": partners[row["partner_ext"]],
            "customer_id": customers.get(row["cust"], TO_BE_CREATED) if row["cust"] else None,
            "product_id": products.get(row["sku"], TO_BE_CREATED) if row["sku"] else None,
            "invoice_date": row["invoice_date"],
            "paid_date": row["paid_date"],
            "quantity": row["quantity"],
            "amount": row["amount"],
            "currency": row["currency"],
            "original_amount": row["original_amount"],
        }
        sale = existing.get(row["ext"])
        if sale is None:
            to_create.append(Sale(source=options.source, external_id=row["ext"], is_credit_note=row["amount"] < 0, **values))
        elif any(getattr(sale, name) != values[name] for name in FIELDS):
            pairs.add((sale.partner_id, sale.invoice_date.replace(day=1)))
            for name, value in values.items():
                setattr(sale, name, value)
            sale.is_credit_note = sale.amount < 0
            sale.updated_at = now
            to_update.append(sale)
        else:
            continue
        pairs.add((values["partner_id"], row["invoice_date"].replace(day=1)))
    result.created, result.updated = len(to_create), len(to_update)
    result.unchanged = len(good) - result.created - result.updated
    if options.dry_run:
        return result
    Sale.objects.bulk_create(to_create, batch_size=1000)
    Sale.objects.bulk_update(to_update, [*FIELDS, "is_credit_note", "updated_at"], batch_size=1000)
    progress(_("Updating monthly totals"), 92)
    rollups.refresh(pairs)
    result.written = True
    return result


def _parse(line, cells, decimal_comma, day_first):
    errors = []
    row = {
        "line": line,
        "ext": cells.get("external_id", ""),
        "partner_ext": cells.get("partner_external_id", ""),
        "sku": cells.get("product_sku", "") or None,
        "cust": cells.get("customer_external_id", "") or None,
        "currency_raw": cells.get("currency", ""),
        "raw": cells,
    }
    row["invoice_date"] = (
        parse_date(cells["invoice_date"], day_first=day_first, column="invoice_date", line=line, errors=errors)
        if cells.get("invoice_date")
        else None
    )
    row["currency"] = row["currency_raw"].upper() if CURRENCY_RE.fullmatch(row["currency_raw"]) else row["currency_raw"]
    row["paid_date"] = (
        parse_date(cells["paid_date"], day_first=day_first, column="paid_date", line=line, errors=errors)
        if cells.get("paid_date")
        else None
    )
    row["amount"] = (
        parse_amount(cells["amount"], decimal_comma=decimal_comma, column="amount", line=line, errors=errors)
        if cells.get("amount")
        else None
    )
    row["quantity"] = (
        parse_quantity(cells["quantity"], decimal_comma=decimal_comma, line=line, errors=errors) if cells.get("quantity") else 1
    )
    row["original_amount"] = (
        parse_amount(cells["original_amount"], decimal_comma=decimal_comma, column="original_amount", line=line, errors=errors)
        if cells.get("original_amount")
        else None
    )
    row["parse_errors"] = errors
    return row


def _check(row, partners, products, customers, seen, create_missing):
    line, raw = row["line"], row["raw"]
    errors = list(row["parse_errors"])
    if not row["ext"]:
        errors.append(RowError(line, "external_id", "required", ""))
    elif len(row["ext"]) > MAX_KEY_LENGTH:
        errors.append(RowError(line, "external_id", "too_long", row["ext"]))
    elif seen[row["ext"]] > 1:
        errors.append(RowError(line, "external_id", "duplicate", row["ext"]))
    if not row["partner_ext"]:
        errors.append(RowError(line, "partner_external_id", "required", ""))
    elif row["partner_ext"] not in partners:
        errors.append(RowError(line, "partner_external_id", "unknown_partner", row["partner_ext"]))
    if not raw.get("invoice_date"):
        errors.append(RowError(line, "invoice_date", "required", ""))
    if not raw.get("amount"):
        errors.append(RowError(line, "amount", "required", ""))
    for column, key, known, code in (
        ("customer_external_id", "cust", customers, "unknown_customer"),
        ("product_sku", "sku", products, "unknown_product"),
    ):
        value = row[key]
        if value and len(value) > MAX_KEY_LENGTH:
            errors.append(RowError(line, column, "too_long", value))
        elif value and value not in known and not create_missing:
            errors.append(RowError(line, column, code, value))
    if row["quantity"] is not None and row["amount"] is not None and row["quantity"] < 0 and row["amount"] >= 0:
        errors.append(RowError(line, "quantity", "negative_quantity", raw.get("quantity", "")))
    if row["currency_raw"] and not CURRENCY_RE.fullmatch(row["currency_raw"]):
        errors.append(RowError(line, "currency", "bad_currency", row["currency_raw"]))
    return errors


def _create_missing(model, key, values):
    model.objects.bulk_create([model(**{key: value, "name": value}) for value in sorted(values)], ignore_conflicts=True)
    return dict(model.objects.filter(**{f"{key}__in": values}).values_list(key, "id"))
