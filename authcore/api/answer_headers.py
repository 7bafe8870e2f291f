"""Headers for an answer, set before there is one. Free of DRF's views, so that an authentication class (which DRF's
settings import while its views load) can use it."""

ANSWER_HEADERS = "authcore_answer_headers"


def add_answer_header(request, name: str, value: str) -> None:
    """A header for the answer to `request`, from a step that runs before there is an answer (authentication, a
    check of the request's proof): JSONAPIView adds it to whatever it answers, success or error. `request`: DRF's
    or Django's."""
    django_request = getattr(request, "_request", request)
    django_request.__dict__.setdefault(ANSWER_HEADERS, {})[name] = value
