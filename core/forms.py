"""Form helpers every app shares (django-crispy-forms, Bootstrap 5)."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit


def form_helper(submit_label, *layout, form_tag=True):
    """A crispy helper with `layout` and a submit button (none when `submit_label` is empty)."""
    helper = FormHelper()
    helper.form_tag = form_tag
    if layout:
        helper.layout = Layout(*layout)
    if submit_label:
        helper.add_input(Submit("submit", submit_label))
    return helper
