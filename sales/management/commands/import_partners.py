"""`manage.py import_partners FILE`: import partners (channel partner companies) from a CSV file, with a progress bar.

Partners are created and updated through the partner services, so their status history is recorded as
for a partner entered by hand. See docs/import-format.md for the columns and `_importing.py` for the options.
"""

from sales.models import ImportEntity

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import partners (channel partner companies) from a CSV file: all or nothing unless --allow-partial; --dry-run writes nothing."
    entity = ImportEntity.PARTNERS
