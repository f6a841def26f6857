"""The PostgreSQL sales engine: COPY into a staging table, validate in SQL, set-based writes.

No row passes through the ORM: the file is streamed into `COPY ... FROM STDIN`, one statement
parses every value, looks up the ids and the sale each line already is (by `(source, external_id)`)
and checks every rule of `values.py` into one `bad` flag per row; only bad rows are expanded into
errors (the same codes). New lines are then inserted and changed ones updated in two plain
statements, so a re-import of an unchanged file writes nothing. The monthly rollups are rebuilt
for exactly the (partner, month) pairs whose sales changed, before and after.
"""

import io
import re

from django.db import connection
from django.utils.translation import gettext as _
from psycopg2 import errors as pg_errors

from . import rollups, values
from .base import STORED_ERRORS, ImportResult
from .reader import (
    CountingReader,
    FileRejected,
    binary_message,
    columns_message,
    encoding_message,
    line_endings_message,
    unclosed_quote_message,
)
from .values import RowError, decimal_comma_for

SALES_COLUMNS = [
    "external_id",
    "partner_external_id",
    "invoice_date",
    "amount",
    "customer_external_id",
    "product_sku",
    "quantity",
    "paid_date",
    "currency",
    "original_amount",
]
REQUIRED = SALES_COLUMNS[:4]
OPTIONAL = SALES_COLUMNS[4:]
COLUMN_ORDER = {name: index for index, name in enumerate(SALES_COLUMNS)}

# A date from its parts, or NULL when the parts are not a real date (no exceptions per row).
DATE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pg_temp.pl_date(y int, m int, d int) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN y BETWEEN 1900 AND 2199 AND m BETWEEN 1 AND 12 THEN
    CASE WHEN d BETWEEN 1 AND extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day')::int
    THEN make_date(y, m, d) END
  END
$$
"""


def _pattern(regex):
    """A pattern of `values.py` as a whole-value PostgreSQL regular expression (same syntax here)."""
    return f"^{regex.pattern}$"


AMOUNT_RE = _pattern(values.AMOUNT_RE)
TOO_PRECISE_RE = _pattern(values.TOO_PRECISE_RE)
QUANTITY_RE = _pattern(values.QUANTITY_RE)
CURRENCY_RE = _pattern(values.CURRENCY_RE)
GROUPED_RE = _pattern(values.GROUPED_RE)
WHITESPACE_SQL = "E' \\t\\r\\n\\u00a0'"  # reader.WHITESPACE
ADVISORY_LOCK = 0x504C5341  # "PLSA": with hashtext(source), the key that serialises sales imports of one source


def _date_sql(column, day_first):
    if day_first:
        return (
            f"CASE WHEN {column} ~ '{_pattern(values.DMY_DATE_RE)}' THEN pg_temp.pl_date("
            f"substr({column}, 7, 4)::int, substr({column}, 4, 2)::int, substr({column}, 1, 2)::int) END"
        )
    return (
        f"CASE WHEN {column} ~ '{_pattern(values.ISO_DATE_RE)}' THEN pg_temp.pl_date("
        f"substr({column}, 1, 4)::int, substr({column}, 6, 2)::int, substr({column}, 9, 2)::int) END"
    )


def _number_sql(column, decimal_comma):
    """values.normalise_number in SQL (NULL where it returns None)."""
    cleaned = f"replace(replace({column}, ' ', ''), chr(160), '')"
    if decimal_comma:
        return (
            f"CASE WHEN strpos({cleaned}, '.') > 0 AND {cleaned} !~ '{GROUPED_RE}' THEN NULL "
            f"ELSE replace(replace({cleaned}, '.', ''), ',', '.') END"
        )
    return cleaned


def run(*, stream, layout, options, progress):
    """Import the sales file described by `layout`; the caller holds the transaction."""
    decimal_comma = decimal_comma_for(options, layout.delimiter)
    day_first = options.date_format == "dmy"
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        if not options.dry_run:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ADVISORY_LOCK, options.source])
        _stage(cursor, stream, layout, progress)
        progress(_("Checking rows"), 72)
        _resolve(cursor, layout, decimal_comma, day_first, options)
        result = ImportResult(dry_run=options.dry_run)
        _collect_errors(cursor, layout, decimal_comma, options, result)
        if result.error_count and not options.allow_partial:
            return result
        if options.dry_run:
            _count_would_be(cursor, result)
            return result
        progress(_("Writing sales"), 82)
        if options.create_missing:
            _create_missing(cursor)
        _write(cursor, options, result)
        progress(_("Updating monthly totals"), 92)
        rollups.refresh_from_affected_table(cursor)
        result.written = True
        return result


def _stage(cursor, stream, layout, progress):
    names = _staged_names(layout)
    definitions = ", ".join(f"{name} text" for name in names)
    cursor.execute("DROP TABLE IF EXISTS pl_stage")
    cursor.execute(f"CREATE TEMP TABLE pl_stage (line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2), {definitions}) ON COMMIT DROP")
    copy = (
        f"COPY pl_stage ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, DELIMITER {_literal(layout.delimiter)}, "
        f"ENCODING '{layout.pg_encoding}')"
    )
    reader = CountingReader(stream, start=layout.header_bytes, size=layout.size, on_progress=progress.bytes(_("Reading the file"), 2, 70))
    feed = CopyFeed(reader, width=len(layout.columns), delimiter=layout.delimiter)
    try:
        cursor.execute("SAVEPOINT pl_copy")
        cursor.copy_expert(copy, feed, 1024 * 1024)
        cursor.execute("RELEASE SAVEPOINT pl_copy")
    except (pg_errors.BadCopyFileFormat, pg_errors.CharacterNotInRepertoire, pg_errors.UntranslatableCharacter) as error:
        cursor.execute("ROLLBACK TO SAVEPOINT pl_copy")
        raise FileRejected(_copy_message(error, layout)) from error
    return names


def _literal(delimiter):
    return "E'\\t'" if delimiter == "\t" else f"'{delimiter}'"


# A line start (after a line ending, or the virtual one before the data) followed by a blank line
# or by a line that is exactly `\.`; see CopyFeed.
SPECIAL_LINE_RE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?=\r|\n|\\\.(?:\r|\n|\Z))")


def _may_have_special_line(buffer):
    """False when SPECIAL_LINE_RE cannot match: cheap single-byte tests first (memchr), pairs only if needed."""
    if b"\\" in buffer and (b"\n\\." in buffer or b"\r\\." in buffer):
        return True
    if b"\r" in buffer and (b"\n\r" in buffer or b"\r\r" in buffer):
        return True
    return b"\n\n" in buffer


class CopyFeed(io.RawIOBase):
    """The data part of the file, adjusted so that COPY reads it exactly like `reader.iter_rows`.

    Two kinds of line (outside quoted values) mean something else to COPY than to a CSV reader:
    a blank line is an error ("missing data"), and a line that is exactly `\\.` silently ends the
    data. A blank line gets the delimiters of an empty row (COPY stores it and `_resolve` skips it,
    as the Python reader skips blank lines); a `\\.` line gets `""` in front, which makes it the
    ordinary one-value line it is to the Python reader. No line is added or removed, so line
    numbers stay those of the file. Quote parity is tracked the way COPY finds line ends.
    """

    TAIL = 4  # bytes kept back between reads so that a line ending and what follows are seen whole

    def __init__(self, source, *, width, delimiter):
        self.source = source
        self.blank_row = delimiter.encode() * (width - 1)
        self.carry = b"\n"  # the virtual line ending before the data, dropped from the output
        self.started = False
        self.quotes = 0
        self.finished = False

    def readable(self):
        return True

    def read(self, n=-1):
        out = b""
        while not out and not self.finished:
            chunk = self.source.read(1024 * 1024)
            buffer = self.carry + chunk
            if chunk:
                cut = max(len(buffer) - self.TAIL, 0)
                if cut and buffer[cut - 1 : cut] == b"\r":
                    cut -= 1  # never split a CRLF
            else:
                cut, self.finished = len(buffer), True
            out = self._adjust(buffer, cut)
            self.carry = buffer[cut:]
            if out and not self.started:
                out, self.started = out[1:], True
        return out

    def _adjust(self, buffer, cut):
        if not _may_have_special_line(buffer):  # the usual case, found in about a millisecond per megabyte
            if b'"' in buffer:
                self.quotes += buffer.count(b'"', 0, cut)
            return buffer[:cut]
        pieces, emitted, counted = [], 0, 0
        for match in SPECIAL_LINE_RE.finditer(buffer):
            if match.end() > cut:
                break
            self.quotes += buffer.count(b'"', counted, match.start())
            counted = match.start()
            if self.quotes % 2:
                continue  # a line ending inside a quoted value
            pieces.append(buffer[emitted : match.end()])
            pieces.append(self.blank_row if buffer[match.end() : match.end() + 1] in (b"\r", b"\n") else b'""')
            emitted = match.end()
        self.quotes += buffer.count(b'"', counted, cut)
        pieces.append(buffer[emitted:cut])
        return b"".join(pieces)


def _copy_message(error, layout):
    """The reader's message for what COPY found (the Python engine raises the same ones)."""
    primary = getattr(error.diag, "message_primary", None) or str(error)
    match = re.search(r"line (\d+)", getattr(error.diag, "context", None) or str(error))
    line = int(match.group(1)) + 1 if match else "?"  # COPY counts from the first data line
    if isinstance(error, pg_errors.BadCopyFileFormat):
        if "unterminated CSV quoted field" in primary:
            return unclosed_quote_message()
        if "newline" in primary or "carriage return" in primary:
            return line_endings_message(line)
        return columns_message(line)
    if "0x00" in primary:
        return binary_message()
    return encoding_message(layout.encoding)


def _text(layout, name):
    """The trimmed text of a column, or '' when the file does not have that column."""
    return f"coalesce(btrim(c_{name}, {WHITESPACE_SQL}), '')" if name in layout.columns else "''::text"


def _staged_names(layout):
    return [f"c_{name}" if name in COLUMN_ORDER else f"x_{index}" for index, name in enumerate(layout.columns)]


def _checks(create_missing):
    """(column, SQL giving the error code or NULL, offending value) over `r`, a resolved row.

    The single source of the row rules in SQL: `_resolve` ORs them into one `bad` flag per row, and
    `_collect_errors` expands only the bad rows into one error per failed check.
    """
    unknown_ok = "true" if create_missing else "false"

    def too_precise(number):
        return f"CASE WHEN {number} ~ '{TOO_PRECISE_RE}' THEN 'too_precise' ELSE 'bad_amount' END"

    return [
        (
            "external_id",
            "CASE WHEN r.ext = '' THEN 'required' WHEN length(r.ext) > 64 THEN 'too_long' WHEN r.duplicated THEN 'duplicate' END",
            "r.ext",
        ),
        (
            "partner_external_id",
            "CASE WHEN r.partner_ext = '' THEN 'required' WHEN r.partner_id IS NULL THEN 'unknown_partner' END",
            "r.partner_ext",
        ),
        (
            "invoice_date",
            "CASE WHEN r.invoice_date_raw = '' THEN 'required' WHEN r.invoice_date IS NULL THEN 'bad_date' END",
            "r.invoice_date_raw",
        ),
        (
            "amount",
            f"CASE WHEN r.amount_raw = '' THEN 'required' WHEN r.amount IS NULL THEN {too_precise('r.amount_n')} END",
            "r.amount_raw",
        ),
        (
            "customer_external_id",
            "CASE WHEN length(r.cust) > 64 THEN 'too_long' "
            f"WHEN r.cust IS NOT NULL AND r.customer_id IS NULL AND NOT {unknown_ok} THEN 'unknown_customer' END",
            "r.cust",
        ),
        (
            "product_sku",
            f"CASE WHEN length(r.sku) > 64 THEN 'too_long' WHEN r.sku IS NOT NULL AND r.product_id IS NULL AND NOT {unknown_ok} "
            "THEN 'unknown_product' END",
            "r.sku",
        ),
        (
            "quantity",
            "CASE WHEN r.quantity IS NULL THEN 'bad_quantity' WHEN r.quantity < 0 AND r.amount >= 0 THEN 'negative_quantity' END",
            "r.quantity_raw",
        ),
        ("paid_date", "CASE WHEN r.paid_date_raw <> '' AND r.paid_date IS NULL THEN 'bad_date' END", "r.paid_date_raw"),
        ("currency", f"CASE WHEN r.currency_raw <> '' AND r.currency_raw !~ '{CURRENCY_RE}' THEN 'bad_currency' END", "r.currency_raw"),
        (
            "original_amount",
            f"CASE WHEN r.original_raw <> '' AND r.original_amount IS NULL THEN {too_precise('r.original_n')} END",
            "r.original_raw",
        ),
    ]


SALE_VALUES = ["partner_id", "customer_id", "product_id", "invoice_date", "paid_date", "quantity", "amount", "currency", "original_amount"]


def _tuple(alias):
    return f"({', '.join(f'{alias}.{name}' for name in SALE_VALUES)})"


def _parsed_sql(layout, decimal_comma, *, bad_only=False):
    """The staging rows trimmed, parsed and looked up: the row `r` the checks read (blank rows skipped).

    All rows, with the duplicate window; or (`bad_only`) the rows `pl_rows` flags as bad, with the
    duplicate flag found there. `OFFSET 0` keeps each trimmed text computed once, not once per use.
    """
    t = {name: _text(layout, name) for name in SALES_COLUMNS}
    # Not a blank row: an OR that stops at the first column with text (the external ID, in a real row).
    names = sorted(_staged_names(layout), key=lambda name: COLUMN_ORDER.get(name[2:], len(COLUMN_ORDER)) if name[0] == "c" else 99)
    anything = " OR ".join(f"btrim({name}, {WHITESPACE_SQL}) <> ''" for name in names)
    return f"""
        SELECT s.line, s.ext, s.partner_ext, p.id AS partner_id, s.sku, pr.id AS product_id, s.cust, c.id AS customer_id,
               s.invoice_date_raw, di.d AS invoice_date, di.month, s.paid_date_raw, dp.d AS paid_date,
               s.amount_raw, s.amount_n,
               CASE WHEN s.amount_n ~ '{AMOUNT_RE}' THEN s.amount_n::numeric(18, 4) END AS amount,
               s.quantity_raw,
               CASE WHEN s.quantity_raw = '' THEN 1::numeric(18, 4)
                    WHEN s.quantity_n ~ '{QUANTITY_RE}' THEN s.quantity_n::numeric(18, 4) END AS quantity,
               s.original_raw, s.original_n,
               CASE WHEN s.original_n ~ '{AMOUNT_RE}' THEN s.original_n::numeric(18, 4) END AS original_amount,
               s.currency AS currency_raw, upper(s.currency) AS currency,
               {"b.duplicated" if bad_only else 'count(*) OVER (PARTITION BY s.ext COLLATE "C") > 1'} AS duplicated
        FROM (
            SELECT line, {t["external_id"]} AS ext, {t["partner_external_id"]} AS partner_ext,
                   nullif({t["product_sku"]}, '') AS sku, nullif({t["customer_external_id"]}, '') AS cust,
                   {t["invoice_date"]} AS invoice_date_raw, {t["paid_date"]} AS paid_date_raw,
                   {t["amount"]} AS amount_raw, {_number_sql(t["amount"], decimal_comma)} AS amount_n,
                   {t["quantity"]} AS quantity_raw, {_number_sql(t["quantity"], decimal_comma)} AS quantity_n,
                   {t["original_amount"]} AS original_raw, {_number_sql(t["original_amount"], decimal_comma)} AS original_n,
                   {t["currency"]} AS currency
            FROM pl_stage
            WHERE ({anything}) {"AND line IN (SELECT line FROM pl_rows WHERE bad)" if bad_only else ""}
            OFFSET 0
        ) s
        {"JOIN pl_rows b ON b.line = s.line" if bad_only else ""}
        LEFT JOIN partners_partner p ON p.external_id = s.partner_ext AND s.partner_ext <> ''
        LEFT JOIN partners_product pr ON pr.sku = s.sku
        LEFT JOIN partners_customer c ON c.external_id = s.cust
        LEFT JOIN pl_dates di ON di.raw = s.invoice_date_raw
        LEFT JOIN pl_dates dp ON dp.raw = s.paid_date_raw
    """


def _resolve(cursor, layout, decimal_comma, day_first, options):
    """One pass over the staging rows: parsed values, the ids they refer to, the sale they update, one `bad` flag.

    Each distinct date text is parsed once (`pl_dates`: a few thousand values for a million rows),
    every other value once per row. `pl_rows` keeps only what the writes need: the texts an error
    message quotes are read again from `pl_stage`, for the bad rows only.
    """
    t = {name: _text(layout, name) for name in SALES_COLUMNS}
    cursor.execute(DATE_FUNCTION)
    cursor.execute("DROP TABLE IF EXISTS pl_dates")
    cursor.execute(
        f"""
        CREATE TEMP TABLE pl_dates ON COMMIT DROP AS
        SELECT raw, d, date_trunc('month', d::timestamp)::date AS month
        FROM (SELECT raw, {_date_sql("raw", day_first)} AS d
              FROM (SELECT {t["invoice_date"]} AS raw FROM pl_stage UNION SELECT {t["paid_date"]} FROM pl_stage) x) y
        """
    )
    cursor.execute("ANALYZE pl_dates")
    bad = " OR ".join(f"({code}) IS NOT NULL" for _column, code, _value in _checks(options.create_missing))
    # The window function keeps `r` a subquery of its own, so `bad` reuses its values instead of
    # computing them again. COLLATE "C": the same equality, a cheaper sort.
    parsed = _parsed_sql(layout, decimal_comma)
    cursor.execute("DROP TABLE IF EXISTS pl_rows")
    cursor.execute(
        f"""
        CREATE TEMP TABLE pl_rows ON COMMIT DROP AS
        SELECT v.line, v.ext, v.sku, v.cust, {", ".join(f"v.{name}" for name in SALE_VALUES)}, v.month, v.duplicated, v.bad,
               e.id AS sale_id, e.partner_id AS old_partner_id, date_trunc('month', e.invoice_date::timestamp)::date AS old_month,
               {_tuple("e")} IS NOT DISTINCT FROM {_tuple("v")} AS same
        FROM (SELECT r.*, ({bad}) AS bad FROM ({parsed}) r) v
        LEFT JOIN partners_sale e ON e.source = %s AND e.external_id = v.ext
        """,
        [options.source],
    )
    cursor.execute("ANALYZE pl_rows")


def _collect_errors(cursor, layout, decimal_comma, options, result):
    """One error per failed check of every bad row (a clean file has none and pays nothing here)."""
    cursor.execute("SELECT count(*), count(*) FILTER (WHERE bad) FROM pl_rows")
    result.rows_total, result.rejected = cursor.fetchone()
    if not result.rejected:
        return
    checks = ",\n".join(f"('{column}', {code}, {value})" for column, code, value in _checks(options.create_missing))
    parsed = _parsed_sql(layout, decimal_comma, bad_only=True)
    cursor.execute("DROP TABLE IF EXISTS pl_errors")
    cursor.execute(
        f"""
        CREATE TEMP TABLE pl_errors ON COMMIT DROP AS
        SELECT r.line, e.col, e.code, e.val FROM ({parsed}) r CROSS JOIN LATERAL (VALUES {checks}) AS e(col, code, val)
        WHERE e.code IS NOT NULL
        """
    )
    cursor.execute("SELECT count(*) FROM pl_errors")
    result.error_count = cursor.fetchone()[0]
    order = " ".join(f"WHEN '{name}' THEN {index}" for name, index in COLUMN_ORDER.items())
    cursor.execute(f"SELECT line, col, code, val FROM pl_errors ORDER BY line, CASE col {order} END, code LIMIT {STORED_ERRORS}")
    result.errors = [RowError(line, column, code, value or "") for line, column, code, value in cursor.fetchall()]


# With `create_missing`, a row whose product or customer is still to be created changes its sale.
CHANGED_OR_NEW_REFERENCE = "(NOT r.same OR (r.sku IS NOT NULL AND r.product_id IS NULL) OR (r.cust IS NOT NULL AND r.customer_id IS NULL))"


def _count_would_be(cursor, result):
    cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE r.sale_id IS NULL), count(*) FILTER (WHERE r.sale_id IS NOT NULL AND {CHANGED_OR_NEW_REFERENCE}),
               count(*) FILTER (WHERE r.sale_id IS NOT NULL AND NOT {CHANGED_OR_NEW_REFERENCE})
        FROM pl_rows r WHERE NOT r.bad
        """
    )
    result.created, result.updated, result.unchanged = cursor.fetchone()


def _create_missing(cursor):
    """With `create_missing`, unknown SKUs and customers become minimal records (named by their key).

    A row that gets a new product or customer changes its sale, if it has one: the sale cannot
    have referred to a record that did not exist.
    """
    cursor.execute(
        """
        INSERT INTO partners_product (sku, name, category, is_active, created_at, updated_at)
        SELECT DISTINCT r.sku, r.sku, '', true, now(), now() FROM pl_rows r WHERE NOT r.bad AND r.sku IS NOT NULL AND r.product_id IS NULL
        ON CONFLICT (sku) DO NOTHING
        """
    )
    cursor.execute(
        """
        INSERT INTO partners_customer (external_id, name, country, region, segment, created_at, updated_at)
        SELECT DISTINCT r.cust, r.cust, '', '', '', now(), now()
        FROM pl_rows r WHERE NOT r.bad AND r.cust IS NOT NULL AND r.customer_id IS NULL
        ON CONFLICT (external_id) DO NOTHING
        """
    )
    cursor.execute(
        "UPDATE pl_rows r SET product_id = p.id, same = false FROM partners_product p "
        "WHERE r.product_id IS NULL AND r.sku IS NOT NULL AND p.sku = r.sku"
    )
    cursor.execute(
        "UPDATE pl_rows r SET customer_id = c.id, same = false FROM partners_customer c "
        "WHERE r.customer_id IS NULL AND r.cust IS NOT NULL AND c.external_id = r.cust"
    )


def _write(cursor, options, result):
    """Insert the new lines, update the changed ones, leave identical ones alone; note the months touched.

    Imports of one source are serialised (a transaction-level advisory lock taken before `_resolve`),
    so the sales found there are still the ones to update, and no other import adds the new ones.
    """
    rollups.create_affected_table(cursor)
    cursor.execute(
        """
        INSERT INTO pl_affected (partner_id, month)
        SELECT partner_id, month FROM pl_rows WHERE NOT bad AND (sale_id IS NULL OR NOT same)
        UNION
        SELECT old_partner_id, old_month FROM pl_rows WHERE NOT bad AND sale_id IS NOT NULL AND NOT same
        """
    )
    cursor.execute(
        """
        INSERT INTO partners_sale (partner_id, customer_id, product_id, invoice_date, paid_date, quantity, amount, currency,
                                   original_amount, is_credit_note, source, external_id, created_at, updated_at)
        SELECT partner_id, customer_id, product_id, invoice_date, paid_date, quantity, amount, currency, original_amount,
               amount < 0, %s, ext, now(), now()
        FROM pl_rows WHERE NOT bad AND sale_id IS NULL
        """,
        [options.source],
    )
    result.created = cursor.rowcount
    cursor.execute(
        """
        UPDATE partners_sale s SET
            partner_id = r.partner_id, customer_id = r.customer_id, product_id = r.product_id, invoice_date = r.invoice_date,
            paid_date = r.paid_date, quantity = r.quantity, amount = r.amount, currency = r.currency,
            original_amount = r.original_amount, is_credit_note = r.amount < 0, updated_at = now()
        FROM pl_rows r WHERE s.id = r.sale_id AND NOT r.bad AND NOT r.same
        """
    )
    result.updated = cursor.rowcount
    result.unchanged = result.rows_total - result.rejected - result.created - result.updated
