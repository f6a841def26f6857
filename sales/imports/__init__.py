"""CSV imports of partners, customers, products and sales: one service behind three doors.

`import_file` is the service; the CLI commands, the upload page (through a Celery task) and the
bulk API all call it, and `jobs.py` records every run. See docs/import-format.md for the formats.
"""

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from . import entities, sales_copy, sales_python
from .base import ImportOptions, ImportResult, Progress
from .reader import FileRejected, inspect
from .values import RowError, messages

__all__ = ["FileRejected", "ImportOptions", "ImportResult", "RowError", "import_file", "columns_for", "error_messages", "sales_engine"]


def columns_for(entity):
    """(required, optional) column names of an entity's CSV format."""
    if entity == "sales":
        return sales_copy.REQUIRED, sales_copy.OPTIONAL
    return entities.SPECS[entity]


def error_messages():
    return {**messages(), **entities.entity_messages()}


def sales_engine(options: ImportOptions) -> str:
    """The engine `import_file` runs a sales file with under `options` on this database: "copy" or "python"."""
    return options.resolved_engine(connection.vendor)


def import_file(*, entity, stream, size, options: ImportOptions, on_progress=None) -> ImportResult:
    """Validate and import one CSV file (a binary stream of `size` bytes).

    All or nothing by default: with any bad row nothing is written and every bad row is reported.
    A dry run validates and counts, and writes nothing. Raises FileRejected when the file as a
    whole cannot be read (empty, too large, not CSV, missing columns).
    """
    progress = Progress(on_progress)
    progress("", 0)
    required, optional = columns_for(entity)
    layout = inspect(stream, size=size, required=required, optional=optional, delimiter=options.delimiter, encoding=options.encoding)
    with scopes_disabled(), transaction.atomic():
        if entity == "sales":
            engine = sales_copy if sales_engine(options) == "copy" else sales_python
            result = engine.run(stream=stream, layout=layout, options=options, progress=progress)
        else:
            result = entities.run(entity=entity, stream=stream, layout=layout, options=options, progress=progress)
        if not result.rows_total:  # only blank lines under the header (beyond the first 64 KB `inspect` reads)
            raise FileRejected(_("The file has a header but no data rows."))
        if options.dry_run or (result.error_count and not options.allow_partial):
            transaction.set_rollback(True)
            result.written = False
    progress("", 100)
    return result
