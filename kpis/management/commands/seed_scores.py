"""`manage.py seed_scores`: loyalty-score history for the demo world (run after `seed_demo`'s sales and `seed_incentives`).

Scores every partner in the channel every `--step` days (14) over the last `--months` months (12)
and on each of the last `--days` days (30) up to today, oldest first, through the nightly run's service
(`kpis.services.scores_recompute`): the dashboards then show a year of trend, a month of daily
movement, movers, at-risk partners and the alerts the falls raised. Each day is scored with only the
data dated up to it, so the history is what the nightly job would have written. The step stays
under the alerts' 30-day drop window, so a partner below the threshold is alerted once per fall, not
again at every sparse snapshot. About 6 seconds for the demo world on SQLite.

Idempotent: a day that already has snapshots is skipped (`--force` recomputes it, an upsert that
adds no duplicate snapshot or alert), so a second run adds and changes nothing.
"""

import time
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scopes_disabled

from core.dates import month_start_after
from kpis import services
from kpis.models import ScoreSnapshot


def seed_dates(today, *, months, days, step):
    """Every `step` days back from the daily range to `months` months ago, and the `days` days up to today, oldest first."""
    recent = {today - timedelta(days=offset) for offset in range(days)}
    first = month_start_after(today.replace(day=1), -months).replace(day=min(today.day, 28))
    day, sparse = today - timedelta(days=days), set()
    while day >= first:
        sparse.add(day)
        day -= timedelta(days=step)
    return sorted(recent | sparse)


class Command(BaseCommand):
    help = "Score the demo world over the last months and days, so the KPI dashboards have history. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=12, help="How far back the history goes, in months (default 12).")
        parser.add_argument("--step", type=int, default=14, help="Days between snapshots before the daily ones (default 14).")
        parser.add_argument("--days", type=int, default=30, help="Daily snapshots up to today (default 30).")
        parser.add_argument("--today", help="The last day to score, YYYY-MM-DD (default: today).")
        parser.add_argument("--force", action="store_true", help="Recompute days that already have snapshots.")

    def handle(self, *args, **options):
        if options["months"] < 0 or options["days"] < 0 or options["step"] < 1:
            raise CommandError("--months and --days cannot be negative, and --step must be at least 1.")
        today = self._today(options["today"])
        dates = seed_dates(today, months=options["months"], days=options["days"], step=options["step"])
        started = time.monotonic()
        scored = snapshots = alerts = 0
        with scopes_disabled():
            done = (
                set() if options["force"] else set(ScoreSnapshot.objects.filter(date__in=dates).values_list("date", flat=True).distinct())
            )
            for day in dates:
                if day in done:
                    continue
                try:
                    result = services.scores_recompute(on_date=day)
                except ValidationError as error:
                    raise CommandError(" ".join(error.messages)) from error
                scored += 1
                snapshots += result.snapshots
                alerts += result.alerts
            services.channel_cube_refresh(today=today)  # the overview's figures include the demo world at once
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loyalty scores: {scored} of {len(dates)} days scored ({len(dates) - scored} already were), "
                    f"{snapshots} snapshots, {alerts} alerts, in {time.monotonic() - started:.1f}s."
                )
            )

    @staticmethod
    def _today(value):
        if not value:
            return timezone.localdate()
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise CommandError(f"Invalid --today {value!r}: use YYYY-MM-DD.") from None
