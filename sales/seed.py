"""The sales part of the demo world: a catalogue of 41 products, 600 end customers and three years of
monthly sales history for the demo partners.

`seed(today, faker_class)` writes it and returns what `seed_demo` reports; `seed_demo` (demo app)
calls it after `partners.seed`, whose partners it reads from the database. It may import partners
(the app below sales), never an app above.

About 60,000 invoice lines up to the last complete month for the partners that had joined, with a
Q4 peak and a summer dip, partners that grow and partners that decline, sizes that follow the tier,
a few credit notes and unpaid recent invoices. Distributors have sell-in lines (no end customer);
resellers, VARs, MSPs and ISVs sell through to customers. Everything goes in as CSV through
`sales.imports.import_file`, the service behind the import pages, so the monthly rollups are built
the way production builds them (the COPY engine on PostgreSQL, the Python engine on SQLite). Each
partner's history is drawn from its own generator, seeded with its external ID, from the partner as
stored, so it never sells before it joined or after it left. The block runs once: when demo sales
(source "demo") exist it is skipped, so `make run` does not re-import at every start.
"""

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from time import perf_counter

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from partners.models import Partner, PartnerStatus, PartnerType
from partners.seed import COUNTRIES, LOCALES, SEED, random_day
from sales.imports import ImportOptions, error_messages, import_file, sales_engine
from sales.models import Customer, Product, Sale

SALES_SEED = SEED + 1
SALES_SOURCE = "demo"  # the import `source` of every demo sales line: (source, external_id) identifies it
SALES_MONTHS = 36  # up to the last complete month
CUSTOMER_COUNT = 600
IMPORT_CHUNK_ROWS = 10_000  # rows per import_file call: the bulk API's limit, and well inside SQLite's parameter limit
PAID_AFTER_DAYS = (30, 60)
UNPAID_SHARE = 0.02  # lines that are never paid (disputed, written off)
CREDIT_NOTE_SHARE = 0.012

# category, SKU code, products: (name, list price in the base currency, sold per seat/device)
CATALOGUE = [
    (
        "Hardware",
        "HW",
        [
            ("Edge Gateway 100", "690.00", False),
            ("Edge Gateway 500", "2450.00", False),
            ("Core Switch 24-port", "1890.00", False),
            ("Core Switch 48-port", "3290.00", False),
            ("Wireless Access Point AX", "420.00", False),
            ("Security Appliance S", "1250.00", False),
            ("Security Appliance L", "6900.00", False),
            ("Storage Node 20 TB", "8400.00", False),
        ],
    ),
    (
        "Software licences",
        "SW",
        [
            ("Endpoint Protection perpetual licence (per device)", "45.00", True),
            ("Backup Server licence", "1450.00", False),
            ("Backup Agent licence", "120.00", True),
            ("Network Manager licence", "2900.00", False),
            ("Firewall Feature Pack", "780.00", False),
            ("Analytics Suite licence", "4800.00", False),
            ("Virtualisation Add-on", "1650.00", False),
        ],
    ),
    (
        "Subscriptions",
        "SUB",
        [
            ("Cloud Backup 1 TB, annual", "360.00", False),
            ("Endpoint Protection, annual per device", "28.00", True),
            ("Email Security, annual per user", "24.00", True),
            ("Remote Monitoring, annual per device", "48.00", True),
            ("Secure Access, annual per user", "60.00", True),
            ("Support Plus, annual", "950.00", False),
            ("Threat Intelligence Feed, annual", "2400.00", False),
            ("Collaboration Suite, annual per user", "96.00", True),
        ],
    ),
    (
        "Services",
        "SVC",
        [
            ("Installation and configuration (day)", "1100.00", False),
            ("Consulting (day)", "1350.00", False),
            ("Network health check", "2200.00", False),
            ("Migration package", "5500.00", False),
            ("Managed firewall, monthly", "390.00", False),
            ("Managed backup, monthly", "290.00", False),
            ("On-site support (hour)", "145.00", False),
        ],
    ),
    (
        "Training",
        "TRN",
        [
            ("Certified Associate course", "1450.00", False),
            ("Certified Professional course", "2350.00", False),
            ("Security Fundamentals e-learning", "290.00", True),
            ("Administrator bootcamp", "3200.00", False),
            ("Certification exam voucher", "250.00", False),
        ],
    ),
    (
        "Accessories",
        "ACC",
        [
            ("Rack mount kit", "85.00", False),
            ("Redundant power supply", "320.00", False),
            ("SFP+ transceiver 10G", "95.00", False),
            ("Patch cable set", "39.00", False),
            ("Wall mount bracket", "45.00", False),
            ("Spare fan module", "120.00", False),
        ],
    ),
]
# What each kind of partner sells: category -> weight. Referral partners pass leads and invoice nothing.
PRODUCT_MIX = {
    PartnerType.DISTRIBUTOR: {"Hardware": 45, "Accessories": 20, "Software licences": 20, "Subscriptions": 15},
    PartnerType.RESELLER: {"Hardware": 35, "Accessories": 18, "Software licences": 20, "Subscriptions": 17, "Services": 5, "Training": 5},
    PartnerType.VAR: {"Hardware": 30, "Software licences": 20, "Services": 25, "Subscriptions": 10, "Training": 10, "Accessories": 5},
    PartnerType.MSP: {"Subscriptions": 50, "Services": 30, "Software licences": 10, "Hardware": 10},
    PartnerType.ISV: {"Software licences": 50, "Subscriptions": 40, "Training": 10},
}
# Revenue a month at full size (before season and trend), by tier: size grows steeply with the tier.
# A month is filled with invoice lines up to its revenue, so a partner's trend shows through the
# noise of single large deals, and small partners make small deals.
MONTHLY_REVENUE = {"Registered": 15_000, "Silver": 42_000, "Gold": 100_000, "Platinum": 210_000}
DISTRIBUTOR_MONTHLY_REVENUE = {"Registered": 200_000, "Silver": 350_000, "Gold": 550_000, "Platinum": 950_000}
ISV_REVENUE_FACTOR = 0.5
FIT_ATTEMPTS = 5  # draws of a line that fits what is left of the month's revenue, before the month is closed
MAX_LINES_A_MONTH = 400
# Sell-in price for distributors: the list price less the tier discount of TIERS' benefits.
TIER_DISCOUNT = {"Registered": 10, "Silver": 20, "Gold": 30, "Platinum": 40}
# Q4 peak (budgets spent before year end), summer dip, small quarter-end pushes.
SEASON = {1: 0.88, 2: 0.92, 3: 1.08, 4: 0.95, 5: 0.97, 6: 1.05, 7: 0.78, 8: 0.70, 9: 1.00, 10: 1.04, 11: 1.18, 12: 1.45}
SEGMENTS = {"SMB": 50, "Mid-market": 28, "Enterprise": 12, "Public sector": 10}
# units on a line for one customer of a segment (low, high); per-seat products sell ten times as many
SEGMENT_QUANTITY = {"SMB": (1, 3), "Mid-market": (2, 8), "Enterprise": (5, 25), "Public sector": (3, 15)}
CUSTOMERS_PER_PARTNER = {"Registered": 10, "Silver": 20, "Gold": 35, "Platinum": 60}
# Yearly growth of the well-known partners, so every demo tells the same story: Alpenblick grows fast,
# Thames Managed Services is the account at risk.
STORY_GROWTH = {1: 0.12, 2: 0.45, 3: -0.32, 4: 0.03, 5: 0.20}
# Everybody else: (weight, lowest, highest yearly growth).
GROWTH_PROFILES = [(12, 0.30, 0.60), (38, 0.08, 0.25), (25, -0.05, 0.05), (17, -0.25, -0.12), (8, -0.50, -0.30)]
# Invoices in local currency for partners outside the euro area (fixed demo rates: units of it per euro).
LOCAL_CURRENCY = {
    "GB": ("GBP", "0.86"),
    "SE": ("SEK", "11.40"),
    "DK": ("DKK", "7.46"),
    "NO": ("NOK", "11.60"),
    "CH": ("CHF", "0.95"),
    "US": ("USD", "1.09"),
    "CA": ("CAD", "1.48"),
    "AU": ("AUD", "1.65"),
    "NZ": ("NZD", "1.80"),
    "SG": ("SGD", "1.46"),
}
SALES_COLUMNS = [
    "external_id",
    "partner_external_id",
    "invoice_date",
    "amount",
    "quantity",
    "customer_external_id",
    "product_sku",
    "paid_date",
    "currency",
    "original_amount",
]


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    name: str
    category: str
    list_price: str
    per_seat: bool


@dataclass(frozen=True)
class CustomerSpec:
    external_id: str
    name: str
    country: str
    region: str
    segment: str


@dataclass(frozen=True)
class Seller:
    """A demo partner as the sales history needs it, read from the database (its dates may predate today's draw)."""

    number: int
    external_id: str
    partner_type: str
    tier: str
    country: str
    territory: str
    first_day: date  # joined_on
    last_day: date | None  # churned_on, or the day it went inactive


def month_starts(last_day, count):
    """The first days of the `count` months that end with the month of `last_day`, oldest first."""
    year, month = last_day.year, last_day.month
    months = []
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def cents(value):
    """'1234.56' -> 123456."""
    whole, _dot, fraction = value.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def money(amount_cents):
    sign = "-" if amount_cents < 0 else ""
    amount_cents = abs(amount_cents)
    return f"{sign}{amount_cents // 100}.{amount_cents % 100:02d}"


def csv_bytes(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class SalesBuilder:
    """Draws the catalogue, the end customers and the sales history from the seed; touches no database.

    Each partner's history comes from its own generator, seeded with its external ID, so it does not
    depend on which other partners exist. The history covers the `SALES_MONTHS` months up to the last
    complete month before `today`, and a partner sells only between its join date and its churn (or
    inactive) date.
    """

    def __init__(self, today, faker_class):
        self.today = today
        self.last_day = today.replace(day=1) - timedelta(days=1)  # of the last complete month
        self.months = month_starts(self.last_day, SALES_MONTHS)
        self.faker_class = faker_class

    # -- reference data ----------------------------------------------------------------------------

    @staticmethod
    def products():
        return [
            ProductSpec(f"PL-{code}-{index:03d}", name, category, price, per_seat)
            for category, code, items in CATALOGUE
            for index, (name, price, per_seat) in enumerate(items, start=1)
        ]

    def customers(self):
        rng = random.Random(SALES_SEED)
        fakers = {}
        for index, locale in enumerate(LOCALES):
            fakers[locale] = self.faker_class(locale)
            fakers[locale].seed_instance(SALES_SEED + index)
        codes = list(COUNTRIES)
        weights = [COUNTRIES[code].weight for code in codes]
        segments, segment_weights = list(SEGMENTS), list(SEGMENTS.values())
        used, customers = set(), []
        for number in range(1, CUSTOMER_COUNT + 1):
            country = rng.choices(codes, weights)[0]
            fake = fakers[COUNTRIES[country].locale]
            name = fake.company()[:200]
            while name in used:
                name = fake.company()[:200]
            used.add(name)
            customers.append(
                CustomerSpec(f"CUST-{number:04d}", name, country, COUNTRIES[country].territory, rng.choices(segments, segment_weights)[0])
            )
        return customers

    # -- sales -------------------------------------------------------------------------------------

    def sales(self, sellers, customers, products):
        """Every seller's invoice lines (rows of SALES_COLUMNS), seller by seller."""
        by_territory = {}
        for customer in customers:
            by_territory.setdefault(customer.region, []).append(customer)  # the region is the territory
        by_category = {}
        for product in products:
            by_category.setdefault(product.category, []).append(product)
        return {
            seller.external_id: self._history(seller, by_territory.get(seller.territory, customers), by_category)
            for seller in sellers
            if seller.partner_type in PRODUCT_MIX
        }

    def _history(self, seller, territory_customers, by_category):
        rng = random.Random(f"{SALES_SEED}-{seller.external_id}")
        # The partner's profile: its size within its tier, its trend, and its customer base.
        size = rng.lognormvariate(0, 0.35)
        if seller.number in STORY_GROWTH:
            growth = STORY_GROWTH[seller.number]
        elif seller.last_day is not None:
            growth = rng.uniform(-0.50, -0.20)  # partners that stopped were slipping before they left
        else:
            _weight, low, high = rng.choices(GROWTH_PROFILES, [profile[0] for profile in GROWTH_PROFILES])[0]
            growth = rng.uniform(low, high)
        if seller.partner_type == PartnerType.DISTRIBUTOR:
            base = DISTRIBUTOR_MONTHLY_REVENUE[seller.tier] * 100
            pool = []
        else:
            base = MONTHLY_REVENUE[seller.tier] * 100 * (ISV_REVENUE_FACTOR if seller.partner_type == PartnerType.ISV else 1)
            pool = rng.sample(territory_customers, min(CUSTOMERS_PER_PARTNER[seller.tier], len(territory_customers)))
        mix = PRODUCT_MIX[seller.partner_type]
        categories, category_weights = list(mix), list(mix.values())
        currency = LOCAL_CURRENCY.get(seller.country)

        rows = []
        anchor = self.months[-6]  # the trend is 1 half a year ago: the tier reflects the recent size
        for month in self.months:
            month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            first = max(month, seller.first_day)
            last = min(month_end, seller.last_day or month_end, self.last_day)
            noise = max(0.5, rng.gauss(1, 0.08))
            if first > last:
                continue
            years = ((month.year - anchor.year) * 12 + month.month - anchor.month) / 12
            factor = SEASON[month.month] * (1 + growth) ** years * noise * size
            factor *= min(1.0, ((month.year - seller.first_day.year) * 12 + month.month - seller.first_day.month + 1) / 6)  # ramp-up
            if seller.last_day is not None:  # ramp-down over the last 9 months
                months_left = (seller.last_day.year - month.year) * 12 + seller.last_day.month - month.month
                factor *= min(1.0, (months_left + 1) / 9)
            factor *= ((last - first).days + 1) / ((month_end - month).days + 1)  # part of a month
            target, revenue = base * factor, 0
            for line in range(1, MAX_LINES_A_MONTH + 1):
                if revenue >= 0.95 * target:
                    break
                candidates = []
                for _attempt in range(FIT_ATTEMPTS):
                    candidates.append(self._line(rng, seller, pool, categories, category_weights, by_category))
                    if revenue + candidates[-1][0] <= 1.1 * target:
                        break
                fits = revenue + candidates[-1][0] <= 1.1 * target
                if not fits and line > 1:
                    break  # nothing fits any more: the month is full
                # A month that nothing fits still gets its smallest deal.
                amount, quantity, unit, product, customer = candidates[-1] if fits else min(candidates, key=lambda drawn: drawn[0])
                revenue += amount
                invoice_date = self._working_day(rng, first, last)
                external_id = f"{seller.external_id}-{month:%Y%m}-{line:03d}"
                rows.append(self._row(rng, seller, external_id, invoice_date, amount, quantity, customer, product, currency))
                if rng.random() < CREDIT_NOTE_SHARE:  # a return or a price correction, a few days to weeks later
                    credit_date = invoice_date + timedelta(days=rng.randint(3, 30))
                    if credit_date <= min(self.last_day, seller.last_day or self.last_day):
                        returned = rng.randint(1, quantity)
                        rows.append(
                            self._row(
                                rng, seller, f"{external_id}-CN", credit_date, -unit * returned, -returned, customer, product, currency
                            )
                        )
        return rows

    @staticmethod
    def _line(rng, seller, pool, categories, category_weights, by_category):
        """One candidate invoice line: (amount in cents, quantity, unit price in cents, product, customer)."""
        product = rng.choice(by_category[rng.choices(categories, category_weights)[0]])
        if pool:
            customer = pool[min(len(pool) - 1, int(len(pool) * rng.random() ** 1.7))]  # some customers buy much more
            low, high = SEGMENT_QUANTITY[customer.segment]
            quantity = rng.randint(low, high)
            unit = round(cents(product.list_price) * (1 - rng.randint(0, 12) / 100))
        else:  # a distributor's stock order (sell-in), at its tier's discount
            customer = None
            quantity = rng.randint(4, 30)
            unit = round(cents(product.list_price) * (100 - TIER_DISCOUNT[seller.tier]) / 100)
        if product.per_seat:
            quantity *= 10
        return unit * quantity, quantity, unit, product, customer

    @staticmethod
    def _working_day(rng, first, last):
        day = random_day(rng, first, last)
        if day.weekday() >= 5:
            friday = day - timedelta(days=day.weekday() - 4)
            monday = day + timedelta(days=7 - day.weekday())
            day = friday if friday >= first else monday if monday <= last else day
        return day

    def _row(self, rng, seller, external_id, invoice_date, amount, quantity, customer, product, currency):
        paid = invoice_date + timedelta(days=rng.randint(*PAID_AFTER_DAYS))
        unpaid = rng.random() < UNPAID_SHARE
        paid_date = "" if unpaid or paid >= self.today else paid.isoformat()
        code, original = "", ""
        if currency:
            code, rate = currency
            original = money(round(amount * Decimal(rate)))
        return [
            external_id,
            seller.external_id,
            invoice_date.isoformat(),
            money(amount),
            str(quantity),
            customer.external_id if customer else "",
            product.sku,
            paid_date,
            code,
            original,
        ]


def product_file(products):
    return csv_bytes(["sku", "name", "category", "list_price"], [[p.sku, p.name, p.category, p.list_price] for p in products])


def customer_file(customers):
    return csv_bytes(
        ["external_id", "name", "country", "segment", "region"],
        [[c.external_id, c.name, c.country, c.segment, c.region] for c in customers],
    )


def demo_sellers():
    """The demo partners that have joined, as stored (status dates included), in external ID order."""
    sellers = []
    partners = Partner.objects.filter(external_id__regex=r"^DEMO-[0-9]{4}$", joined_on__isnull=False).select_related("tier", "territory")
    for partner in partners.order_by("external_id"):
        last_day = partner.churned_on
        if partner.status == PartnerStatus.INACTIVE:
            last_day = timezone.localdate(partner.status_changed_at)
        sellers.append(
            Seller(
                number=int(partner.external_id.removeprefix("DEMO-")),
                external_id=partner.external_id,
                partner_type=partner.partner_type,
                tier=partner.tier.name if partner.tier and partner.tier.name in MONTHLY_REVENUE else "Registered",
                country=partner.country.code,
                territory=partner.territory.name if partner.territory else "",
                first_day=partner.joined_on,
                last_day=last_day,
            )
        )
    return sellers


def demo_sales_files(today, faker_class):
    """The sales CSV files `seed_demo` imports for the partners in the database (tests re-import them)."""
    builder = SalesBuilder(today, faker_class)
    return list(import_chunks(builder.sales(demo_sellers(), builder.customers(), builder.products())))


def import_chunks(rows_by_partner, limit=IMPORT_CHUNK_ROWS):
    """Whole partners' rows packed into CSV files of at most about `limit` rows."""
    chunk = []
    for rows in rows_by_partner.values():
        if chunk and len(chunk) + len(rows) > limit:
            yield csv_bytes(SALES_COLUMNS, chunk)
            chunk = []
        chunk.extend(rows)
    if chunk:
        yield csv_bytes(SALES_COLUMNS, chunk)


# --- writing ---------------------------------------------------------------------------------------


@dataclass
class SalesHistory:
    """What `seed` did, for the report: the imported history, or None when demo sales existed already."""

    imported: dict | None

    def report(self):
        """The lines `seed_demo` prints about the sales part."""
        sales = self.imported
        if sales:
            return [
                f"Sales history: {sales['lines']:,} lines of {sales['partners']} partners, {sales['first']:%Y-%m} to "
                f"{sales['last']:%Y-%m}, imported through the import service ({sales['engine']} engine) in {sales['seconds']:.1f} s."
            ]
        return [f'Sales history: demo sales (source "{SALES_SOURCE}") exist already; left as they are.']


def counts():
    """Rows of the tables this part writes, in the order `seed_demo` reports them."""
    return {
        "products": Product.objects.count(),
        "customers": Customer.objects.count(),
        "sales lines": Sale.objects.count(),
    }


def seed(today, faker_class):
    """Products, customers and the sales history as of `today`, through the import service, once; a SalesHistory.

    Skipped as a whole when demo sales exist: `make run` seeds at every start and should not pay
    for a re-import. (A re-import of the same rows would change nothing either: imports are
    idempotent on (source, external ID); the tests prove it with the rows `demo_sales_files` makes.)
    """
    with scopes_disabled(), transaction.atomic():
        if Sale.objects.filter(source=SALES_SOURCE).exists():
            return SalesHistory(None)
        builder = SalesBuilder(today, faker_class)
        started = perf_counter()
        products, customers = builder.products(), builder.customers()
        _import("products", product_file(products))
        _import("customers", customer_file(customers))
        rows = builder.sales(demo_sellers(), customers, products)
        lines = 0
        for data in import_chunks(rows):
            lines += _import("sales", data).created
        return SalesHistory(
            {
                "lines": lines,
                "partners": sum(1 for partner_rows in rows.values() if partner_rows),
                "first": builder.months[0],
                "last": builder.months[-1],
                "engine": sales_engine(ImportOptions(source=SALES_SOURCE)),
                "seconds": perf_counter() - started,
            }
        )


def _import(entity, data):
    result = import_file(entity=entity, stream=io.BytesIO(data), size=len(data), options=ImportOptions(source=SALES_SOURCE))
    if not result.ok:
        table = error_messages()
        details = "; ".join(f"line {error.line}, {error.column}: {error.message(table)}" for error in result.errors[:5])
        raise CommandError(f"The import rejected {result.error_count} value(s) of the demo {entity}: {details}")
    return result
