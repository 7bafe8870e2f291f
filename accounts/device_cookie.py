"""The device cookie: how a browser or app shows that it has logged in to an account before, so that
failures from elsewhere do not lock it out (accounts/login_throttle.py). The API login and the admin
login set it after a successful login and read it on the next attempt.

HttpOnly (scripts never see it), Secure outside DEBUG, SameSite=Strict (no other site can make a browser
send it), path "/" so that both logins receive it. A signed value names the account and a random device
id; it proves nothing on its own, it only spares that device the account-wide lockout.
"""
from django.conf import settings

from .conf import app_settings


def device_token_from(request) -> str | None:
    return request.COOKIES.get(app_settings.DEVICE_COOKIE_NAME)


def set_device_cookie(response, token: str) -> None:
    response.set_cookie(
        app_settings.DEVICE_COOKIE_NAME, token, max_age=int(app_settings.DEVICE_COOKIE_AGE.total_seconds()),
        path="/", secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Strict",
    )
