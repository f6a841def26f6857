"""Admin building blocks every app shares."""

from django.contrib import admin


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
