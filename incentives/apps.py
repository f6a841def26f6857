from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = _("Incentives")

    def ready(self):
        from core.schedules import register_crontabs

        from .schedules import SCHEDULES

        register_crontabs(SCHEDULES)
