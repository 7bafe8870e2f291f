"""authcore.api.negotiation.JSONFirstNegotiation gives DRF's own answer, only sooner, and leaves the rest to DRF."""
import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from authcore.api.negotiation import JSONFirstNegotiation


def request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get("/api/auth/me/" + (f"?{query}" if query else ""), **headers))


def answer(negotiation, req, renderers):
    try:
        renderer, media_type = negotiation.select_renderer(req, renderers)
    except Exception as error:  # noqa: BLE001 - the refusal is part of the answer compared
        return type(error).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json", "application/json; indent=4",
                                    "text/html", "application/xml", "text/html, application/json;q=0.9",
                                    "application/*", "image/png;q=0"])
@pytest.mark.parametrize("query", ["", "format=json", "format=api", "x=1"])
@pytest.mark.parametrize("renderers", [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()],
                                       [BrowsableAPIRenderer(), JSONRenderer()]])
def test_the_same_answer_as_drf(accept, query, renderers):
    assert answer(JSONFirstNegotiation(), request(accept, query), renderers) == \
        answer(DefaultContentNegotiation(), request(accept, query), renderers)


def test_the_common_case_skips_drfs_parsing(monkeypatch):
    parsed = []
    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list",
                        lambda self, req: parsed.append(req) or ["*/*"])
    for accept in (None, "*/*", "application/json"):
        assert answer(JSONFirstNegotiation(), request(accept), [JSONRenderer()]) == ("JSONRenderer", "application/json")
    assert parsed == []
    answer(JSONFirstNegotiation(), request("text/html"), [JSONRenderer()])
    assert len(parsed) == 1
