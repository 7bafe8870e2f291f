"""The provider's routes: a login page for the resource owner, django-oauth-toolkit under /o/ (authorize,
token, revoke_token, introspect, OIDC discovery and JWKS, the user's authorized tokens) and one protected
resource."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .views import Me

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/me/", Me.as_view(), name="me"),
]
