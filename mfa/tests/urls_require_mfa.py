"""The project's URLs plus an endpoint and a page that ask for a sign-in with a second factor, as a host project
would write them."""
from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.urls import urlpatterns as project_urlpatterns
from sessions_app.api.views import AuthAPIView
from sessions_app.browser import multi_factor_page
from sessions_app.permissions import MultiFactorAuthenticated


class PayoutsView(AuthAPIView):
    permission_classes = [IsAuthenticated, MultiFactorAuthenticated]

    def get(self, request):
        return Response({"payouts": []})


@multi_factor_page
def payouts_page(request):
    return HttpResponse("payouts")


urlpatterns = [path("api/payouts/", PayoutsView.as_view()), path("payouts/", payouts_page), *project_urlpatterns]
