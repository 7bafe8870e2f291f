"""The language of each answer, for a site without language prefixes in its URLs.

`LanguageMiddleware` is Django's LocaleMiddleware without what only `i18n_patterns` needs: the language is the
language cookie's (set by the pages' switcher through Django's `set_language` view), else the best match of
Accept-Language among settings.LANGUAGES, else LANGUAGE_CODE; it is activated for the request, and the answer
says it in Content-Language and varies on Accept-Language. Django's middleware also looks for a language prefix
in the path, twice per request; on a JSON endpoint that lookup was two thirds of its cost (docs/how-to/
translations.md has the measurement). A host project that routes with i18n_patterns uses Django's middleware
instead: the apps work with either.

Activated on every request: Django keeps the active language per thread, so a worker would otherwise answer
with the language of whichever request it served before. That is why it goes near the top of MIDDLEWARE, above
every middleware that can answer on its own (a refused Host header, a 503 page): below it they would render in
that leftover language.
"""
from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # A page answered from the language cookie differs by Cookie too (for a shared cache).
        varies_on = ("Accept-Language", "Cookie") if settings.LANGUAGE_COOKIE_NAME in request.COOKIES \
            else ("Accept-Language",)
        if "Vary" in response:
            patch_vary_headers(response, varies_on)
        else:  # the common case on the API, without parsing anything
            response["Vary"] = ", ".join(varies_on)
        response.headers.setdefault("Content-Language", language)
        return response
