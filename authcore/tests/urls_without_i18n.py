"""A host URLconf that mounts the account pages but not django.conf.urls.i18n (no set_language view)."""
from django.urls import include, path

urlpatterns = [path("accounts/", include("accounts.urls"))]
