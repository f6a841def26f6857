"""Every write of the partner record: one keyword-only function per use case.

Services own the transaction, the business rules and the timeline entry that records what
happened. Callers (views, API, commands) only parse input and call one of these.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tasks import enqueue_after_commit

from .models import (
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
)

User = get_user_model()

PARTNER_FIELDS = (
    "name",
    "legal_name",
    "parent",
    "partner_type",
    "tier",
    "territory",
    "country",
    "account_manager",
    "joined_on",
    "churned_on",
    "website",
    "external_id",
)


def _record_status_change(*, partner, from_status, to_status, changed_by, when):
    PartnerStatusChange.objects.create(
        partner=partner, from_status=from_status, to_status=to_status, changed_by=changed_by, changed_at=when
    )
    labels = dict(PartnerStatus.choices)
    Interaction.objects.create(
        partner=partner,
        kind=InteractionKind.STATUS_CHANGED,
        occurred_at=when,
        author=changed_by,
        summary=_("Status changed from %(old)s to %(new)s") % {"old": labels.get(from_status, "-"), "new": labels[to_status]}
        if from_status
        else _("Partner created with status %(new)s") % {"new": labels[to_status]},
        is_internal=True,
    )


def _apply_status_dates(partner, status, today):
    if status == PartnerStatus.ACTIVE and partner.joined_on is None:
        partner.joined_on = today
    if status == PartnerStatus.CHURNED and partner.churned_on is None:
        partner.churned_on = today
    if status != PartnerStatus.CHURNED:
        partner.churned_on = None


@transaction.atomic
def partner_create(*, created_by=None, status=PartnerStatus.ONBOARDING, **fields) -> Partner:
    unknown = set(fields) - set(PARTNER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown partner fields: {sorted(unknown)}")
    now = timezone.now()
    partner = Partner(status=status, status_changed_at=now, **fields)
    _apply_status_dates(partner, status, timezone.localdate(now))
    partner.full_clean()
    partner.save()
    _record_status_change(partner=partner, from_status="", to_status=status, changed_by=created_by, when=now)
    return partner


@transaction.atomic
def partner_update(*, partner: Partner, changed_by=None, **fields) -> Partner:
    """Update fields; a change of `status` is dated and written to the timeline."""
    new_status = fields.pop("status", None)
    unknown = set(fields) - set(PARTNER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown partner fields: {sorted(unknown)}")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if new_status is None:
        new_status = partner.status  # the locked row's status, not a possibly stale copy's
    for name, value in fields.items():
        setattr(partner, name, value)
    old_status = partner.status
    now = timezone.now()
    if new_status != old_status:
        partner.status = new_status
        partner.status_changed_at = now
        _apply_status_dates(partner, new_status, timezone.localdate(now))
    partner.full_clean()
    partner.save()
    if new_status != old_status:
        _record_status_change(partner=partner, from_status=old_status, to_status=new_status, changed_by=changed_by, when=now)
    return partner


@transaction.atomic
def contact_save(*, partner: Partner, contact: Contact | None = None, **fields) -> Contact:
    """Create or update a contact; making it primary demotes the previous primary contact."""
    contact = contact or Contact(partner=partner)
    if contact.partner_id != partner.pk:
        raise ValidationError(_("This contact belongs to another partner."))
    for name, value in fields.items():
        setattr(contact, name, value)
    if contact.is_primary:
        Contact.objects.filter(partner=partner, is_primary=True).exclude(pk=contact.pk).update(is_primary=False)
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    contact.delete()


def interaction_log(
    *, partner: Partner, author, kind: str, summary: str, details: str = "", occurred_at=None, is_internal=False
) -> Interaction:
    interaction = Interaction(
        partner=partner,
        author=author,
        kind=kind,
        summary=summary,
        details=details,
        occurred_at=occurred_at or timezone.now(),
        is_internal=is_internal,
    )
    interaction.full_clean()
    interaction.save()
    return interaction


@transaction.atomic
def membership_invite(*, partner: Partner, email: str, first_name: str, last_name: str, role: str, invited_by) -> Membership:
    """Create a portal user for `partner` and e-mail them a link to choose a password."""
    from .tasks import send_portal_invitation

    email = User.objects.normalize_email(email).strip().lower()  # the user name; sign-in ignores case too
    if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
        raise ValidationError({"email": _("A user with this e-mail address already exists.")})
    if role not in MembershipRole.values:
        raise ValidationError({"role": _("Unknown role.")})
    user = User(username=email, email=email, first_name=first_name, last_name=last_name, is_staff=False)
    user.set_unusable_password()
    user.save()
    membership = Membership.objects.create(user=user, partner=partner, role=role, invited_by=invited_by)
    interaction_log(
        partner=partner,
        author=invited_by,
        kind=InteractionKind.NOTE,
        summary=_("%(name)s was invited to the portal") % {"name": f"{first_name} {last_name}".strip() or email},
        is_internal=False,
    )
    enqueue_after_commit(send_portal_invitation, user_id=user.pk, invited_by_id=getattr(invited_by, "pk", None))
    return membership


def membership_resend_invitation(*, membership: Membership, by) -> Membership:
    """E-mail a fresh set-password link to someone who never accepted their invitation."""
    from .tasks import send_portal_invitation

    user = membership.user
    if not user.is_active:
        raise ValidationError(_("This user is deactivated; reactivate them first."))
    if user.has_usable_password():
        raise ValidationError(_("%(email)s has already chosen a password; they can use “Forgot your password?”.") % {"email": user.email})
    enqueue_after_commit(send_portal_invitation, user_id=user.pk, invited_by_id=getattr(by, "pk", None))
    return membership


def _lock_partner(partner_id):
    """Serialise changes to one partner's admins: without it, two admins deactivating each other
    at the same moment both see the other as "still active" and the partner is locked out."""
    Partner._base_manager.select_for_update().get(pk=partner_id)


def _active_admin_count(partner, excluding=None):
    qs = Membership.objects.filter(partner=partner, role=MembershipRole.ADMIN, user__is_active=True)
    if excluding is not None:
        qs = qs.exclude(pk=excluding.pk)
    return qs.count()


@transaction.atomic
def membership_set_active(*, membership: Membership, active: bool, by) -> Membership:
    """Deactivate or reactivate a colleague's portal access (their history stays)."""
    _lock_partner(membership.partner_id)
    if not active:
        if membership.user_id == getattr(by, "pk", None):
            raise ValidationError(_("You cannot deactivate your own access."))
        if membership.is_admin and _active_admin_count(membership.partner, excluding=membership) == 0:
            raise ValidationError(_("A partner needs at least one active partner admin."))
    user = membership.user
    user.is_active = active
    user.save(update_fields=["is_active"])
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by) -> Membership:
    if role not in MembershipRole.values:
        raise ValidationError({"role": _("Unknown role.")})
    _lock_partner(membership.partner_id)
    if membership.is_admin and role != MembershipRole.ADMIN and _active_admin_count(membership.partner, excluding=membership) == 0:
        raise ValidationError(_("A partner needs at least one active partner admin."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def application_submit(**fields) -> PartnerApplication:
    from .tasks import notify_managers_of_application

    application = PartnerApplication(**fields)
    application.full_clean()
    application.save()
    enqueue_after_commit(notify_managers_of_application, application_id=application.pk)
    return application


def _claim_pending(application, new_status, by):
    """Compare-and-set so two managers deciding at once cannot both win."""
    claimed = PartnerApplication.objects.filter(pk=application.pk, status=ApplicationStatus.PENDING).update(
        status=new_status, decided_by=by, decided_at=timezone.now()
    )
    if not claimed:
        raise ValidationError(_("This application has already been decided."))
    application.refresh_from_db()


@transaction.atomic
def application_accept(*, application: PartnerApplication, accepted_by, tier=None, territory=None, account_manager=None) -> Partner:
    """Turn an application into a partner, its primary contact and its first portal admin."""
    _claim_pending(application, ApplicationStatus.ACCEPTED, accepted_by)
    partner = partner_create(
        created_by=accepted_by,
        status=PartnerStatus.ONBOARDING,
        name=application.company_name,
        legal_name=application.legal_name,
        partner_type=application.partner_type,
        country=application.country,
        website=application.website,
        tier=tier,
        territory=territory,
        account_manager=account_manager or accepted_by,
    )
    contact_save(
        partner=partner,
        first_name=application.first_name,
        last_name=application.last_name,
        email=application.email,
        phone=application.phone,
        role=_("Applicant"),
        is_primary=True,
    )
    membership_invite(
        partner=partner,
        email=application.email,
        first_name=application.first_name,
        last_name=application.last_name,
        role=MembershipRole.ADMIN,
        invited_by=accepted_by,
    )
    application.partner = partner
    application.save(update_fields=["partner"])
    return partner


@transaction.atomic
def application_decline(*, application: PartnerApplication, declined_by, reason: str) -> PartnerApplication:
    from .tasks import send_application_declined

    if not reason.strip():
        raise ValidationError({"decline_reason": _("Give the applicant a reason.")})
    _claim_pending(application, ApplicationStatus.DECLINED, declined_by)
    application.decline_reason = reason.strip()
    application.save(update_fields=["decline_reason"])
    enqueue_after_commit(send_application_declined, application_id=application.pk)
    return application
