"""An upload handler that enforces the import size limit while the request body streams in.

Django's own handlers write the whole upload to memory or a temporary file before a form can look
at its size. `ImportSizeLimitHandler` goes first in `request.upload_handlers`: it refuses at the first
byte of the file when the announced request size already exceeds the limit, and otherwise counts the
file's bytes and stops the upload as soon as the count passes the limit, so the handlers after it
(memory, temporary file) never hold more than the limit. Stopping drops the part of the file already
received; the rest of the body is read and thrown away (not stored), so that the browser gets the
page with the error instead of a reset connection. The form fields sent before the file are kept.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Room for the multipart envelope around the file: boundaries, part headers and the small form fields.
ENVELOPE_ALLOWANCE = 64 * 1024


class ImportSizeLimitHandler(FileUploadHandler):
    """Stop an upload whose file is larger than `limit` bytes; `refused` tells the view it happened."""

    def __init__(self, request=None, limit=None):
        super().__init__(request)
        self.limit = settings.PARTNERLOOP_IMPORT_MAX_BYTES if limit is None else limit
        self.request_size = None  # the Content-Length of the request body
        self.received = 0  # file bytes seen, including the chunk that passed the limit
        self.refused = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_size = content_length

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.request_size is not None and self.request_size > self.limit + ENVELOPE_ALLOWANCE:
            self._refuse()

    def receive_data_chunk(self, raw_data, start):
        self.received = start + len(raw_data)
        if self.received > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) returns the file

    def _refuse(self):
        self.refused = True
        raise StopUpload(connection_reset=False)

    @property
    def size_shown(self):
        """The size to name in the error: the request body, which exceeds the file only by its envelope."""
        return max(self.request_size or 0, self.received)
