"""`manage.py import_sales FILE`: import invoice lines from a CSV file, with a progress bar.

Upserts on `(--source, external_id)`, so a re-import updates instead of duplicating, and keeps the
monthly rollups up to date. See docs/import-format.md for the columns and `_importing.py` for the
options shared by every import command.
"""

from sales.models import ImportEntity

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import sales (invoice lines) from a CSV file: all or nothing unless --allow-partial; --dry-run writes nothing."
    entity = ImportEntity.SALES
    sales_options = True
