from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo world of `make run`: `seed_demo` orchestrates each app's own seed, top down."""

    name = "demo"
    verbose_name = _("Demo data")
