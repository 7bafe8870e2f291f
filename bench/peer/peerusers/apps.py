from django.apps import AppConfig


class PeerUsersConfig(AppConfig):
    name = "peerusers"
    default_auto_field = "django.db.models.BigAutoField"
