#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that neither serve, sign nor send anything: they may run without SECRET_KEY (a throwaway
# key for this process only), like the Dockerfile's build steps. Every other command keeps the
# settings' refusal to load without SECRET_KEY when DEBUG is off.
OFFLINE_COMMANDS = {"makemigrations", "compile_locales", "makemessages", "collectstatic", "showmigrations", "sqlmigrate", "help"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command in OFFLINE_COMMANDS and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = "offline-command-throwaway-key-never-used-to-sign-anything"
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load now: Django's runner would report a settings error as AppRegistryNotReady
    except ImproperlyConfigured as error:
        sys.exit(f"ImproperlyConfigured: {error}. Production sets SECRET_KEY; development sets DEBUG=true (make run does).")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
