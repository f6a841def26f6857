"""`manage.py compile_locales`: compile the message catalogues without GNU gettext.

Django's own `compilemessages` shells out to `msgfmt`, which a slim container or a fresh machine
does not have. This does the same for every `locale/<lang>/LC_MESSAGES/*.po` under
`settings.LOCALE_PATHS` with the pure-Python `polib`. Like `msgfmt`, it leaves fuzzy and obsolete
entries out, and like `msgfmt --check-format` it refuses a translation whose placeholders would
break at run time.
"""

import os
import re
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# %(name)s style and bare %s/%d style placeholders ("%%" is a literal percent sign).
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]+)\))?[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])")


def _placeholders(text):
    named, positional = set(), 0
    for match in _PLACEHOLDER.finditer(text):
        if match["type"] == "%":
            continue
        if match["name"] is not None:
            named.add(match["name"])
        else:
            positional += 1
    return named, positional


def _format_errors(entry):
    """Translations of a python-format entry that would raise when Django formats them."""
    if "python-format" not in entry.flags or entry.fuzzy or entry.obsolete:
        return []
    source_named, source_positional = _placeholders(entry.msgid)
    if entry.msgid_plural:
        plural_named, plural_positional = _placeholders(entry.msgid_plural)
        source_named |= plural_named
        source_positional = max(source_positional, plural_positional)
    translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
    errors = []
    for translation in translations:
        if not translation:
            continue
        named, positional = _placeholders(translation)
        unknown = named - source_named
        if unknown:
            errors.append(f"unknown placeholder(s) {', '.join(sorted(unknown))} in the translation of {entry.msgid!r}")
        if positional != source_positional and not (entry.msgid_plural and positional < source_positional):
            errors.append(f"{positional} unnamed placeholder(s) instead of {source_positional} in the translation of {entry.msgid!r}")
    return errors


class Command(BaseCommand):
    help = "Compile every locale/*/LC_MESSAGES/*.po under LOCALE_PATHS into .mo files (pure Python, no msgfmt needed)."
    requires_system_checks = []  # also runs during the image build, before any service is up

    def handle(self, *args, **options):
        catalogues = sorted(
            po for locale_path in settings.LOCALE_PATHS for po in Path(locale_path).glob("*/LC_MESSAGES/*.po") if po.is_file()
        )
        if not catalogues:
            self.stdout.write("No message catalogues (.po) found under LOCALE_PATHS; nothing to compile.")
            return
        for po_path in catalogues:
            self._compile(po_path)
            if options["verbosity"] >= 2:
                self.stdout.write(f"  {po_path}")
        self.stdout.write(self.style.SUCCESS(f"Compiled {len(catalogues)} message catalogue(s)."))

    @staticmethod
    def _compile(po_path):
        try:
            catalogue = polib.pofile(str(po_path), wrapwidth=0)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise CommandError(f"{po_path}: cannot be read as a .po file: {error}") from error
        errors = [message for entry in catalogue for message in _format_errors(entry)]
        if errors:
            raise CommandError(f"{po_path}: " + "; ".join(errors))
        mo_path = po_path.with_suffix(".mo")
        # Write next to the target and rename, so a process starting meanwhile never reads half a file.
        handle, temporary = tempfile.mkstemp(dir=po_path.parent, prefix=".", suffix=".mo.tmp")
        os.close(handle)
        try:
            catalogue.save_as_mofile(temporary)
            os.chmod(temporary, 0o644)
            os.replace(temporary, mo_path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise CommandError(f"{po_path}: cannot write {mo_path.name}: {error}") from error
