"""What every import takes and returns, whichever door (CLI, upload, API) it came through."""

from dataclasses import dataclass, field

from django.conf import settings

STORED_ERRORS = 10_000  # rejected rows kept on the import record; the count is always exact


@dataclass
class ImportOptions:
    dry_run: bool = False
    create_missing: bool = False  # sales: create unknown products and customers instead of rejecting the row
    allow_partial: bool = False  # write the good rows of a file that has bad ones (default: all or nothing)
    date_format: str = "iso"  # "iso" (YYYY-MM-DD) or "dmy" (DD-MM-YYYY, DD.MM.YYYY, DD/MM/YYYY)
    decimal: str = "auto"  # "auto" (comma for ;-separated files), "point" or "comma"
    delimiter: str = "auto"
    encoding: str = "auto"  # "auto" (UTF-8 with or without BOM, else Windows-1252), "utf-8" or "cp1252"
    source: str = "erp"  # sales: the system the external IDs come from
    engine: str = "auto"  # sales: "copy" (PostgreSQL), "python", or "auto"

    VALID = {
        "date_format": ("iso", "dmy"),
        "decimal": ("auto", "point", "comma"),
        "delimiter": ("auto", ",", ";", "\t"),
        "encoding": ("auto", "utf-8", "cp1252"),
        "engine": ("auto", "copy", "python"),
    }

    def __post_init__(self):
        for name, allowed in self.VALID.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}")
        if not self.source or len(self.source) > 40:
            raise ValueError("source must be 1 to 40 characters")

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def resolved_engine(self, vendor):
        if self.engine == "auto":
            return "copy" if vendor == "postgresql" and getattr(settings, "PARTNERLOOP_IMPORT_COPY", True) else "python"
        return self.engine


@dataclass
class ImportResult:
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list = field(default_factory=list)  # RowError, at most STORED_ERRORS of them
    error_count: int = 0
    written: bool = False
    dry_run: bool = False

    @property
    def ok(self):
        return self.error_count == 0


class Progress:
    """Reports phases and a 0-100 figure to whoever watches (a terminal bar, an import record)."""

    def __init__(self, callback=None):
        self.callback = callback
        self.last = -1

    def __call__(self, phase, percent):
        percent = max(0, min(100, int(percent)))
        if self.callback and (percent != self.last or phase):
            self.callback(phase, percent)
        self.last = percent

    def bytes(self, phase, start, end):
        """A callback for a byte stream that maps its progress into [start, end] percent."""

        def report(done, total):
            figure = start + (end - start) * (done / total if total else 1)
            if int(figure) != self.last:
                self(phase, figure)

        return report
