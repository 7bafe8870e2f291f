from django.http import JsonResponse
from oauth2_provider.views import ProtectedResourceMetadataView


class Me(ProtectedResourceMetadataView):
    """Who the bearer token speaks for. A missing, expired or revoked token gets 401 with a Bearer challenge
    (the metadata variant of the view; the plain one answers a bare 403)."""

    def get(self, request, *args, **kwargs):
        return JsonResponse({"username": request.resource_owner.username})
