from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares and no app owns; an app only for its templates and template tags."""

    name = "core"
    verbose_name = "Core"
