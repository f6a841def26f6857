"""`manage.py import_products FILE`: import products from a CSV file, with a progress bar.

Products are upserted on their SKU. See docs/import-format.md for the columns and `_importing.py` for the options.
"""

from sales.models import ImportEntity

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import products from a CSV file: all or nothing unless --allow-partial; --dry-run writes nothing."
    entity = ImportEntity.PRODUCTS
