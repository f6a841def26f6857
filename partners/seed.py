"""The partners' part of the demo world: users, tiers, territories, about 200 channel partners with
their status history, contacts and timeline, the partner logins and a few applications.

`seed(today, faker_class)` writes it and returns what `seed_demo` reports; `seed_demo` (demo app)
calls it first, then the seeds of the apps above (sales, surveys, incentives, kpis), which read the
partners from the database. This module imports no app above partners.

Repeatable: every random value comes from a fixed seed and is drawn up front, in the same order,
whatever is already in the database. Idempotent: tiers, territories and users are looked up by a
fixed key and created only when missing; a partner's world (the partner, its status history,
contacts and timeline) is created only when no partner has its external ID yet. A second run
therefore adds and changes nothing.

Partners are created through `partners.services` so their status history is recorded the way the
app records it; the services stamp that history with the current time, so the seed then dates it
back to the generated join, inactive and churn dates. Contacts and interactions are bulk-inserted.
"""

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import transaction
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


# --- writing ---------------------------------------------------------------------------------------


@dataclass
class PartnerWorld:
    """What `seed` did, for the report: the demo logins as (role, login, where / company) rows."""

    logins: list

    def report(self):
        """The lines `seed_demo` prints about the partners' part."""
        width = max(len(row[1]) for row in self.logins)
        lines = [f"Demo logins (password for all: {PASSWORD})", f"  {'role':<15}  {'login':<{width}}  where / company"]
        lines += [f"  {role:<15}  {login:<{width}}  {where}" for role, login, where in self.logins]
        lines.append(f"  Account managers: {', '.join(f'{key}@{DOMAIN}' for key, *_rest in ACCOUNT_MANAGERS)}")
        return lines


def counts():
    """Rows of the tables this part writes, in the order `seed_demo` reports them."""
    with scopes_disabled():
        return {
            "partners": Partner.objects.count(),
            "contacts": Contact.objects.count(),
            "interactions": Interaction.objects.count(),
            "users": get_user_model().objects.count(),
            "applications": PartnerApplication.objects.count(),
        }


def seed(today, faker_class):
    """Write the partners' part of the demo world as of `today` (Faker names from `faker_class`); a PartnerWorld."""
    builder = WorldBuilder(today, faker_class)
    user_specs = builder.users()
    partner_specs = builder.partners()
    login_specs = builder.partner_logins(partner_specs)
    application_specs = builder.applications(partner_specs)

    with scopes_disabled(), transaction.atomic():
        users = _users(user_specs)
        users.update(_users(spec for spec, _number, _role in login_specs))
        partners = _partners(partner_specs, users)
        _memberships(login_specs, users, partners)
        _applications(application_specs, users, partners)

    names = {spec.number: spec.name for spec in partner_specs}
    logins = [
        ("superuser", f"{SUPERUSER[0]}@{DOMAIN}", "Django admin"),
        ("channel manager", f"{DEMO_MANAGER[0]}@{DOMAIN}", "Manager UI"),
    ]
    logins += [(f"partner {role}", spec.email, names[number]) for spec, number, role in login_specs]
    return PartnerWorld(logins)


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


def _partners(specs, users):
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
        _backdate_history(new)
        _contacts_and_timeline(new, users)
    return partners


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


def _memberships(login_specs, users, partners):
    for spec, number, role in login_specs:
        user = users[spec.key]
        if not Membership.objects.filter(user=user).exists():
            Membership.objects.create(user=user, partner=partners[f"DEMO-{number:04d}"], role=role, invited_by=users["demo-manager"])


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
