"""Importing the reference data: partners, customers and products (files of thousands of rows).

Partners go through `partners.services`, so an import validates them exactly like the forms do and
records their status history; customers and products are upserted in bulk on their key.

An optional column that the file leaves out leaves that field of existing records as it is (an
export without a `tier` column does not take every partner out of its tier); an empty cell in a
column that is there clears the field.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries

from partners import services
from partners.models import Partner, PartnerType, Territory, Tier

from ..models import Customer, Product
from .base import STORED_ERRORS, ImportResult
from .reader import iter_rows
from .values import MAX_KEY_LENGTH, RowError, decimal_comma_for, parse_amount, parse_date

SPECS = {
    "partners": (
        ["external_id", "name", "partner_type", "country"],
        ["parent_external_id", "tier", "territory", "joined_on", "website", "legal_name"],
    ),
    "customers": (["external_id", "name", "country"], ["segment", "region"]),
    "products": (["sku", "name"], ["category", "list_price"]),
}

TYPE_ALIASES = {"value added reseller": PartnerType.VAR, "service provider": PartnerType.MSP, "agent": PartnerType.REFERRAL}


def entity_messages():
    return {
        "bad_country": _("“{value}” is not an ISO 3166 country code or an English country name."),
        "bad_partner_type": _("“{value}” is not a partner type (reseller, distributor, var, msp, referral, isv)."),
        "unknown_tier": _("No tier is called “{value}”."),
        "unknown_territory": _("No territory is called “{value}”."),
        "unknown_parent": _("No partner has the external ID “{value}” (as distributor)."),
        "invalid": "{value}",
    }


def parse_country(value):
    value = value.strip()
    if not value:
        return ""
    code = countries.alpha2(value) if len(value) in (2, 3) else ""
    return code or countries.by_name(value) or countries.by_name(value, regex=False) or ""


def parse_partner_type(value):
    key = value.strip().lower()
    for choice in PartnerType:
        if key in (choice.value, str(choice.label).lower()):
            return choice.value
    return TYPE_ALIASES.get(key, "")


def run(*, entity, stream, layout, options, progress):
    columns = SPECS[entity][0] + SPECS[entity][1]
    rows = list(iter_rows(stream, layout, on_progress=progress.bytes(_("Reading the file"), 2, 50)))
    progress(_("Checking rows"), 55)
    handler = {"partners": _partners, "customers": _customers, "products": _products}[entity]
    result = ImportResult(rows_total=len(rows), dry_run=options.dry_run)
    errors = handler(rows, options, layout, result)
    errors.sort(key=lambda e: (e.line, columns.index(e.column) if e.column in columns else len(columns), e.code))
    result.error_count = len(errors)
    result.rejected = len({error.line for error in errors})
    result.errors = errors[:STORED_ERRORS]
    result.written = bool(result.created or result.updated) and not options.dry_run
    return result


def _key_errors(line, column, value, seen):
    if not value:
        return [RowError(line, column, "required")]
    if len(value) > MAX_KEY_LENGTH:
        return [RowError(line, column, "too_long", value)]
    if seen[value] > 1:
        return [RowError(line, column, "duplicate", value)]
    return []


def _counts(rows, key):
    seen = {}
    for _line, cells in rows:
        seen[cells.get(key, "")] = seen.get(cells.get(key, ""), 0) + 1
    return seen


def _customers(rows, options, layout, result):
    seen = _counts(rows, "external_id")
    existing = {c.external_id: c for c in Customer.objects.filter(external_id__in=list(seen))}
    errors, create, update = [], [], []
    for line, cells in rows:
        row_errors = _key_errors(line, "external_id", cells["external_id"], seen)
        if not cells["name"]:
            row_errors.append(RowError(line, "name", "required"))
        country = parse_country(cells["country"])
        if not cells["country"]:
            row_errors.append(RowError(line, "country", "required"))
        elif not country:
            row_errors.append(RowError(line, "country", "bad_country", cells["country"]))
        if row_errors:
            errors.extend(row_errors)
            continue
        values = {"name": cells["name"][:200], "country": country}
        for column, length in (("segment", 80), ("region", 120)):
            if column in cells:
                values[column] = cells[column][:length]
        _stage(existing.get(cells["external_id"]), Customer, {"external_id": cells["external_id"]}, values, create, update)
    _write(Customer, create, update, ["name", "country", "segment", "region", "updated_at"], errors, options, result, len(rows))
    return errors


def _products(rows, options, layout, result):
    seen = _counts(rows, "sku")
    decimal_comma = decimal_comma_for(options, layout.delimiter)
    existing = {p.sku: p for p in Product.objects.filter(sku__in=list(seen))}
    errors, create, update = [], [], []
    for line, cells in rows:
        row_errors = _key_errors(line, "sku", cells["sku"], seen)
        if not cells["name"]:
            row_errors.append(RowError(line, "name", "required"))
        price = None
        if cells.get("list_price"):
            price = parse_amount(cells["list_price"], decimal_comma=decimal_comma, column="list_price", line=line, errors=row_errors)
            if price is not None and price < 0:
                row_errors.append(RowError(line, "list_price", "invalid", _("A list price cannot be negative.")))
        if row_errors:
            errors.extend(row_errors)
            continue
        values = {"name": cells["name"][:200]}
        if "category" in cells:
            values["category"] = cells["category"][:120]
        if "list_price" in cells:
            values["list_price"] = price
        _stage(existing.get(cells["sku"]), Product, {"sku": cells["sku"]}, values, create, update)
    _write(Product, create, update, ["name", "category", "list_price", "updated_at"], errors, options, result, len(rows))
    return errors


def _stage(instance, model, key, values, create, update):
    if instance is None:
        create.append(model(**key, **values))
        return
    if any(_differs(getattr(instance, name), value) for name, value in values.items()):
        for name, value in values.items():
            setattr(instance, name, value)
        update.append(instance)


def _differs(old, new):
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return (old is None) != (new is None) or (old is not None and Decimal(old) != Decimal(new))
    return old != new


def _write(model, create, update, fields, errors, options, result, rows):
    if errors and not options.allow_partial:
        return  # all or nothing: nothing is written, so nothing is counted (as for sales)
    result.created, result.updated = len(create), len(update)
    result.unchanged = rows - len({error.line for error in errors}) - result.created - result.updated
    if options.dry_run:
        return
    model.objects.bulk_create(create, batch_size=1000)
    model.objects.bulk_update(update, fields, batch_size=1000)


PARTNER_FIELDS = ("name", "legal_name", "partner_type", "country", "parent", "tier", "territory", "joined_on", "website")


def _partners(rows, options, layout, result):
    seen = _counts(rows, "external_id")
    tiers = {tier.name.lower(): tier for tier in Tier.objects.all()}
    territories = {territory.name.lower(): territory for territory in Territory.objects.all()}
    in_file = {cells["external_id"] for _line, cells in rows}
    parent_keys = {cells.get("parent_external_id") for _line, cells in rows} - {"", None}
    known = {p.external_id: p for p in Partner.objects.filter(external_id__in=in_file | parent_keys)}
    errors, prepared = [], []
    for line, cells in rows:
        row_errors = _key_errors(line, "external_id", cells["external_id"], seen)
        values = {"name": cells["name"][:200]}
        if "legal_name" in cells:
            values["legal_name"] = cells["legal_name"][:200]
        if "website" in cells:
            values["website"] = cells["website"]
        if not cells["name"]:
            row_errors.append(RowError(line, "name", "required"))
        values["partner_type"] = parse_partner_type(cells["partner_type"])
        if not values["partner_type"]:
            row_errors.append(
                RowError(line, "partner_type", "bad_partner_type" if cells["partner_type"] else "required", cells["partner_type"])
            )
        values["country"] = parse_country(cells["country"])
        if not values["country"]:
            row_errors.append(RowError(line, "country", "bad_country" if cells["country"] else "required", cells["country"]))
        for column, table, code in (("tier", tiers, "unknown_tier"), ("territory", territories, "unknown_territory")):
            if column not in cells:
                continue
            name = cells[column]
            values[column] = table.get(name.lower()) if name else None
            if name and values[column] is None:
                row_errors.append(RowError(line, column, code, name))
        if "joined_on" in cells:
            values["joined_on"] = (
                parse_date(cells["joined_on"], day_first=options.date_format == "dmy", column="joined_on", line=line, errors=row_errors)
                if cells["joined_on"]
                else None
            )
        parent_key = cells.get("parent_external_id", "")
        if parent_key and parent_key not in known and parent_key not in in_file:
            row_errors.append(RowError(line, "parent_external_id", "unknown_parent", parent_key))
        if row_errors:
            errors.extend(row_errors)
            continue
        prepared.append((line, cells["external_id"], parent_key, values))
    if errors and not options.allow_partial:
        return errors
    # Distributors first, so that a reseller in the same file can point to one created just before.
    prepared.sort(key=lambda item: (bool(item[2]), item[0]))
    has_parent_column = "parent_external_id" in layout.columns
    failed = set()
    for line, external_id, parent_key, values in prepared:
        if has_parent_column:
            values["parent"] = known.get(parent_key) if parent_key else None
        if parent_key and values["parent"] is None:
            errors.append(RowError(line, "parent_external_id", "unknown_parent", parent_key))
            failed.add(line)
            continue
        partner = known.get(external_id)
        try:
            if partner is None:
                known[external_id] = services.partner_create(external_id=external_id, **values)
                result.created += 1
            elif any(_differs(getattr(partner, name), value) for name, value in values.items()):
                known[external_id] = services.partner_update(partner=partner, **values)
                result.updated += 1
        except ValidationError as error:
            failed.add(line)
            for field_name, messages in error.message_dict.items():
                column = {"parent": "parent_external_id", "__all__": "external_id"}.get(field_name, field_name)
                errors.extend(RowError(line, column, "invalid", message) for message in messages)
    if errors and not options.allow_partial:
        result.created = result.updated = 0  # rolled back: nothing was written
        return errors
    result.unchanged = len(prepared) - result.created - result.updated - len(failed)
    return errors
