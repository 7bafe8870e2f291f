"""The admin site, wired the documented way (AccountsAdminConfig in INSTALLED_APPS replaces
"django.contrib.admin"), so that its login goes through the same credential check as the API login:
attempts per IP, failures per account and client, lockout and the device cookie.
"""
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse

from authcore.errors import ServiceError
from authcore.requestmeta import client_info, operator_acting

from . import services
from .device_cookie import device_token_from, set_device_cookie
from .forms import PasswordLengthCapMixin


class AdminLoginForm(PasswordLengthCapMixin, AdminAuthenticationForm):
    """Django's admin login form, checking the password through `services.check_credentials`. A password
    past the length cap is refused before any check, as on the API login (PasswordLengthCapMixin)."""

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email is not None and password:
            try:
                proven = services.check_credentials(
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
        return self.cleaned_data


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
            with operator_acting(request.user, client_info(request)):
                return guarded(request, *args, **kwargs)

        return as_operator

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
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
