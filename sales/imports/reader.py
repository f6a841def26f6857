"""Reading real-world CSV files: encoding, delimiter, header mapping, size and shape checks.

The reader never loads a whole file: it looks at the first bytes to decide how to read it, then
streams. Both import engines (PostgreSQL COPY and the portable Python one) start here.

The two engines must read a file the same way, so the Python reader follows PostgreSQL's CSV rules
(not those of Python's `csv` module, which differ on stray quotes, blank lines and line endings):

- a record ends at a line ending outside quotes; a `"` anywhere in a value opens or closes quoting,
  and `""` inside quotes is one literal quote;
- every record is numbered (the header is line 1), blank lines included, so line numbers are the
  same whichever engine reports them;
- a blank line, or a line of delimiters only, is skipped; any other line must have exactly as many
  values as the header has columns;
- the line ending of the first data line (LF, CRLF or CR) is the file's; another one later on
  rejects the file;
- values are trimmed of spaces, tabs, line breaks and no-break spaces (`WHITESPACE`).
"""

import codecs
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

SNIFF_BYTES = 64 * 1024
WHITESPACE = " \t\r\n\u00a0"  # trimmed from both ends of every value, by both engines


class FileRejected(Exception):
    """The file as a whole cannot be imported; the message says why, in one sentence."""


@dataclass
class CsvLayout:
    encoding: str  # a Python codec name: "utf-8" or "cp1252"
    delimiter: str
    columns: list  # normalised header names, in file order ("" for a blank header cell)
    header_bytes: int  # bytes up to and including the header line (and a UTF-8 BOM)
    size: int

    @property
    def pg_encoding(self):
        return {"utf-8": "UTF8", "cp1252": "WIN1252"}[self.encoding]


# The one-sentence messages of a file that cannot be read; both engines raise exactly these.


def columns_message(line):
    return _("Line %(line)s does not have the same number of columns as the header.") % {"line": line}


def line_endings_message(line):
    return _("Line %(line)s ends differently from the first lines (Windows and Unix line endings are mixed).") % {"line": line}


def unclosed_quote_message():
    return _('A quoted value is never closed (a " is missing); nothing after it can be read.')


def encoding_message(encoding):
    name = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}.get(encoding, encoding)
    return _("The file is not valid %(encoding)s text (it mixes text encodings); save it as UTF-8 and try again.") % {"encoding": name}


def binary_message():
    return _("This is not a CSV file (it contains binary data).")


def normalise_header(name):
    return name.strip().strip('"').strip().lower().replace(" ", "_")


def max_import_bytes():
    return getattr(settings, "PARTNERLOOP_IMPORT_MAX_BYTES", 512 * 1024 * 1024)


def inspect(stream, *, size, required, optional, delimiter="auto", encoding="auto"):
    """Decide how to read `stream` (a binary file positioned at 0) and check its header.

    Raises FileRejected for an empty, oversized, binary or header-less file, or missing columns.
    """
    if size == 0:
        raise FileRejected(_("The file is empty."))
    if size > max_import_bytes():
        # The upload form's message, word for word (a limit under 1 MB read "0 MB" before).
        raise FileRejected(
            _("The file is %(size)s; the limit is %(limit)s.") % {"size": filesizeformat(size), "limit": filesizeformat(max_import_bytes())}
        )
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if b"\x00" in head:
        raise FileRejected(binary_message())
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    if encoding == "auto":
        encoding = "utf-8" if bom or _decodes_as_utf8(head, whole=len(head) >= size) else "cp1252"
    line_end = re.search(rb"\r\n|\r|\n", head)
    if line_end is None and len(head) < size:
        raise FileRejected(_("This is not a CSV file (no header line found in the first 64 KB)."))
    header_raw = head[bom : line_end.start() if line_end else len(head)]
    header_text = header_raw.decode(encoding, errors="replace")
    if not header_text.strip():
        raise FileRejected(_("The file has no header line."))
    if delimiter == "auto":
        delimiter = max([",", ";", "\t"], key=header_text.count)
    columns = [normalise_header(cell) for cell in _split_record(header_text, delimiter)]
    known = set(required) | set(optional)
    if not set(columns) & known:
        raise FileRejected(
            _("This does not look like the expected CSV: none of the columns %(columns)s was found in the header.")
            % {"columns": ", ".join(required)}
        )
    missing = [name for name in required if name not in columns]
    if missing:
        raise FileRejected(_("Required column(s) missing: %(columns)s.") % {"columns": ", ".join(missing)})
    duplicated = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicated:
        raise FileRejected(_("Column(s) appear more than once: %(columns)s.") % {"columns": ", ".join(duplicated)})
    header_bytes = line_end.end() if line_end else len(head)
    if header_bytes >= size or not head[header_bytes:].strip() and size <= SNIFF_BYTES:
        raise FileRejected(_("The file has a header but no data rows."))
    return CsvLayout(encoding=encoding, delimiter=delimiter, columns=columns, header_bytes=header_bytes, size=size)


def _decodes_as_utf8(head, *, whole):
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed block is still UTF-8; at the end of
        # the whole file it is not (a Windows-1252 "ë" as the last byte looks like such a cut).
        return not whole and error.reason == "unexpected end of data" and error.start >= len(head) - 3
    return True


class CountingReader(io.RawIOBase):
    """Streams the data part of a file (after the header) and reports how far it got."""

    def __init__(self, stream, *, start, size, on_progress=None):
        self.stream = stream
        self.stream.seek(start)
        self.done = start
        self.size = size
        self.on_progress = on_progress

    def readable(self):
        return True

    def read(self, n=-1):
        chunk = self.stream.read(n if n and n > 0 else 1024 * 1024)
        self.done += len(chunk)
        if self.on_progress:
            self.on_progress(self.done, self.size)
        return chunk

    def readinto(self, buffer):
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _split_record(text, delimiter):
    """The values of one record (without its line ending), by PostgreSQL's CSV rules.

    Splitting on `"` gives unquoted and quoted parts in turn (a complete record has an even number
    of quotes). Delimiters count only in unquoted parts; an empty unquoted part between two quoted
    ones is a doubled quote inside quotes, that is one literal `"`.
    """
    parts = text.split('"')
    values, current = [], []
    for index, part in enumerate(parts):
        if index % 2:
            current.append(part)
        elif index and not part and index < len(parts) - 1:
            current.append('"')
        else:
            pieces = part.split(delimiter)
            current.append(pieces[0])
            for piece in pieces[1:]:
                values.append("".join(current))
                current = [piece]
    values.append("".join(current))
    return values


def _records(text):
    """Yield (line, file_line, body) of every data record (body without its line ending).

    `line` numbers records (the header is 1); row errors use it. `file_line` is the line COPY names
    in its errors, which also counts the line breaks inside quoted values (LFs once the file is
    known to end its lines with LF, else CRs); the file-level errors of both engines use it, so
    they name the same line.
    """
    line = file_line = 1
    ending_of_file = None
    pending, quotes = [], 0
    for physical in text:
        pending.append(physical)
        quotes += physical.count('"')
        if quotes % 2:
            continue  # a line ending inside quotes belongs to the value
        record = "".join(pending)
        pending, quotes = [], 0
        body = record.rstrip("\r\n")
        ending = record[len(body) :]
        line += 1
        file_line += 1 + body.count("\n" if ending_of_file == "\n" else "\r")
        if "\x00" in body:
            raise FileRejected(binary_message())
        late = False
        if ending:
            if ending_of_file is None:
                ending_of_file = ending
            elif ending_of_file == "\r" and ending == "\r\n":
                late = True  # COPY reads this line to its CR, then finds a line that starts with an LF
            elif ending != ending_of_file:
                raise FileRejected(line_endings_message(file_line))
        yield line, file_line, body
        if late:
            raise FileRejected(line_endings_message(file_line + 1))
    if pending:
        raise FileRejected(unclosed_quote_message())


def iter_rows(stream, layout, *, on_progress=None):
    """Yield (line_number, {column: value}) for every data row, streaming (the Python engine)."""
    raw = CountingReader(stream, start=layout.header_bytes, size=layout.size, on_progress=on_progress)
    text = io.TextIOWrapper(io.BufferedReader(raw, 1024 * 1024), encoding=layout.encoding, newline="")
    width = len(layout.columns)
    try:
        for line, file_line, body in _records(text):
            if not body:
                continue
            cells = [cell.strip(WHITESPACE) for cell in _split_record(body, layout.delimiter)]
            if len(cells) != width:
                raise FileRejected(columns_message(file_line))
            if not any(cells):
                continue
            yield line, {name: cells[i] for i, name in enumerate(layout.columns) if name}
    except UnicodeDecodeError as error:
        raise FileRejected(encoding_message(layout.encoding)) from error
