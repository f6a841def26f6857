"""The login form, styled for crispy and labelled with the e-mail address users know."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("E-mail or user name")
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", _("Sign in"), css_class="w-100"))
