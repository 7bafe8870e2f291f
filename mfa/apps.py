import importlib.util

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = _("Second factors")
    default_auto_field = "django.db.models.BigAutoField"

    # What the mfa app imports beyond the package's own dependencies: its extra.
    EXTRA_MODULES = ("pyotp", "segno", "cryptography")

    def __init__(self, app_name, app_module):
        super().__init__(app_name, app_module)
        missing = [module for module in self.EXTRA_MODULES if importlib.util.find_spec(module) is None]
        if missing:
            raise ImproperlyConfigured(
                f"The mfa app needs {', '.join(missing)}: pip install 'django-auth-service[mfa]', or remove "
                "\"mfa\" from INSTALLED_APPS.")

    def ready(self) -> None:
        from accounts import second_factor

        from . import checks, emails, errors, events, limits  # noqa: F401  (checks; codes, events, emails declared)
        from .flows import MfaSecondFactor

        # From now on a login or a reauthentication of a user with a factor asks for it (accounts.second_factor).
        second_factor.register(MfaSecondFactor())
