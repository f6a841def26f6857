"""`manage.py seed_demo`: a realistic, repeatable demo world of about 200 channel partners.

Repeatable: every random value comes from a fixed seed and is drawn up front, in the same order,
whatever is already in the database. Idempotent: tiers, territories and users are looked up by a
fixed key and created only when missing; a partner's world (the partner, its status history,
contacts and timeline) is created only when no partner has its external ID yet. A second run
therefore adds and changes nothing.

Partners are created through `partners.services` so their status history is recorded the way the
app records it; the services stamp that history with the current time, so the seed then dates it
back to the generated join, inactive and churn dates. Contacts and interactions are bulk-inserted.

Sales: a catalogue of 41 products, 600 end customers and three years of monthly sales history
(about 60,000 invoice lines up to the last complete month) for the partners that had joined, with a
Q4 peak and a summer dip, partners that grow and partners that decline, sizes that follow the tier,
a few credit notes and unpaid recent invoices. Distributors have sell-in lines (no end customer);
resellers, VARs, MSPs and ISVs sell through to customers. Everything goes in as CSV through
`sales.imports.import_file`, the service behind the import pages, so the monthly rollups are built
the way production builds them (the COPY engine on PostgreSQL, the Python engine on SQLite). Each
partner's history is drawn from its own generator, seeded with its external ID, from the partner as
stored, so it never sells before it joined or after it left. The block runs once: when demo sales
(source "demo") exist it is skipped, so `make run` does not re-import at every start.

Surveys: at the end, `seed_surveys` adds the feedback loop (a quarterly NPS survey with two closed
waves and an open one, answered, and a dozen ideas in every status); it is idempotent too.
Then `seed_incentives` adds two running programs, a closed past period with earnings, payouts in
each state, the reward catalog and some redemptions (idempotent as well).
Last, `seed_scores` scores the channel every 14 days over the last 12 months and on each of the
last 30 days, so the KPI dashboards have history (days already scored are skipped).
"""

import csv
import io
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import perf_counter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scopes_disabled

from partners import services
from partners.models import (
    ApplicationStatus,
    Contact,
    Interaction,
    InteractionKind,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerStatusChange,
    PartnerType,
    Territory,
    Tier,
)
from partners.tenancy import MANAGER_GROUP
from sales.imports import ImportOptions, error_messages, import_file
from sales.models import Customer, Product, Sale

SEED = 20261123
PASSWORD = "partnerloop-demo"
DOMAIN = "demo.partnerloop.test"
PARTNER_COUNT = 200
RESELLERS_WITH_DISTRIBUTOR = 60
TIMELINE_DAYS = 548  # about 18 months

TIERS = [
    # name, rank, colour, benefits
    ("Registered", 1, "#6c757d", "Partner portal and training library\nDeal registration\nStandard discount of 10%"),
    (
        "Silver",
        2,
        "#a8b2bd",
        "Everything in Registered\nDiscount of 20%\nMarket development funds on request\nQuarterly business review",
    ),
    (
        "Gold",
        3,
        "#d4a72c",
        "Everything in Silver\nDiscount of 30%\nDedicated channel manager\nCo-marketing budget\nShared leads",
    ),
    (
        "Platinum",
        4,
        "#5a6e8c",
        "Everything in Gold\nDiscount of 40%\nExecutive sponsor\nEarly access to the roadmap\nJoint business plan",
    ),
]

# name, parent, countries: parents before children.
TERRITORIES = [
    ("EMEA", None, ["NL", "BE", "LU", "DE", "AT", "CH", "SE", "DK", "NO", "FI", "GB", "IE"]),
    ("Benelux", "EMEA", ["NL", "BE", "LU"]),
    ("DACH", "EMEA", ["DE", "AT", "CH"]),
    ("Nordics", "EMEA", ["SE", "DK", "NO", "FI"]),
    ("UK & Ireland", "EMEA", ["GB", "IE"]),
    ("Americas", None, ["US", "CA"]),
    ("North America", "Americas", ["US", "CA"]),
    ("APAC", None, ["AU", "NZ", "SG"]),
]
REGION = {"Benelux": "EMEA", "DACH": "EMEA", "Nordics": "EMEA", "UK & Ireland": "EMEA", "North America": "Americas", "APAC": "APAC"}


@dataclass(frozen=True)
class Country:
    territory: str
    locale: str
    weight: int
    legal_forms: tuple


COUNTRIES = {
    "NL": Country("Benelux", "nl_NL", 28, ("B.V.",)),
    "BE": Country("Benelux", "nl_BE", 14, ("BV", "NV")),
    "LU": Country("Benelux", "de_LU", 3, ("S.à r.l.", "S.A.")),
    "DE": Country("DACH", "de_DE", 30, ("GmbH", "AG", "GmbH & Co. KG")),
    "AT": Country("DACH", "de_AT", 8, ("GmbH",)),
    "CH": Country("DACH", "de_CH", 8, ("AG", "GmbH")),
    "SE": Country("Nordics", "sv_SE", 8, ("AB",)),
    "DK": Country("Nordics", "da_DK", 7, ("ApS", "A/S")),
    "NO": Country("Nordics", "no_NO", 4, ("AS",)),
    "FI": Country("Nordics", "fi_FI", 3, ("Oy",)),
    "GB": Country("UK & Ireland", "en_GB", 25, ("Ltd",)),
    "IE": Country("UK & Ireland", "en_IE", 6, ("Ltd", "DAC")),
    "US": Country("North America", "en_US", 28, ("Inc.", "LLC")),
    "CA": Country("North America", "en_CA", 8, ("Inc.", "Ltd.")),
    "AU": Country("APAC", "en_AU", 8, ("Pty Ltd",)),
    "NZ": Country("APAC", "en_NZ", 3, ("Ltd",)),
    "SG": Country("APAC", "en_US", 4, ("Pte. Ltd.",)),
}
# One Faker per locale, each with its own fixed seed (one shared seed would give every English
# locale the same names in the same order).
LOCALES = sorted({c.locale for c in COUNTRIES.values()})

NAME_WORDS = {
    PartnerType.DISTRIBUTOR: ["Distribution", "Distri", "Supply", "Wholesale", "Trade"],
    PartnerType.RESELLER: ["IT", "Computers", "Office Solutions", "Tech", "Digital", "Connect", "ICT"],
    PartnerType.VAR: ["Systems", "Solutions", "Integration", "Networks", "Infra"],
    PartnerType.MSP: ["Managed Services", "IT Services", "Cloud Services", "Hosting", "Secure"],
    PartnerType.REFERRAL: ["Consulting", "Advisory", "Partners"],
    PartnerType.ISV: ["Software", "Labs", "Apps", "Analytics"],
}
OTHER_TYPES = [PartnerType.RESELLER, PartnerType.VAR, PartnerType.MSP, PartnerType.REFERRAL, PartnerType.ISV]
OTHER_TYPE_WEIGHTS = [52, 15, 15, 9, 9]


class WellKnown(NamedTuple):
    slug: str
    name: str
    legal_form: str
    partner_type: str
    country: str
    tier: str
    distributor: str | None = None


# The five partners every demo walks through (DEMO-0001..0005); each gets a partner admin and a
# partner user login.
WELL_KNOWN = [
    WellKnown("northwind", "Northwind Distribution", "B.V.", PartnerType.DISTRIBUTOR, "NL", "Platinum"),
    WellKnown("alpenblick", "Alpenblick IT", "GmbH", PartnerType.RESELLER, "DE", "Gold", distributor="northwind"),
    WellKnown("thames", "Thames Managed Services", "Ltd", PartnerType.MSP, "GB", "Gold"),
    WellKnown("lakeside", "Lakeside Systems", "Inc.", PartnerType.VAR, "US", "Silver"),
    WellKnown("fjord", "Fjord Software", "AB", PartnerType.ISV, "SE", "Silver"),
]
OTHER_DISTRIBUTOR_COUNTRIES = ["DE", "GB", "US", "SE", "BE", "CH", "AU", "CA", "DK"]

# key (e-mail local part), first name, last name, territories they look after
ACCOUNT_MANAGERS = [
    ("sanne.devries", "Sanne", "de Vries", {"Benelux"}),
    ("jonas.keller", "Jonas", "Keller", {"DACH", "Nordics"}),
    ("emily.clarke", "Emily", "Clarke", {"UK & Ireland"}),
    ("michael.turner", "Michael", "Turner", {"North America", "APAC"}),
]
DEMO_MANAGER = ("manager", "Alex", "Morgan")
SUPERUSER = ("admin", "Site", "Administrator")

PRIMARY_ROLES = ["Managing director", "Owner", "Channel sales lead", "CEO"]
OTHER_ROLES = ["Sales lead", "Technical contact", "Presales engineer", "Marketing manager", "Finance / billing", "Service delivery manager"]

TOPICS = [
    "the pipeline for next quarter",
    "a deal registration",
    "pricing for a public tender",
    "a market development funds request",
    "renewals coming up",
    "a support escalation",
    "the new product line",
    "certification of two engineers",
    "a joint customer event",
    "stock levels and lead times",
    "the partner portal",
    "moving up a tier",
]
DETAIL_SENTENCES = [
    "They expect two larger deals to close before the end of the quarter.",
    "Asked for updated price lists and the new datasheets.",
    "Two of their engineers will take the certification exam next month.",
    "Margin on the entry-level range is under pressure from a competitor.",
    "Agreed to send a proposal for co-marketing by Friday.",
    "Renewal rate is good; upsell to the premium plan is the next step.",
    "They would like a demo unit for their showroom.",
    "Follow up with presales on the technical questions.",
    "Happy with the support they get; delivery times could be better.",
    "Interested in the managed-service bundle for small businesses.",
]
INTERNAL_NOTES = [
    "Payment behaviour is slow; check with finance before approving MDF.",
    "Possible candidate for the next tier if Q4 numbers hold.",
    "Competitor is courting them with a higher discount.",
    "Key contact is leaving the company; find a new sponsor.",
]
MANUAL_KIND_WEIGHTS = {
    InteractionKind.CALL: 30,
    InteractionKind.EMAIL: 25,
    InteractionKind.MEETING: 15,
    InteractionKind.NOTE: 18,
    InteractionKind.QUARTERLY_REVIEW: 12,
}


@dataclass
class ContactSpec:
    first_name: str
    last_name: str
    role: str
    email: str
    phone: str
    is_primary: bool


@dataclass
class InteractionSpec:
    kind: str
    occurred_at: datetime
    summary: str
    details: str
    is_internal: bool
    author_key: str


@dataclass
class PartnerSpec:
    number: int
    name: str
    legal_name: str
    slug: str
    partner_type: str
    country: str
    territory: str
    tier: str
    status: str
    manager_key: str
    website: str
    joined_on: date | None = None
    churned_on: date | None = None
    parent_number: int | None = None
    # (when, to_status): the first entry is the creation with status onboarding.
    history: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    interactions: list = field(default_factory=list)

    @property
    def external_id(self):
        return f"DEMO-{self.number:04d}"


@dataclass
class ApplicationSpec:
    fields: dict
    linked_partner_number: int | None = None
    decided_by_key: str | None = None


@dataclass
class UserSpec:
    key: str
    email: str
    first_name: str
    last_name: str
    is_staff: bool = False
    is_superuser: bool = False
    in_manager_group: bool = False


def ascii_slug(text):
    """'Øyvind Bühlmann' -> 'oyvind-buhlmann' (slugify alone drops letters without a decomposition)."""
    for source, target in {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "ð": "d", "þ": "th", "œ": "oe", "ł": "l"}.items():
        text = text.replace(source, target)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return slugify(text)


def aware(day, rng):
    """A working-hours moment on `day` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30, 45]))))


def random_day(rng, start, end):
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))


class WorldBuilder:
    """Draws the whole demo world from the seed; touches no database."""

    def __init__(self, today, faker_class):
        self.today = today
        self.rng = random.Random(SEED)
        self.fakers = {}
        for index, locale in enumerate(LOCALES):
            fake = faker_class(locale)
            fake.seed_instance(SEED + index)
            self.fakers[locale] = fake
        self.used_names = set()

    def fake(self, country):
        return self.fakers[COUNTRIES[country].locale]

    # -- users ---------------------------------------------------------------------------------------

    def users(self):
        users = [UserSpec("superuser", f"{SUPERUSER[0]}@{DOMAIN}", SUPERUSER[1], SUPERUSER[2], is_staff=True, is_superuser=True)]
        users.append(UserSpec("demo-manager", f"{DEMO_MANAGER[0]}@{DOMAIN}", DEMO_MANAGER[1], DEMO_MANAGER[2], True, False, True))
        for key, first, last, _territories in ACCOUNT_MANAGERS:
            users.append(UserSpec(key, f"{key}@{DOMAIN}", first, last, True, False, True))
        return users

    # -- partners ------------------------------------------------------------------------------------

    def partners(self):
        rng = self.rng
        # 1. type and country of every partner (numbered from 1), so distributors are known before
        #    resellers pick one. Parents always get a lower number than their resellers.
        skeleton = [(w.partner_type, w.country, w) for w in WELL_KNOWN]
        skeleton += [(PartnerType.DISTRIBUTOR, country, None) for country in OTHER_DISTRIBUTOR_COUNTRIES]
        country_codes = list(COUNTRIES)
        country_weights = [COUNTRIES[c].weight for c in country_codes]
        while len(skeleton) < PARTNER_COUNT:
            partner_type = rng.choices(OTHER_TYPES, OTHER_TYPE_WEIGHTS)[0]
            skeleton.append((partner_type, rng.choices(country_codes, country_weights)[0], None))
        numbered = list(enumerate(skeleton, start=1))

        # 2. two-tier distribution: about 60 resellers buy through a distributor of their region.
        distributors_by_region = {}
        for number, (partner_type, country, _well_known) in numbered:
            if partner_type == PartnerType.DISTRIBUTOR:
                distributors_by_region.setdefault(REGION[COUNTRIES[country].territory], []).append(number)
        slug_numbers = {w.slug: number for number, (_type, _country, w) in numbered if w}
        parents = {number: slug_numbers[w.distributor] for number, (_type, _country, w) in numbered if w and w.distributor}
        candidates = [number for number, (partner_type, _country, w) in numbered if partner_type == PartnerType.RESELLER and not w]
        for number in sorted(rng.sample(candidates, min(RESELLERS_WITH_DISTRIBUTOR - len(parents), len(candidates)))):
            region = REGION[COUNTRIES[skeleton[number - 1][1]].territory]
            parents[number] = rng.choice(distributors_by_region[region])

        # 3. everything else, partner by partner.
        return [self._partner(number, partner_type, country, w, parents.get(number)) for number, (partner_type, country, w) in numbered]

    def _partner(self, number, partner_type, country, well_known, parent_number):
        rng, fake = self.rng, self.fake(country)
        territory = COUNTRIES[country].territory
        if well_known:
            slug, name, legal_form, tier = well_known.slug, well_known.name, well_known.legal_form, well_known.tier
            status = PartnerStatus.ACTIVE
            manager_key = "demo-manager"
        else:
            name, legal_form = self._company_name(partner_type, country)
            slug = ascii_slug(name)
            status = (
                PartnerStatus.ACTIVE
                if partner_type == PartnerType.DISTRIBUTOR
                else rng.choices(
                    [PartnerStatus.ACTIVE, PartnerStatus.ONBOARDING, PartnerStatus.INACTIVE, PartnerStatus.CHURNED], [76, 8, 8, 8]
                )[0]
            )
            tier = self._tier(partner_type, status)
            manager_key = "demo-manager" if rng.random() < 0.12 else self._manager_for(territory)
        spec = PartnerSpec(
            number=number,
            name=name,
            legal_name=f"{name} {legal_form}",
            slug=slug,
            partner_type=partner_type,
            country=country,
            territory=territory,
            tier=tier,
            status=status,
            manager_key=manager_key,
            website=f"https://www.{slug}.example",
            parent_number=parent_number,
        )
        self._dates_and_history(spec)
        spec.contacts = self._contacts(spec, fake)
        spec.interactions = self._interactions(spec, fake)
        return spec

    def _company_name(self, partner_type, country):
        rng, fake = self.rng, self.fake(country)
        while True:
            stem = fake.last_name() if rng.random() < 0.8 else f"{fake.last_name()} & {fake.last_name()}"
            name = f"{stem[0].upper()}{stem[1:]} {rng.choice(NAME_WORDS[partner_type])}"
            legal_form = rng.choice(COUNTRIES[country].legal_forms)
            if name not in self.used_names:
                self.used_names.add(name)
                return name, legal_form

    def _tier(self, partner_type, status):
        if status == PartnerStatus.ONBOARDING:
            return "Registered"
        if partner_type == PartnerType.DISTRIBUTOR:
            return self.rng.choice(["Gold", "Platinum"])
        if partner_type == PartnerType.REFERRAL:
            return self.rng.choice(["Registered", "Silver"])
        return self.rng.choices(["Registered", "Silver", "Gold", "Platinum"], [35, 35, 20, 10])[0]

    @staticmethod
    def _manager_for(territory):
        return next(key for key, _first, _last, territories in ACCOUNT_MANAGERS if territory in territories)

    def _dates_and_history(self, spec):
        rng, today = self.rng, self.today
        if spec.status == PartnerStatus.ONBOARDING:
            created = today - timedelta(days=rng.randint(3, 100))
            spec.history = [(aware(created, rng), PartnerStatus.ONBOARDING)]
            return
        spec.joined_on = today - timedelta(days=rng.randint(90, 6 * 365))
        if spec.number <= len(WELL_KNOWN):
            # The partners every demo walks through are established ones, with the full three years of
            # sales history (the draw above still happens, so the other partners do not change).
            spec.joined_on = today - timedelta(days=4 * 365 + 60 * spec.number)
        created = spec.joined_on - timedelta(days=rng.randint(14, 75))
        spec.history = [(aware(created, rng), PartnerStatus.ONBOARDING), (aware(spec.joined_on, rng), PartnerStatus.ACTIVE)]
        if spec.status == PartnerStatus.INACTIVE:
            inactive_on = random_day(rng, spec.joined_on + timedelta(days=60), today - timedelta(days=20))
            spec.history.append((aware(inactive_on, rng), PartnerStatus.INACTIVE))
        elif spec.status == PartnerStatus.CHURNED:
            spec.churned_on = random_day(rng, spec.joined_on + timedelta(days=90), today - timedelta(days=10))
            spec.history.append((aware(spec.churned_on, rng), PartnerStatus.CHURNED))

    def _contacts(self, spec, fake):
        rng = self.rng
        count = rng.randint(2, 4)
        roles = [rng.choice(PRIMARY_ROLES), *rng.sample(OTHER_ROLES, count - 1)]
        contacts, used = [], set()
        for index, role in enumerate(roles):
            first, last = fake.first_name(), fake.last_name()
            local = ascii_slug(f"{first} {last}").replace("-", ".") or f"contact{index}"
            while local in used:
                local += str(index)
            used.add(local)
            contacts.append(ContactSpec(first, last, role, f"{local}@{spec.slug}.example", fake.phone_number()[:40], index == 0))
        return contacts

    def _interactions(self, spec, fake):
        rng = self.rng
        start = max(self.today - timedelta(days=TIMELINE_DAYS), spec.history[0][0].date())
        end = spec.churned_on or self.today - timedelta(days=1)
        kinds, weights = list(MANUAL_KIND_WEIGHTS), list(MANUAL_KIND_WEIGHTS.values())
        interactions = []
        for _ in range(rng.randint(3, 12)):
            day = random_day(rng, start, end)
            if day.weekday() >= 5:  # channel managers work on weekdays
                day = max(start, day - timedelta(days=day.weekday() - 4))
            kind = rng.choices(kinds, weights)[0]
            if kind == InteractionKind.QUARTERLY_REVIEW and (spec.joined_on is None or day < spec.joined_on):
                kind = InteractionKind.CALL
            contact = rng.choice(spec.contacts)
            topic = rng.choice(TOPICS)
            is_internal = False
            if kind == InteractionKind.CALL:
                summary = f"Call with {contact.first_name} {contact.last_name} about {topic}"
            elif kind == InteractionKind.EMAIL:
                summary = f"E-mail to {contact.first_name} about {topic}"
            elif kind == InteractionKind.MEETING:
                summary = f"Meeting in {fake.city()}: {topic}"
            elif kind == InteractionKind.QUARTERLY_REVIEW:
                summary = f"Quarterly business review Q{(day.month - 1) // 3 + 1} {day.year}"
            else:
                is_internal = rng.random() < 0.25
                summary = rng.choice(INTERNAL_NOTES) if is_internal else f"Follow up on {topic}"
            details = " ".join(rng.sample(DETAIL_SENTENCES, rng.randint(0, 3)))
            author_key = spec.manager_key if rng.random() < 0.9 else rng.choice(ACCOUNT_MANAGERS)[0]
            interactions.append(InteractionSpec(kind, aware(day, rng), summary[:255], details, is_internal, author_key))
        return interactions

    # -- logins and applications --------------------------------------------------------------------

    def partner_logins(self, partners):
        """(user spec, partner number, role) for an admin and a user of each well-known partner."""
        logins = []
        for spec in partners[: len(WELL_KNOWN)]:
            for contact, prefix, role in (
                (spec.contacts[0], "admin", MembershipRole.ADMIN),
                (spec.contacts[1], "user", MembershipRole.USER),
            ):
                email = f"{prefix}@{spec.slug}.{DOMAIN}"
                logins.append((UserSpec(email, email, contact.first_name, contact.last_name), spec.number, role))
        return logins

    def applications(self, partners):
        rng, now = self.rng, timezone.make_aware(datetime.combine(self.today, time(9)))
        specs = []
        for country, partner_type, days_ago in (("NL", PartnerType.RESELLER, 2), ("DE", PartnerType.MSP, 5), ("US", PartnerType.VAR, 11)):
            specs.append(
                ApplicationSpec(self._application_fields(country, partner_type, now - timedelta(days=days_ago, hours=rng.randint(0, 8))))
            )
        # Accepted: the application the first onboarding partner came from.
        onboarding = next(p for p in partners[len(WELL_KNOWN) :] if p.status == PartnerStatus.ONBOARDING)
        primary = onboarding.contacts[0]
        created = onboarding.history[0][0]
        specs.append(
            ApplicationSpec(
                {
                    "company_name": onboarding.name,
                    "legal_name": onboarding.legal_name,
                    "partner_type": onboarding.partner_type,
                    "country": onboarding.country,
                    "website": onboarding.website,
                    "first_name": primary.first_name,
                    "last_name": primary.last_name,
                    "email": primary.email,
                    "phone": primary.phone,
                    "message": "We would like to add your products to our portfolio for our small-business customers.",
                    "status": ApplicationStatus.ACCEPTED,
                    "submitted_at": created - timedelta(days=4),
                    "decided_at": created,
                },
                linked_partner_number=onboarding.number,
                decided_by_key=onboarding.manager_key,
            )
        )
        declined = self._application_fields("GB", PartnerType.REFERRAL, now - timedelta(days=30))
        declined.update(
            status=ApplicationStatus.DECLINED,
            decided_at=now - timedelta(days=26),
            decline_reason="We already work with enough referral partners in your region. You are welcome to apply again next year.",
        )
        specs.append(ApplicationSpec(declined, decided_by_key="emily.clarke"))
        return specs

    def _application_fields(self, country, partner_type, submitted_at):
        fake = self.fake(country)
        name, legal_form = self._company_name(partner_type, country)
        first, last = fake.first_name(), fake.last_name()
        slug = ascii_slug(name)
        return {
            "company_name": name,
            "legal_name": f"{name} {legal_form}",
            "partner_type": partner_type,
            "country": country,
            "website": f"https://www.{slug}.example",
            "first_name": first,
            "last_name": last,
            "email": f"{ascii_slug(first + ' ' + last).replace('-', '.')}@{slug}.example",
            "phone": fake.phone_number()[:40],
            "message": self.rng.choice(
                [
                    "Our customers keep asking for your products; we would like to sell them directly.",
                    "We run IT for about 150 small businesses and want to add your services to our offering.",
                    "We are looking for a vendor with a strong partner programme in our market.",
                ]
            ),
            "submitted_at": submitted_at,
        }


# --- Sales history: products, end customers and three years of invoice lines ----------------------------

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
        builder = WorldBuilder(today, Faker)
        user_specs = builder.users()
        partner_specs = builder.partners()
        login_specs = builder.partner_logins(partner_specs)
        application_specs = builder.applications(partner_specs)

        with scopes_disabled(), transaction.atomic():
            before = self._counts()
            users = self._users(user_specs)
            users.update(self._users(spec for spec, _number, _role in login_specs))
            partners = self._partners(partner_specs, users)
            self._memberships(login_specs, users, partners)
            self._applications(application_specs, users, partners)
            sales = self._sales(SalesBuilder(today, Faker))
            created = {name: after - before[name] for name, after in self._counts().items()}

        if options["verbosity"] >= 1:
            self._report(login_specs, partner_specs, created, sales)
        # The feedback loop of the demo world (surveys app), called by name so partners never imports surveys.
        call_command("seed_surveys", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])
        call_command("seed_incentives", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])
        call_command("seed_scores", stdout=self.stdout, stderr=self.stderr, verbosity=options["verbosity"])

    # -- writing -------------------------------------------------------------------------------------

    @staticmethod
    def _counts():
        return {
            "partners": Partner.objects.count(),
            "contacts": Contact.objects.count(),
            "interactions": Interaction.objects.count(),
            "users": get_user_model().objects.count(),
            "applications": PartnerApplication.objects.count(),
            "products": Product.objects.count(),
            "customers": Customer.objects.count(),
            "sales lines": Sale.objects.count(),
        }

    @staticmethod
    def _users(specs):
        User = get_user_model()
        group = None
        users = {}
        for spec in specs:
            user, created = User.objects.get_or_create(
                username=spec.email,
                defaults={
                    "email": spec.email,
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "is_staff": spec.is_staff,
                    "is_superuser": spec.is_superuser,
                },
            )
            if created:
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
                if spec.in_manager_group:
                    if group is None:
                        group = Group.objects.filter(name=MANAGER_GROUP).first()
                        if group is None:
                            raise CommandError(f'The group "{MANAGER_GROUP}" is missing: run "manage.py migrate" first.')
                    user.groups.add(group)
            users[spec.key] = user
        return users

    def _partners(self, specs, users):
        tiers = {}
        for name, rank, colour, benefits in TIERS:
            tiers[name], _ = Tier.objects.get_or_create(name=name, defaults={"rank": rank, "colour": colour, "benefits": benefits})
        territories = {}
        for name, parent, countries in TERRITORIES:
            territories[name], _ = Territory.objects.get_or_create(
                name=name, defaults={"parent": territories.get(parent), "countries": countries}
            )

        partners = {p.external_id: p for p in Partner.objects.filter(external_id__in=[s.external_id for s in specs])}
        new = []
        for spec in specs:  # parents have lower numbers, so they exist before their resellers
            if spec.external_id in partners:
                continue
            manager = users[spec.manager_key]
            partner = services.partner_create(
                created_by=manager,
                status=PartnerStatus.ONBOARDING,
                name=spec.name,
                legal_name=spec.legal_name,
                parent=partners[f"DEMO-{spec.parent_number:04d}"] if spec.parent_number else None,
                partner_type=spec.partner_type,
                tier=tiers[spec.tier],
                territory=territories[spec.territory],
                country=spec.country,
                account_manager=manager,
                joined_on=spec.joined_on,
                website=spec.website,
                external_id=spec.external_id,
            )
            for _when, status in spec.history[1:]:
                extra = {"churned_on": spec.churned_on} if status == PartnerStatus.CHURNED else {}
                partner = services.partner_update(partner=partner, changed_by=manager, status=status, **extra)
            partners[spec.external_id] = partner
            new.append((spec, partner))
        if new:
            self._backdate_history(new)
            self._contacts_and_timeline(new, users)
        return partners

    @staticmethod
    def _backdate_history(new):
        """The services date status changes `now`; move them to the generated dates."""
        history = {partner.pk: spec.history for spec, partner in new}
        changes = list(PartnerStatusChange.objects.filter(partner_id__in=history).order_by("partner_id", "id"))
        entries = list(Interaction.objects.filter(partner_id__in=history, kind=InteractionKind.STATUS_CHANGED).order_by("partner_id", "id"))
        for rows, attribute in ((changes, "changed_at"), (entries, "occurred_at")):
            position = {}
            for row in rows:
                index = position[row.partner_id] = position.get(row.partner_id, -1) + 1
                setattr(row, attribute, history[row.partner_id][index][0])
        PartnerStatusChange.objects.bulk_update(changes, ["changed_at"], batch_size=500)
        Interaction.objects.bulk_update(entries, ["occurred_at"], batch_size=500)
        partners = []
        for spec, partner in new:
            partner.status_changed_at = spec.history[-1][0]
            partners.append(partner)
        Partner.objects.bulk_update(partners, ["status_changed_at"], batch_size=500)

    @staticmethod
    def _contacts_and_timeline(new, users):
        contacts, interactions = [], []
        for spec, partner in new:
            contacts += [
                Contact(
                    partner=partner,
                    first_name=c.first_name,
                    last_name=c.last_name,
                    role=c.role,
                    email=c.email,
                    phone=c.phone,
                    is_primary=c.is_primary,
                )
                for c in spec.contacts
            ]
            interactions += [
                Interaction(
                    partner=partner,
                    kind=i.kind,
                    occurred_at=i.occurred_at,
                    author=users[i.author_key],
                    summary=i.summary,
                    details=i.details,
                    is_internal=i.is_internal,
                )
                for i in spec.interactions
            ]
        Contact.objects.bulk_create(contacts, batch_size=500)
        Interaction.objects.bulk_create(interactions, batch_size=500)

    @staticmethod
    def _memberships(login_specs, users, partners):
        for spec, number, role in login_specs:
            user = users[spec.key]
            if not Membership.objects.filter(user=user).exists():
                Membership.objects.create(user=user, partner=partners[f"DEMO-{number:04d}"], role=role, invited_by=users["demo-manager"])

    @staticmethod
    def _applications(specs, users, partners):
        for spec in specs:
            if PartnerApplication.objects.filter(email=spec.fields["email"]).exists():
                continue
            application = PartnerApplication(**spec.fields)
            if spec.decided_by_key:
                application.decided_by = users[spec.decided_by_key]
            if spec.linked_partner_number:
                partner = partners[f"DEMO-{spec.linked_partner_number:04d}"]
                if PartnerApplication.objects.filter(partner=partner).exists():
                    continue
                application.partner = partner
            application.full_clean()
            application.save()

    def _sales(self, builder):
        """Products, customers and the sales history, through the import service, once.

        Skipped as a whole when demo sales exist: `make run` seeds at every start and should not pay
        for a re-import. (A re-import of the same rows would change nothing either: imports are
        idempotent on (source, external ID); the tests prove it with the rows `demo_sales_files` makes.)
        """
        if Sale.objects.filter(source=SALES_SOURCE).exists():
            return None
        started = perf_counter()
        products, customers = builder.products(), builder.customers()
        self._import("products", product_file(products))
        self._import("customers", customer_file(customers))
        rows = builder.sales(demo_sellers(), customers, products)
        lines = 0
        for data in import_chunks(rows):
            lines += self._import("sales", data).created
        return {
            "lines": lines,
            "partners": sum(1 for partner_rows in rows.values() if partner_rows),
            "first": builder.months[0],
            "last": builder.months[-1],
            "engine": ImportOptions(source=SALES_SOURCE).resolved_engine(connection.vendor),
            "seconds": perf_counter() - started,
        }

    @staticmethod
    def _import(entity, data):
        result = import_file(entity=entity, stream=io.BytesIO(data), size=len(data), options=ImportOptions(source=SALES_SOURCE))
        if not result.ok:
            table = error_messages()
            details = "; ".join(f"line {error.line}, {error.column}: {error.message(table)}" for error in result.errors[:5])
            raise CommandError(f"The import rejected {result.error_count} value(s) of the demo {entity}: {details}")
        return result

    # -- output --------------------------------------------------------------------------------------

    def _report(self, login_specs, partner_specs, created, sales):
        names = {spec.number: spec.name for spec in partner_specs}
        rows = [
            ("superuser", f"{SUPERUSER[0]}@{DOMAIN}", "Django admin"),
            ("channel manager", f"{DEMO_MANAGER[0]}@{DOMAIN}", "Manager UI"),
        ]
        rows += [(f"partner {role}", spec.email, names[number]) for spec, number, role in login_specs]
        width = max(len(row[1]) for row in rows)
        self.stdout.write(f"Demo logins (password for all: {PASSWORD})")
        self.stdout.write(f"  {'role':<15}  {'login':<{width}}  where / company")
        for role, login, where in rows:
            self.stdout.write(f"  {role:<15}  {login:<{width}}  {where}")
        self.stdout.write(f"  Account managers: {', '.join(f'{key}@{DOMAIN}' for key, *_rest in ACCOUNT_MANAGERS)}")
        if sales:
            self.stdout.write(
                f"Sales history: {sales['lines']:,} lines of {sales['partners']} partners, {sales['first']:%Y-%m} to "
                f"{sales['last']:%Y-%m}, imported through the import service ({sales['engine']} engine) in {sales['seconds']:.1f} s."
            )
        else:
            self.stdout.write(f'Sales history: demo sales (source "{SALES_SOURCE}") exist already; left as they are.')
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Created {summary}."))
