"""`manage.py import_customers FILE`: import end customers from a CSV file, with a progress bar.

Customers are upserted on their external ID. See docs/import-format.md for the columns and `_importing.py` for the options.
"""

from sales.models import ImportEntity

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import end customers from a CSV file: all or nothing unless --allow-partial; --dry-run writes nothing."
    entity = ImportEntity.CUSTOMERS
