"""`rollups_changed` tells the apps above that the sales rollups changed (kpis refreshes the
overview's figures)."""

from django.dispatch import Signal

# Sent inside the writing transaction after the rollups of some partners and months were rebuilt
# (every sales import, admin edits of sales); receivers act with transaction.on_commit.
rollups_changed = Signal()
