"""`manage.py recompute_scores [--date D] [--partner ID] [--chunk N]`: recompute loyalty scores now."""

import sys
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scopes_disabled

from kpis import services
from partners.models import Partner

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Recompute the loyalty score of every partner in the channel (or of one) for a day, under the nightly lock."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to score, YYYY-MM-DD (default: today). Only data up to that day counts.")
        parser.add_argument("--partner", type=int, action="append", help="Only this partner id (repeatable).")
        parser.add_argument("--chunk", type=int, default=500, help="Partners scored per batch (default 500).")

    def handle(self, *args, **options):
        on_date = self._date(options["date"])
        partner_ids = options["partner"]
        with scopes_disabled():
            if partner_ids:
                known = set(Partner.objects.filter(pk__in=partner_ids).values_list("pk", flat=True))
                unknown = sorted(set(partner_ids) - known)
                if unknown:
                    raise CommandError(f"Unknown partner id: {', '.join(map(str, unknown))}.")
            try:
                result = services.scores_recompute(
                    on_date=on_date, partner_ids=partner_ids, chunk=options["chunk"], progress=self._progress
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            services.channel_cube_refresh()  # tiers may have moved: the overview shows them now, not in 10 minutes
        if self.stderr.isatty():
            self.stderr.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Scored {result.snapshots} partners for {on_date:%Y-%m-%d}: {result.alerts} alerts, {result.tier_changes} tier changes."
            )
        )

    def _date(self, value):
        if not value:
            return timezone.localdate()
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"Invalid --date {value!r}: use YYYY-MM-DD.") from None

    def _progress(self, done, total):
        """`[#####-----]  50% 1/2 batches` redrawn on one terminal line; nothing when not on a terminal."""
        if not sys.stderr.isatty() and not self.stderr.isatty():
            return
        filled = round(BAR_WIDTH * done / total)
        line = f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {100 * done // total:3d}% {done}/{total} batches"
        self.stderr.write(line, ending="")
        self.stderr.flush()
