"""`manage.py seed_demo`: a realistic, repeatable demo world of about 200 channel partners.

Each app seeds its own part and `seed_demo` runs them top down, so no lower app calls an upper one:

- `partners.seed`: users and logins, tiers, territories, the partners with their status history,
  contacts and timeline, portal memberships and applications;
- `sales.seed`: products, end customers and three years of sales history, through the import
  service, for the partners as stored (skipped when demo sales exist);
- `seed_surveys` (surveys app): the feedback loop, a quarterly NPS survey with two closed waves and
  an open one, answered, and a dozen ideas in every status;
- `seed_incentives`: two running programs, a closed past period with earnings, payouts in each
  state, the reward catalog and some redemptions;
- last, `seed_scores` (kpis app): the channel scored every 14 days over the last 12 months and on
  each of the last 30 days, so the KPI dashboards have history (days already scored are skipped).

Every part is repeatable (every random value comes from a fixed seed) and idempotent: a second run
adds and changes nothing. The partners and sales parts run in one transaction.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from partners import seed as partners_seed
from sales import seed as sales_seed


def counts():
    return {**partners_seed.counts(), **sales_seed.counts()}


class Command(BaseCommand):
    help = (
        "Create a repeatable demo world (about 200 partners, logins, applications, products, customers, three years "
        "of sales, the surveys and ideas of seed_surveys, and the incentive programs of seed_incentives). Running it again "
        "changes nothing."
    )

    def handle(self, *args, **options):
        try:
            from faker import Faker
        except ImportError as error:
            raise CommandError("seed_demo needs Faker: pip install -r requirements-dev.txt") from error

        today = timezone.localdate()
        with scopes_disabled(), transaction.atomic():
            before = counts()
            world = partners_seed.seed(today, Faker)
            history = sales_seed.seed(today, Faker)
            created = {name: after - before[name] for name, after in counts().items()}

        if options["verbosity"] >= 1:
            for line in world.report() + history.report():
                self.stdout.write(line)
            summary = ", ".join(f"{count} {name}" for name, count in created.items())
            self.stdout.write(self.style.SUCCESS(f"Created {summary}."))
        # The apps above sales seed their parts through their own commands, called by name.
        call_command("seed_surveys", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])
        call_command("seed_incentives", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])
        call_command("seed_scores", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])
