"""What the `import_*` commands share: their options, the import record, a terminal progress bar, the summary.

The commands are a thin door to the import service: they record an ImportJob (channel "cli", no
copy of the file: the command streams the file from disk itself), run it in the foreground through
`sales.imports.jobs`, and report what happened. A rejected file, or rejected rows in
all-or-nothing mode (nothing was written), ends in a CommandError, so scripts see a non-zero exit.

The leading underscore keeps Django from listing this module as a command.
"""

import os
import re

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from sales.imports import ImportOptions, jobs
from sales.imports.base import STORED_ERRORS
from sales.models import ImportChannel, ImportEntity, ImportStatus

DELIMITERS = {"auto": "auto", ",": ",", ";": ";", "tab": "\t"}
BAR_WIDTH = 30
DEFAULT_SHOW = 50
# Values in error messages come from the file: never let them drive the terminal (escape sequences, \r).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(text):
    return text


def printable(value):
    return _CONTROL_CHARACTERS.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


def format_duration(delta):
    if delta is None:
        return "-"
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)} min {seconds:.0f} s"


class ProgressBar:
    """`[########------]  57% Checking rows` on one terminal line, redrawn in place with \\r."""

    def __init__(self, out, width=BAR_WIDTH):
        self.out = out
        self.width = width
        self.phase = ""
        self.percent = 0
        self.drawn = 0  # length of the line on screen, to blank out the rest of a longer previous one

    def __call__(self, phase, percent):
        self.phase = phase or self.phase
        self.percent = percent
        self._draw(ending="")

    def finish(self, phase, percent=None):
        """The final line: the bar as it ended, the outcome, and a newline for the summary below."""
        self.phase = phase
        if percent is not None:
            self.percent = percent
        self._draw(ending="\n")

    def _draw(self, ending):
        filled = round(self.width * self.percent / 100)
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {self.percent:3d}% {self.phase}".rstrip()
        self.out.write("\r" + line + " " * max(0, self.drawn - len(line)), style_func=_plain, ending=ending)
        self.out.flush()
        self.drawn = len(line)


class ImportCommand(BaseCommand):
    """Base of `import_sales`, `import_partners`, `import_customers` and `import_products`."""

    entity = None  # an ImportEntity value
    sales_options = False  # --source, --engine and --create-missing apply to sales only

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file to import (see docs/import-format.md).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, write nothing.")
        parser.add_argument(
            "--allow-partial",
            action="store_true",
            help="Write the good rows of a file that has bad ones (default: all or nothing).",
        )
        if self.sales_options:
            parser.add_argument(
                "--create-missing", action="store_true", help="Create unknown products and customers instead of rejecting the row."
            )
        parser.add_argument("--date-format", choices=["iso", "dmy"], default="iso", help="iso: YYYY-MM-DD; dmy: DD-MM-YYYY or DD.MM.YYYY.")
        parser.add_argument(
            "--decimal", choices=["auto", "point", "comma"], default="auto", help="auto: decimal comma for ;-separated files."
        )
        parser.add_argument("--delimiter", choices=list(DELIMITERS), default="auto")
        parser.add_argument(
            "--encoding", choices=["auto", "utf-8", "cp1252"], default="auto", help="auto: UTF-8 (BOM or not), else cp1252."
        )
        if self.sales_options:
            parser.add_argument("--source", default="erp", help="The system the external IDs come from (default: erp).")
            parser.add_argument("--engine", choices=["auto", "copy", "python"], default="auto")
        parser.add_argument("--user", metavar="EMAIL", help="Record the import as started by this user.")
        parser.add_argument("--show", type=int, default=DEFAULT_SHOW, metavar="N", help="Rejected rows to list (default: 50).")
        parser.add_argument("--progress", action="store_true", help="Draw the progress bar even when stderr is not a terminal.")

    def handle(self, *args, **options):
        with scopes_disabled():
            return self._import(options)

    def _import(self, options):
        path = options["file"]
        if not os.path.exists(path):
            raise CommandError(f"File not found: {path}")
        if not os.path.isfile(path):
            raise CommandError(f"Not a file: {path}")
        if options["show"] < 0:
            raise CommandError("--show must be 0 or more.")
        import_options = self._import_options(options)
        user = self._user(options["user"]) if options["user"] else None
        verbose = options["verbosity"] >= 1
        bar = ProgressBar(self.stderr) if options["progress"] or (verbose and self.stderr.isatty()) else None

        try:
            stream = open(path, "rb")  # noqa: SIM115 (closed below, after the job is recorded)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from error
        with stream:
            job = jobs.import_job_create(
                entity=self.entity,
                channel=ImportChannel.CLI,
                options=import_options,
                created_by=user,
                file_name=os.path.basename(path),
            )
            try:
                job = jobs.import_job_run(job_id=job.pk, stream=stream, size=os.fstat(stream.fileno()).st_size, on_progress=bar)
            except (Exception, KeyboardInterrupt) as error:
                # The job runner logged the error and recorded the job as failed: say so in one line.
                if bar:
                    bar.finish(str(ImportStatus.FAILED.label))
                job.refresh_from_db()
                raise CommandError(printable(job.message), returncode=130 if isinstance(error, KeyboardInterrupt) else 1) from error
            except BaseException:
                if bar:
                    bar.finish(str(ImportStatus.FAILED.label))
                raise
        rejected = jobs.is_rejected(job)
        if bar:
            bar.finish(job.get_status_display(), None if rejected else 100)

        if verbose:
            self._summary(job, import_options, rejected)
            if job.errors:
                self._rejected_rows(job, options["show"])
        if rejected:
            raise CommandError(printable(job.message) or f"Import {job.get_status_display().lower()}.")
        return None

    def _import_options(self, options):
        values = {
            "dry_run": options["dry_run"],
            "allow_partial": options["allow_partial"],
            "date_format": options["date_format"],
            "decimal": options["decimal"],
            "delimiter": DELIMITERS[options["delimiter"]],
            "encoding": options["encoding"],
        }
        if self.sales_options:
            values.update(create_missing=options["create_missing"], source=options["source"].strip(), engine=options["engine"])
        try:
            return ImportOptions(**values)
        except ValueError as error:
            raise CommandError(str(error)) from error

    @staticmethod
    def _user(email):
        email = email.strip()
        users = list(get_user_model()._default_manager.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("pk")[:2])
        if len(users) == 2:
            exact = [user for user in users if user.email == email or user.get_username() == email]
            users = exact[:1] if len(exact) == 1 else users
        if not users:
            raise CommandError(f"No user has the e-mail address {email}.")
        if len(users) > 1:
            raise CommandError(f"More than one user matches {email}; give the exact address.")
        return users[0]

    def _summary(self, job, options, rejected):
        title = f"{ImportEntity(job.entity).label} import #{job.pk} of {printable(job.file_name)}"
        if options.dry_run:
            title += " (dry run: the counts are what would be written)"
        width = 12
        rows = [
            ("rows", f"{job.rows_total:,}"),
            ("created", f"{job.rows_created:,}"),
            ("updated", f"{job.rows_updated:,}"),
            ("unchanged", f"{job.rows_unchanged:,}"),
            ("rejected", f"{job.rows_rejected:,}"),
        ]
        figures = max(len(value) for _name, value in rows)
        self.stdout.write(title)
        for name, value in rows:
            self.stdout.write(f"  {name:<{width}}{value:>{figures}}")
        self.stdout.write(f"  {'duration':<{width}}{format_duration(job.duration)}")
        style = self.style.ERROR if rejected else self.style.WARNING if job.rows_rejected else self.style.SUCCESS
        outcome = printable(job.message) or job.get_status_display()
        if rejected and job.message:
            outcome = f"{job.get_status_display()}: {outcome}"
        self.stdout.write(f"  {'outcome':<{width}}" + style(outcome))

    def _rejected_rows(self, job, show):
        errors = job.errors
        shown = errors[:show]
        if shown:
            table = [
                (str(error.get("line", "")), printable(error.get("column", "")), printable(error.get("reason", ""))) for error in shown
            ]
            line_width = max(len("line"), *(len(line) for line, _column, _reason in table))
            column_width = max(len("column"), *(len(column) for _line, column, _reason in table))
            self.stdout.write("")
            self.stdout.write("Rejected rows:")
            self.stdout.write(f"  {'line':>{line_width}}  {'column':<{column_width}}  reason")
            self.stdout.write(f"  {'-' * line_width}  {'-' * column_width}  {'-' * 6}")
            for line, column, reason in table:
                self.stdout.write(f"  {line:>{line_width}}  {column:<{column_width}}  {reason}")
        hidden = len(errors) - len(shown)
        if hidden:
            more = ngettext("… and %(count)s more problem", "… and %(count)s more problems", hidden) % {"count": f"{hidden:,}"}
            if len(errors) >= STORED_ERRORS:
                more += " " + ngettext(
                    "(only the first %(stored)s problems are kept; %(count)s row was rejected in all)",
                    "(only the first %(stored)s problems are kept; %(count)s rows were rejected in all)",
                    job.rows_rejected,
                ) % {"stored": f"{STORED_ERRORS:,}", "count": f"{job.rows_rejected:,}"}
            self.stdout.write(more)
