from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners")

    def ready(self):
        from .roles import ensure_manager_group

        # Runs after auth's own post_migrate handler has created the permissions.
        post_migrate.connect(ensure_manager_group, sender=self, dispatch_uid="partners.ensure_manager_group")
