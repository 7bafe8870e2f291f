"""Headers for an answer, set before there is one. Free of DRF's views, so that an authentication class (which DRF's
settings import while its views load) can use it."""


def add_answer_header(request, name: str, value: str) -> None:
    """A header for the answer to `request` (DRF's), from a step that runs before there is an answer: an
    authentication class, a check of the request's proof. Kept in the view's `headers`, which DRF's APIView adds to
    whatever the view answers, success or error: every DRF view, the host project's too."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is not None:  # (a Request made by hand, outside a view, has none: nothing would answer it)
        view.headers[name] = value
