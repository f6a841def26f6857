"""Admin building blocks every app shares."""

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse


class ReadOnlyInline(admin.TabularInline):
    """History rows shown under an object: to read, never to add, change or delete."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only the code writes (rollups, import records, ledgers, audit entries): view them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose saves and deletes go through the owning app's services, so the admin gets the
    same checks and the same audit entry as the manager pages.

    Subclasses implement `service_save(request, obj, form, change)` (returning the saved object) and
    `service_delete(request, obj)`. A service's ValidationError undoes the whole change (the admin's
    transaction rolls back, inlines included) and comes back as an error message on the page;
    bulk deletion is switched off so every delete passes the service one object at a time.
    """

    def service_save(self, request, obj, form, change):
        raise ImproperlyConfigured(f"{type(self).__name__} must define service_save(request, obj, form, change).")

    def service_delete(self, request, obj):
        raise ImproperlyConfigured(f"{type(self).__name__} must define service_delete(request, obj).")

    def save_model(self, request, obj, form, change):
        saved = self.service_save(request, obj, form, change)
        if saved is not None and saved is not obj:
            obj.pk = saved.pk
            obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The service set the many-to-many fields already; only the inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _refused(self, request, error, url):
        self.message_user(request, " ".join(error.messages), messages.ERROR)
        return HttpResponseRedirect(url)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            return self._refused(request, error, request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            opts = self.model._meta
            return self._refused(request, error, reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))
