"""The admin site, wired the documented way (AccountsAdminConfig in INSTALLED_APPS replaces
"django.contrib.admin"), so that its login goes through the same credential check as the API login:
attempts per IP, failures per account and client, lockout and the device cookie.
"""
from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from authcore.errors import ServiceError
from authcore.requestmeta import ClientInfo, acting_operator, client_info, operator_acting
from sessions_app.models import Session

from . import events, second_factor
from .account_views import to_second_step
from .device_cookie import device_token_from, set_device_cookie
from .flows import login as login_flow
from .flows.reauthentication import Proof, reauthenticate
from .forms import PasswordLengthCapMixin
from .password_validation import MaximumLengthValidator

SECOND_FACTOR_FIRST = _("Set up a second factor before you open the admin.")


class AdminLoginForm(PasswordLengthCapMixin, AdminAuthenticationForm):
    """Django's admin login form, checking the password through `login_flow.check_credentials`. A password
    past the length cap is refused before any check, as on the API login (PasswordLengthCapMixin)."""

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is not None and password:
            try:
                proven = login_flow.check_credentials(
                    email=email, password=password, client=client_info(self.request),
                    device_token=device_token_from(self.request), request=self.request)
            except ServiceError as error:
                if error.code != "invalid_credentials":
                    raise  # rate_limited / service_unavailable: a page with its status (authcore.pages)
                raise self.get_invalid_login_error() from None
            self.user_cache = proven.user
            # The site sets the cookie on the response once the login has gone through.
            self.request.login_device_token = proven.device_token
            self.confirm_login_allowed(self.user_cache)  # staff only
            if proven.second_factor_methods:
                # A second factor: no login here. The sign-in page's second step finishes it, then opens the admin
                # (AccountsAdminSite.login sends the browser there).
                self.request.second_step_token = login_flow.start_second_step(
                    proven, email=email, presented_device_token=device_token_from(self.request),
                    client=client_info(self.request), transport=Session.Transport.BROWSER, device_name="")
                self.request.second_step_methods = proven.second_factor_methods
                raise ValidationError(_("Enter a code from your second factor to finish signing in."),
                                      code="mfa_required")
        return self.cleaned_data


class OperatorPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change my password" page: the old password is proven through the same reauthentication
    flow as the API's (its budget, the login lock and the ceiling), not checked here on its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Past the cap the old password is refused before it is hashed (the new ones are capped by the
        # password validators, as on Django's own form).
        self.fields["old_password"].validators.insert(0, MaximumLengthValidator())

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        operator = acting_operator()  # AccountsAdminSite.admin_view names the operator and their client
        try:
            # No session of ours: the admin signs in with Django's session, which has no Session row.
            reauthenticate(user=self.user, session_id=None, proof=Proof(password=old_password),
                           client=operator.client if operator else ClientInfo(),
                           failure_event=events.PASSWORD_CHANGE_FAIL)
        except ServiceError as error:
            if error.code != "password_incorrect":
                raise  # over a limit: a page with its status (authcore.pages)
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect") from None
        return old_password


class AccountsAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def admin_view(self, view, cacheable=False):
        """Every admin page runs with its operator named as the one acting, so that what a save does by
        itself (User.save ending sessions after a new password, say) is audited with the operator."""
        guarded = super().admin_view(view, cacheable)

        @wraps(guarded)
        def as_operator(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return guarded(request, *args, **kwargs)
            if request.user.is_staff and second_factor.missing_for(request.user):
                # The project asks staff for a second factor (MFA REQUIRE_FOR_STAFF): set one up first.
                messages.warning(request, SECOND_FACTOR_FIRST)
                return redirect(resolve_url(second_factor.installed().manage_url))
            with operator_acting(request.user, client_info(request)):
                return guarded(request, *args, **kwargs)

        return as_operator

    def password_change(self, request, extra_context=None):
        """Django's page, with OperatorPasswordChangeForm."""
        url = reverse("admin:password_change_done", current_app=self.name)
        defaults = {"form_class": OperatorPasswordChangeForm, "success_url": url,
                    "extra_context": {**self.each_context(request), **(extra_context or {})}}
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return PasswordChangeView.as_view(**defaults)(request)

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        second_step_token = getattr(request, "second_step_token", None)
        if second_step_token:
            admin_index = reverse("admin:index", current_app=self.name)
            return to_second_step(request, second_step_token, request.POST.get(REDIRECT_FIELD_NAME) or admin_index,
                                  request.second_step_methods)
        if isinstance(response, HttpResponseRedirect) and response.url == resolve_url(settings.LOGIN_REDIRECT_URL):
            # Django's LoginView falls back to LOGIN_REDIRECT_URL (the host project's, not the admin's)
            # when `next` is missing or refused as unsafe: an admin login lands on the admin index.
            asked = request.POST.get(REDIRECT_FIELD_NAME, request.GET.get(REDIRECT_FIELD_NAME))
            if asked != response.url:
                response["Location"] = reverse("admin:index", current_app=self.name)
        device_token = getattr(request, "login_device_token", None)
        if device_token and request.user.is_authenticated:
            set_device_cookie(response, device_token)
        return response
