"""What every page needs to offer a way on: the product's name and where people log in."""
from django.urls import reverse

from .conf import app_settings


def login_url() -> str:
    """The application's URL (ACCOUNTS["APP_URL"]), or this service's home page when none is set."""
    return app_settings.APP_URL or app_settings.SITE_URL.rstrip("/") + reverse("home")


def links(request) -> dict:
    return {"site_name": app_settings.SITE_NAME, "app_url": app_settings.APP_URL, "login_url": login_url()}
