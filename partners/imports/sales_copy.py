"""The PostgreSQL sales engine: COPY into a staging table, validate in SQL, one set-based upsert.

No row passes through the ORM: the file is streamed into `COPY ... FROM STDIN`, every rule of
`values.py` is checked by a few set-based statements (the same error codes), and the good rows are
upserted on `(source, external_id)` in one `INSERT ... ON CONFLICT DO UPDATE ... WHERE changed`.
A re-import of an unchanged file therefore writes nothing. The monthly rollups are then rebuilt for
exactly the (partner, month) pairs whose sales changed, before and after.
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
        _stage(cursor, stream, layout, progress)
        progress(_("Checking rows"), 72)
        _resolve(cursor, layout, decimal_comma, day_first)
        cursor.execute("SELECT count(*) FROM pl_rows")
        result = ImportResult(rows_total=cursor.fetchone()[0], dry_run=options.dry_run)
        _collect_errors(cursor, options, result)
        if result.error_count and not options.allow_partial:
            return result
        if options.dry_run:
            _count_would_be(cursor, options, result)
            return result
        progress(_("Writing sales"), 82)
        if options.create_missing:
            _create_missing(cursor)
        _upsert(cursor, options, result)
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


def _resolve(cursor, layout, decimal_comma, day_first):
    """One pass over the staging rows: parsed values and the ids they refer to (blank rows skipped)."""
    t = {name: _text(layout, name) for name in SALES_COLUMNS}
    # Not a blank row: an OR that stops at the first column with text (the external ID, in a real row).
    names = sorted(_staged_names(layout), key=lambda name: COLUMN_ORDER.get(name[2:], len(COLUMN_ORDER)) if name[0] == "c" else 99)
    anything = " OR ".join(f"btrim({name}, {WHITESPACE_SQL}) <> ''" for name in names)
    cursor.execute(DATE_FUNCTION)
    cursor.execute("DROP TABLE IF EXISTS pl_rows")
    cursor.execute(
        f"""
        CREATE TEMP TABLE pl_rows ON COMMIT DROP AS
        SELECT s.line, s.ext, s.partner_ext, p.id AS partner_id, s.sku, pr.id AS product_id, s.cust, c.id AS customer_id,
               s.invoice_date_raw, {_date_sql("s.invoice_date_raw", day_first)} AS invoice_date,
               s.paid_date_raw, CASE WHEN s.paid_date_raw <> '' THEN {_date_sql("s.paid_date_raw", day_first)} END AS paid_date,
               s.amount_raw, s.amount_n,
               CASE WHEN s.amount_n ~ '{AMOUNT_RE}' THEN s.amount_n::numeric(18, 4) END AS amount,
               s.quantity_raw,
               CASE WHEN s.quantity_raw = '' THEN 1::numeric(18, 4)
                    WHEN s.quantity_n ~ '{QUANTITY_RE}' THEN s.quantity_n::numeric(18, 4) END AS quantity,
               s.original_raw, s.original_n,
               CASE WHEN s.original_n ~ '{AMOUNT_RE}' THEN s.original_n::numeric(18, 4) END AS original_amount,
               s.currency AS currency_raw, upper(s.currency) AS currency,
               count(*) OVER (PARTITION BY s.ext) > 1 AS duplicated
        FROM (
            SELECT line, {t["external_id"]} AS ext, {t["partner_external_id"]} AS partner_ext,
                   nullif({t["product_sku"]}, '') AS sku, nullif({t["customer_external_id"]}, '') AS cust,
                   {t["invoice_date"]} AS invoice_date_raw, {t["paid_date"]} AS paid_date_raw,
                   {t["amount"]} AS amount_raw, {_number_sql(t["amount"], decimal_comma)} AS amount_n,
                   {t["quantity"]} AS quantity_raw, {_number_sql(t["quantity"], decimal_comma)} AS quantity_n,
                   {t["original_amount"]} AS original_raw, {_number_sql(t["original_amount"], decimal_comma)} AS original_n,
                   {t["currency"]} AS currency
            FROM pl_stage
            WHERE ({anything})
        ) s
        LEFT JOIN partners_partner p ON p.external_id = s.partner_ext AND s.partner_ext <> ''
        LEFT JOIN partners_product pr ON pr.sku = s.sku
        LEFT JOIN partners_customer c ON c.external_id = s.cust
        """
    )


def _collect_errors(cursor, options, result):
    unknown_ok = "true" if options.create_missing else "false"
    cursor.execute("DROP TABLE IF EXISTS pl_errors")
    cursor.execute(
        f"""
        CREATE TEMP TABLE pl_errors ON COMMIT DROP AS
        SELECT r.line, e.col, e.code, e.val FROM pl_rows r CROSS JOIN LATERAL (VALUES
          ('external_id', CASE WHEN r.ext = '' THEN 'required' WHEN length(r.ext) > 64 THEN 'too_long'
                               WHEN r.duplicated THEN 'duplicate' END, r.ext),
          ('partner_external_id', CASE WHEN r.partner_ext = '' THEN 'required' WHEN r.partner_id IS NULL THEN 'unknown_partner' END,
           r.partner_ext),
          ('invoice_date', CASE WHEN r.invoice_date_raw = '' THEN 'required' WHEN r.invoice_date IS NULL THEN 'bad_date' END,
           r.invoice_date_raw),
          ('amount', CASE WHEN r.amount_raw = '' THEN 'required' WHEN r.amount IS NULL THEN
                        CASE WHEN r.amount_n ~ '{TOO_PRECISE_RE}' THEN 'too_precise' ELSE 'bad_amount' END END, r.amount_raw),
          ('customer_external_id', CASE WHEN length(r.cust) > 64 THEN 'too_long'
                                        WHEN r.cust IS NOT NULL AND r.customer_id IS NULL AND NOT {unknown_ok} THEN 'unknown_customer' END,
           r.cust),
          ('product_sku', CASE WHEN length(r.sku) > 64 THEN 'too_long'
                               WHEN r.sku IS NOT NULL AND r.product_id IS NULL AND NOT {unknown_ok} THEN 'unknown_product' END, r.sku),
          ('quantity', CASE WHEN r.quantity IS NULL THEN 'bad_quantity'
                            WHEN r.quantity < 0 AND r.amount >= 0 THEN 'negative_quantity' END, r.quantity_raw),
          ('paid_date', CASE WHEN r.paid_date_raw <> '' AND r.paid_date IS NULL THEN 'bad_date' END, r.paid_date_raw),
          ('currency', CASE WHEN r.currency_raw <> '' AND r.currency_raw !~ '{CURRENCY_RE}' THEN 'bad_currency' END, r.currency_raw),
          ('original_amount', CASE WHEN r.original_raw <> '' AND r.original_amount IS NULL THEN
                        CASE WHEN r.original_n ~ '{TOO_PRECISE_RE}' THEN 'too_precise' ELSE 'bad_amount' END END, r.original_raw)
        ) AS e(col, code, val)
        WHERE e.code IS NOT NULL
        """
    )
    cursor.execute("SELECT count(*), count(DISTINCT line) FROM pl_errors")
    result.error_count, result.rejected = cursor.fetchone()
    if result.error_count:
        order = " ".join(f"WHEN '{name}' THEN {index}" for name, index in COLUMN_ORDER.items())
        cursor.execute(f"SELECT line, col, code, val FROM pl_errors ORDER BY line, CASE col {order} END, code LIMIT {STORED_ERRORS}")
        result.errors = [RowError(line, column, code, value or "") for line, column, code, value in cursor.fetchall()]


GOOD_ROWS = "FROM pl_rows r WHERE NOT EXISTS (SELECT 1 FROM pl_errors e WHERE e.line = r.line)"
CHANGED = """(s.partner_id, s.customer_id, s.product_id, s.invoice_date, s.paid_date, s.quantity, s.amount, s.currency,
              s.original_amount) IS DISTINCT FROM
             (r.partner_id, r.customer_id, r.product_id, r.invoice_date, r.paid_date, r.quantity, r.amount, r.currency,
              r.original_amount)"""


# With `create_missing`, a row whose product or customer is still to be created changes its sale.
CHANGED_OR_NEW_REFERENCE = f"({CHANGED} OR (r.sku IS NOT NULL AND r.product_id IS NULL) OR (r.cust IS NOT NULL AND r.customer_id IS NULL))"


def _count_would_be(cursor, options, result):
    cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE s.id IS NULL), count(*) FILTER (WHERE s.id IS NOT NULL AND {CHANGED_OR_NEW_REFERENCE}),
               count(*) FILTER (WHERE s.id IS NOT NULL AND NOT {CHANGED_OR_NEW_REFERENCE})
        FROM pl_rows r LEFT JOIN partners_sale s ON s.source = %s AND s.external_id = r.ext
        WHERE NOT EXISTS (SELECT 1 FROM pl_errors e WHERE e.line = r.line)
        """,
        [options.source],
    )
    result.created, result.updated, result.unchanged = cursor.fetchone()


def _create_missing(cursor):
    """With `create_missing`, unknown SKUs and customers become minimal records (named by their key)."""
    cursor.execute(
        f"""
        INSERT INTO partners_product (sku, name, category, is_active, created_at, updated_at)
        SELECT DISTINCT r.sku, r.sku, '', true, now(), now() {GOOD_ROWS} AND r.sku IS NOT NULL AND r.product_id IS NULL
        ON CONFLICT (sku) DO NOTHING
        """
    )
    cursor.execute(
        f"""
        INSERT INTO partners_customer (external_id, name, country, region, segment, created_at, updated_at)
        SELECT DISTINCT r.cust, r.cust, '', '', '', now(), now() {GOOD_ROWS} AND r.cust IS NOT NULL AND r.customer_id IS NULL
        ON CONFLICT (external_id) DO NOTHING
        """
    )
    cursor.execute(
        "UPDATE pl_rows r SET product_id = p.id FROM partners_product p WHERE r.product_id IS NULL AND r.sku IS NOT NULL AND p.sku = r.sku"
    )
    cursor.execute(
        "UPDATE pl_rows r SET customer_id = c.id FROM partners_customer c "
        "WHERE r.customer_id IS NULL AND r.cust IS NOT NULL AND c.external_id = r.cust"
    )


def _upsert(cursor, options, result):
    """Insert new lines, update changed ones, leave identical ones alone; note the months touched."""
    rollups.create_affected_table(cursor)
    cursor.execute(
        f"""
        WITH old AS (
            SELECT s.partner_id, date_trunc('month', s.invoice_date)::date AS month
            FROM pl_rows r JOIN partners_sale s ON s.source = %(source)s AND s.external_id = r.ext
            WHERE NOT EXISTS (SELECT 1 FROM pl_errors e WHERE e.line = r.line) AND {CHANGED}
        ), up AS (
            INSERT INTO partners_sale AS s (partner_id, customer_id, product_id, invoice_date, paid_date, quantity, amount, currency,
                                            original_amount, is_credit_note, source, external_id, created_at, updated_at)
            SELECT r.partner_id, r.customer_id, r.product_id, r.invoice_date, r.paid_date, r.quantity, r.amount, r.currency,
                   r.original_amount, r.amount < 0, %(source)s, r.ext, now(), now()
            {GOOD_ROWS}
            ON CONFLICT (source, external_id) DO UPDATE SET
                partner_id = EXCLUDED.partner_id, customer_id = EXCLUDED.customer_id, product_id = EXCLUDED.product_id,
                invoice_date = EXCLUDED.invoice_date, paid_date = EXCLUDED.paid_date, quantity = EXCLUDED.quantity,
                amount = EXCLUDED.amount, currency = EXCLUDED.currency, original_amount = EXCLUDED.original_amount,
                is_credit_note = EXCLUDED.is_credit_note, updated_at = EXCLUDED.updated_at
            WHERE (s.partner_id, s.customer_id, s.product_id, s.invoice_date, s.paid_date, s.quantity, s.amount, s.currency,
                   s.original_amount) IS DISTINCT FROM
                  (EXCLUDED.partner_id, EXCLUDED.customer_id, EXCLUDED.product_id, EXCLUDED.invoice_date, EXCLUDED.paid_date,
                   EXCLUDED.quantity, EXCLUDED.amount, EXCLUDED.currency, EXCLUDED.original_amount)
            RETURNING s.partner_id, date_trunc('month', s.invoice_date)::date AS month, (s.xmax = 0) AS inserted
        ), touched AS (
            INSERT INTO pl_affected (partner_id, month)
            SELECT partner_id, month FROM old UNION SELECT partner_id, month FROM up
            ON CONFLICT DO NOTHING
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
        """,
        {"source": options.source},
    )
    result.created, result.updated = cursor.fetchone()
    good = result.rows_total - result.rejected
    result.unchanged = good - result.created - result.updated
