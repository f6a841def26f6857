"""Manager UI of the partner record, the public application form, and small account pages.

Views stay thin: they parse input with a form, call one service or selector, and render.
"""

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from core.csv import safe_cell
from core.web import add_service_error, paginate, querystring_without_page

from . import selectors, services
from .forms import (
    ApplicationAcceptForm,
    ApplicationDeclineForm,
    ApplicationForm,
    ContactForm,
    InteractionForm,
    MemberInviteForm,
    PartnerForm,
)
from .models import ApplicationStatus, Contact, Membership, Partner, PartnerApplication
from .tenancy import is_channel_manager


def healthz(request):
    """Liveness for the load balancer and docker-compose: no database, no session."""
    return JsonResponse({"status": "ok"})


def home(request):
    """Send each kind of user to its own start page."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if request.is_channel_manager:
        return redirect("partners:list")
    if request.partner is not None:
        return redirect("portal:home")
    raise PermissionDenied(_("Your account is not linked to a partner company or to the channel team."))


class ManagerRequiredMixin(AccessMixin):
    """Channel managers only; `permission_required` narrows it to one model permission."""

    permission_required = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not is_channel_manager(request.user):
            raise PermissionDenied(_("This page is for channel managers."))
        if self.permission_required and not request.user.has_perm(self.permission_required):
            raise PermissionDenied(_("You do not have permission to do this."))
        return super().dispatch(request, *args, **kwargs)


class PartnerListView(ManagerRequiredMixin, View):
    def get(self, request):
        filterset = selectors.partner_list(params=request.GET, request=request)
        if not filterset.is_valid():
            messages.error(request, _("Some filters were not valid and were ignored: %(fields)s") % {"fields": ", ".join(filterset.errors)})
            filterset = selectors.partner_list(params={}, request=request)
        queryset = filterset.qs
        # Sorting on status, tier or country leaves ties: end on name and id so that pages neither
        # overlap nor skip partners, and ties read alphabetically.
        queryset = queryset.order_by(*queryset.query.order_by, "name", "pk")
        if request.GET.get("export") == "csv":
            return _partners_csv(queryset)
        return render(
            request,
            "partners/partner_list.html",
            {"filter": filterset, "page_obj": paginate(request, queryset), "querystring": querystring_without_page(request)},
        )


def _partners_csv(queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="partners.csv"'
    writer = csv.writer(response)
    writer.writerow(["external_id", "name", "partner_type", "status", "tier", "territory", "country", "account_manager", "joined_on"])
    for partner in queryset.iterator(chunk_size=500):
        row = [
            partner.external_id,
            partner.name,
            partner.partner_type,
            partner.status,
            partner.tier.name if partner.tier else "",
            partner.territory.name if partner.territory else "",
            partner.country.code,
            partner.account_manager.get_username() if partner.account_manager else "",
            partner.joined_on or "",
        ]
        writer.writerow([safe_cell(cell) for cell in row])
    return response


class PartnerDetailView(ManagerRequiredMixin, View):
    def get(self, request, pk):
        partner = _get_partner(pk)
        return render(request, "partners/partner_detail.html", _detail_context(request, partner, InteractionForm()))


def _get_partner(pk):
    try:
        return selectors.partner_detail(pk=pk)
    except Partner.DoesNotExist:
        raise Http404(_("No such partner.")) from None


def _detail_context(request, partner, interaction_form):
    timeline = paginate(request, selectors.partner_timeline(partner=partner, include_internal=True), per_page=20)
    return {"partner": partner, "timeline": timeline, "interaction_form": interaction_form}


class PartnerCreateView(ManagerRequiredMixin, View):
    permission_required = "partners.add_partner"

    def get(self, request):
        return render(request, "partners/partner_form.html", {"form": PartnerForm()})

    def post(self, request):
        form = PartnerForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            status = data.pop("status")
            try:
                partner = services.partner_create(created_by=request.user, status=status, **data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Partner %(name)s created.") % {"name": partner.name})
                return redirect("partners:detail", pk=partner.pk)
        return render(request, "partners/partner_form.html", {"form": form}, status=400)


class PartnerUpdateView(ManagerRequiredMixin, View):
    permission_required = "partners.change_partner"

    def get(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        return render(request, "partners/partner_form.html", {"form": PartnerForm(instance=partner), "partner": partner})

    def post(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        form = PartnerForm(request.POST, instance=partner)
        if form.is_valid():
            try:
                services.partner_update(partner=partner, changed_by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Partner %(name)s saved.") % {"name": form.cleaned_data["name"]})
                return redirect("partners:detail", pk=partner.pk)
        return render(request, "partners/partner_form.html", {"form": form, "partner": partner}, status=400)


class InteractionCreateView(ManagerRequiredMixin, View):
    """Log an interaction in place: HTMX swaps the form and prepends the new entry."""

    permission_required = "partners.add_interaction"

    def post(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        form = InteractionForm(request.POST)
        created = None
        if form.is_valid():
            created = services.interaction_log(partner=partner, author=request.user, **form.cleaned_data)
            form = InteractionForm()
        if request.htmx:
            return render(
                request,
                "partners/_interaction_form.html",
                {"partner": partner, "interaction_form": form, "created": created},
            )
        if created:
            messages.success(request, _("Interaction logged."))
            return redirect("partners:detail", pk=partner.pk)
        return render(request, "partners/partner_detail.html", _detail_context(request, partner, form), status=400)


class ContactFormView(ManagerRequiredMixin, View):
    permission_required = "partners.change_partner"

    def _objects(self, partner_pk, contact_pk):
        partner = get_object_or_404(Partner, pk=partner_pk)
        contact = get_object_or_404(Contact.objects.for_partner(partner), pk=contact_pk) if contact_pk else None
        return partner, contact

    def get(self, request, pk, contact_pk=None):
        partner, contact = self._objects(pk, contact_pk)
        return render(
            request, "partners/contact_form.html", {"partner": partner, "contact": contact, "form": ContactForm(instance=contact)}
        )

    def post(self, request, pk, contact_pk=None):
        partner, contact = self._objects(pk, contact_pk)
        form = ContactForm(request.POST, instance=contact or Contact(partner=partner))
        if form.is_valid():
            try:
                services.contact_save(partner=partner, contact=contact, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Contact saved."))
                return redirect("partners:detail", pk=partner.pk)
        return render(request, "partners/contact_form.html", {"partner": partner, "contact": contact, "form": form}, status=400)


class ContactDeleteView(ManagerRequiredMixin, View):
    permission_required = "partners.change_partner"

    def get(self, request, pk, contact_pk):
        partner = get_object_or_404(Partner, pk=pk)
        contact = get_object_or_404(Contact.objects.for_partner(partner), pk=contact_pk)
        return render(
            request,
            "confirm_delete.html",
            {"object": contact, "cancel_url": reverse("partners:detail", args=[partner.pk])},
        )

    def post(self, request, pk, contact_pk):
        partner = get_object_or_404(Partner, pk=pk)
        contact = get_object_or_404(Contact.objects.for_partner(partner), pk=contact_pk)
        services.contact_delete(contact=contact)
        messages.success(request, _("Contact %(name)s deleted.") % {"name": contact.full_name})
        return redirect("partners:detail", pk=partner.pk)


class MemberInviteView(ManagerRequiredMixin, View):
    permission_required = "partners.add_membership"

    def get(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        return render(request, "partners/member_invite.html", {"partner": partner, "form": MemberInviteForm()})

    def post(self, request, pk):
        partner = get_object_or_404(Partner, pk=pk)
        form = MemberInviteForm(request.POST)
        if form.is_valid():
            try:
                membership = services.membership_invite(partner=partner, invited_by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": membership.user.email})
                return redirect("partners:detail", pk=partner.pk)
        return render(request, "partners/member_invite.html", {"partner": partner, "form": form}, status=400)


@require_POST
def member_set_active(request, pk, membership_pk):
    """Deactivate or reactivate a portal user of a partner (manager UI)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_channel_manager(request.user) or not request.user.has_perm("partners.change_membership"):
        raise PermissionDenied
    partner = get_object_or_404(Partner, pk=pk)
    membership = get_object_or_404(Membership.objects.for_partner(partner).select_related("user", "partner"), pk=membership_pk)
    active = request.POST.get("active") == "1"
    try:
        services.membership_set_active(membership=membership, active=active, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        name = membership.user.get_full_name() or membership.user.email
        messages.success(request, (_("%(name)s can sign in again.") if active else _("%(name)s can no longer sign in.")) % {"name": name})
    return redirect("partners:detail", pk=partner.pk)


class MemberResendInvitationView(ManagerRequiredMixin, View):
    permission_required = "partners.add_membership"

    def post(self, request, pk, membership_pk):
        partner = get_object_or_404(Partner, pk=pk)
        membership = get_object_or_404(Membership.objects.for_partner(partner).select_related("user"), pk=membership_pk)
        try:
            services.membership_resend_invitation(membership=membership, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The invitation was sent again to %(email)s.") % {"email": membership.user.email})
        return redirect("partners:detail", pk=partner.pk)


class ApplicationListView(ManagerRequiredMixin, View):
    permission_required = "partners.view_partnerapplication"

    def get(self, request):
        status = request.GET.get("status", ApplicationStatus.PENDING)
        if status not in ApplicationStatus.values and status != "all":
            status = ApplicationStatus.PENDING
        applications = selectors.application_list(status=None if status == "all" else status)
        return render(
            request,
            "partners/application_list.html",
            {
                "page_obj": paginate(request, applications),
                "status": status,
                "statuses": ApplicationStatus.choices,
                "counts": selectors.application_counts(),
                "querystring": querystring_without_page(request),
            },
        )


class ApplicationDetailView(ManagerRequiredMixin, View):
    permission_required = "partners.view_partnerapplication"

    def get(self, request, pk):
        application = get_object_or_404(PartnerApplication.objects.select_related("decided_by", "partner"), pk=pk)
        return render(
            request,
            "partners/application_detail.html",
            {"application": application, "accept_form": ApplicationAcceptForm(), "decline_form": ApplicationDeclineForm()},
        )


class ApplicationDecideView(ManagerRequiredMixin, View):
    """Accept or decline a pending application (POST only, after the page's confirmation)."""

    permission_required = "partners.change_partnerapplication"
    decision = None

    def post(self, request, pk):
        application = get_object_or_404(PartnerApplication, pk=pk)
        if not request.user.has_perm("partners.add_partner"):
            raise PermissionDenied
        accept_form = ApplicationAcceptForm(request.POST if self.decision == "accept" else None)
        decline_form = ApplicationDeclineForm(request.POST if self.decision == "decline" else None)
        form = accept_form if self.decision == "accept" else decline_form
        if form.is_valid():
            try:
                if self.decision == "accept":
                    partner = services.application_accept(application=application, accepted_by=request.user, **form.cleaned_data)
                    messages.success(
                        request,
                        _("%(name)s is now a partner; an invitation was sent to %(email)s.")
                        % {"name": partner.name, "email": application.email},
                    )
                    return redirect("partners:detail", pk=partner.pk)
                services.application_decline(application=application, declined_by=request.user, reason=form.cleaned_data["decline_reason"])
                messages.success(request, _("The application was declined and the applicant informed."))
                return redirect("partners:applications")
            except ValidationError as error:
                add_service_error(form, error)
        application.refresh_from_db()
        return render(
            request,
            "partners/application_detail.html",
            {"application": application, "accept_form": accept_form, "decline_form": decline_form},
            status=400,
        )


class ApplyView(View):
    """The public "become a partner" form."""

    def get(self, request):
        return render(request, "partners/apply.html", {"form": ApplicationForm()})

    def post(self, request):
        form = ApplicationForm(request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in ("website_url", "accept_terms")}
            try:
                services.application_submit(**data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return redirect("apply_thanks")
        return render(request, "partners/apply.html", {"form": form}, status=400)


def apply_thanks(request):
    return render(request, "partners/apply_thanks.html")


class ApiTokenView(View):
    """Any signed-in user can see, create or replace its own API token."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
        if not (request.is_channel_manager or request.partner is not None):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        token = Token.objects.filter(user=request.user).first()
        return render(request, "account/api_token.html", {"token": token})

    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
        messages.success(request, _("A new API token was created; the old one no longer works."))
        return redirect("api_token")
