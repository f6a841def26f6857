from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys and feedback")

    def ready(self):
        from core.schedules import register_intervals

        from .schedules import SCHEDULES

        register_intervals(SCHEDULES)
