"""The kernel of django-auth-service; the package's version lives here (semantic versioning, CHANGELOG.md)."""

__version__ = "0.1.0"
