"""OpenAPI (drf-spectacular) description of the authentication scheme."""
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class SessionJWTScheme(SimpleJWTScheme):
    target_class = "sessions_app.authentication.SessionJWTAuthentication"
    name = "jwtAuth"
