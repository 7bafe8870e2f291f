"""What every page needs to offer a way on: the product's name and where people log in."""
from .conf import app_settings


def login_url() -> str:
    """The application's URL (ACCOUNTS["APP_URL"]), or the root of the site when none is set. The root, not a
    named view: the pages and emails must work in any host project, whatever its URLs are called."""
    return app_settings.APP_URL or app_settings.SITE_URL.rstrip("/") + "/"


def links(request) -> dict:
    """`signed_in`: this browser is signed in on the account pages (sessions_app/browser.py), so the pages
    offer the account home and a sign-out button rather than the sign-in page."""
    return {"site_name": app_settings.SITE_NAME, "app_url": app_settings.APP_URL, "login_url": login_url(),
            "signed_in": getattr(request, "browser_session_id", None) is not None}
