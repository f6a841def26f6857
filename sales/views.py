"""Manager UI of the import service: the list of every import, the upload form, and the job page.

The upload stores the file with a new ImportJob and enqueues `run_import_job` after commit; the job
page polls the progress partial every second (HTMX) until the job is finished, when the partial
answers with the result and no polling attributes, so the polling stops. Imports from the CLI and
the bulk API are ImportJobs too and show up in the same list.
"""

import csv
import logging

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core.csv import safe_cell
from core.web import paginate, querystring_without_page
from partners.views import ManagerRequiredMixin

from .forms import ImportFilterForm, ImportUploadForm
from .imports import columns_for, jobs
from .imports.base import STORED_ERRORS
from .models import ImportChannel, ImportEntity, ImportJob
from .tasks import run_import_job
from .uploads import ImportSizeLimitHandler

logger = logging.getLogger(__name__)
ERRORS_SHOWN = 200  # rejected rows listed on the job page; the CSV download has all the stored ones


def duration_text(duration):
    """'0.4 s', '2 min 05 s', '1 h 02 min' (localised decimal), or '' for a job that has not finished."""
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 0.05:
        return _("under 0.1 s")
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": number_format(round(seconds, 1), decimal_pos=1)}
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": f"{seconds:02d}"}
    hours, minutes = divmod(minutes, 60)
    return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": f"{minutes:02d}"}


def _import_list(*, entity=None, status=None, channel=None):
    """Every import, newest first, with who started it; the stored rejected rows stay in the database."""
    queryset = ImportJob.objects.select_related("created_by").defer("errors", "options")
    if entity:
        queryset = queryset.filter(entity=entity)
    if status:
        queryset = queryset.filter(status=status)
    if channel:
        queryset = queryset.filter(channel=channel)
    return queryset


def _status_context(job):
    """What the progress partial needs: the live bar while the job runs, the result once it is finished."""
    phase, percent = jobs.progress_of(job)
    errors = job.errors if job.is_finished else []
    return {
        "job": job,
        "rejected": jobs.is_rejected(job),
        "phase": phase,
        "percent": percent,
        "duration": duration_text(job.duration),
        "errors": errors[:ERRORS_SHOWN],
        "errors_stored": len(errors),
        "errors_more": max(len(errors) - ERRORS_SHOWN, 0),
        "errors_capped": len(errors) >= STORED_ERRORS,
    }


class ImportListView(ManagerRequiredMixin, View):
    permission_required = "sales.view_importjob"

    def get(self, request):
        filter_form = ImportFilterForm(request.GET)
        filters = filter_form.filters()
        page_obj = paginate(request, _import_list(**filters))
        for job in page_obj:
            job.duration_text = duration_text(job.duration)
        return render(
            request,
            "sales/imports/list.html",
            {
                "page_obj": page_obj,
                "filter_form": filter_form,
                "filtered": bool(filters),
                "querystring": querystring_without_page(request),
            },
        )


@method_decorator(csrf_exempt, name="dispatch")
class ImportCreateView(ManagerRequiredMixin, View):
    """The upload form; a valid upload becomes a pending job that a worker runs after commit.

    CSRF: the middleware would read the body before `post` can add the size-limit upload handler,
    so the view is exempt from it and `_create` runs the same check itself (django docs, "Modifying
    upload handlers on the fly").
    """

    permission_required = "sales.add_importjob"

    def get(self, request):
        entity = request.GET.get("entity")
        form = ImportUploadForm(initial={"entity": entity} if entity in ImportEntity.values else None)
        return render(request, "sales/imports/new.html", _upload_context(form))

    def post(self, request):
        # Before anything reads the body: the size limit then bites while the upload streams in.
        limiter = ImportSizeLimitHandler(request)
        request.upload_handlers.insert(0, limiter)
        return self._create(request, limiter)

    @method_decorator(csrf_protect)
    def _create(self, request, limiter):
        """The CSRF check reads the body, through `limiter`; the form sends its CSRF token before the file."""
        data, files = request.POST, request.FILES  # parsed by now, through `limiter`
        form = ImportUploadForm(data, files, refused_size=limiter.size_shown if limiter.refused else None)
        if not form.is_valid():
            return render(request, "sales/imports/new.html", _upload_context(form), status=400)
        upload = form.cleaned_data["file"]
        job = jobs.import_job_create(
            entity=form.cleaned_data["entity"],
            channel=ImportChannel.UPLOAD,
            options=form.options(),
            created_by=request.user,
            file_name=upload.name,
            content=upload,
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
        return redirect("sales:import_detail", pk=job.pk)


def _enqueue(job_id):
    """Hand the job to a worker. The job is recorded whatever happens here: a queue that cannot be
    reached fails the job (instead of leaving it waiting forever), and when tasks run eagerly (no
    broker) an import that fails is marked "failed" on the job page instead of a 500 here."""
    try:
        run_import_job.delay(job_id=job_id)
    except Exception:
        logger.exception("Import %s: could not run or queue its task", job_id)
        jobs.fail_unqueued(job_id=job_id)


def _upload_context(form):
    formats = []
    for value, label in ImportEntity.choices:
        required, optional = columns_for(value)
        formats.append({"entity": value, "label": label, "required": required, "optional": optional})
    return {"form": form, "formats": formats}


class ImportDetailView(ManagerRequiredMixin, View):
    permission_required = "sales.view_importjob"

    def get(self, request, pk):
        job = jobs.fail_if_stale(get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk))
        return render(request, "sales/imports/detail.html", _status_context(job))


@method_decorator(never_cache, name="dispatch")
class ImportProgressView(ManagerRequiredMixin, View):
    """The HTMX partial the job page polls: the bar while the job runs, the result (no polling) after."""

    permission_required = "sales.view_importjob"

    def get(self, request, pk):
        job = jobs.fail_if_stale(get_object_or_404(ImportJob, pk=pk))
        return render(request, "sales/imports/_progress.html", _status_context(job))


class ImportErrorsCsvView(ManagerRequiredMixin, View):
    """Every stored rejected row of a job as CSV: line, column, reason."""

    permission_required = "sales.view_importjob"

    def get(self, request, pk):
        job = get_object_or_404(ImportJob.objects.only("pk", "entity", "errors"), pk=pk)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-{job.entity}-rejected-rows.csv"'
        writer = csv.writer(response)
        writer.writerow(["line", "column", "reason"])
        for error in job.errors:
            # Values quoted from the file end up in the reason: neutralise spreadsheet formulas.
            writer.writerow([safe_cell(error.get(key, "")) for key in ("line", "column", "reason")])
        return response
