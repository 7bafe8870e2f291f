"""The language of each answer, for a site without language prefixes in its URLs.

`LanguageMiddleware` is Django's LocaleMiddleware without what only `i18n_patterns` needs: the language is the
language cookie's (set by the pages' switcher through Django's `set_language` view), else the best match of
Accept-Language among settings.LANGUAGES, else LANGUAGE_CODE; it is activated for the request, and the answer
says it in Content-Language and varies on Accept-Language. Django's middleware also looks for a language prefix
in the path, twice per request; on a JSON endpoint that lookup was two thirds of its cost (docs/how-to/
translations.md has the measurement). A host project that routes with i18n_patterns uses Django's middleware
instead: the apps work with either.

Activated on every request, never left as it is: Django keeps the active language per thread, so a worker
would otherwise answer with the language of whichever request it served before.
"""
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
        if "Vary" in response:
            patch_vary_headers(response, ("Accept-Language",))
        else:  # the common case on the API, without parsing anything
            response["Vary"] = "Accept-Language"
        response.headers.setdefault("Content-Language", language)
        return response
