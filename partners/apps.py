from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from core.schedules import register_crontabs

        from .roles import ensure_manager_group
        from .schedules import SCHEDULES
        from .signals import record_portal_login

        # Runs after auth's own post_migrate handler has created the permissions.
        post_migrate.connect(ensure_manager_group, sender=self, dispatch_uid="partners.ensure_manager_group")
        register_crontabs(SCHEDULES)
        user_logged_in.connect(record_portal_login, dispatch_uid="partners.record_portal_login")
