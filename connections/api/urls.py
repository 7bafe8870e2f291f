from django.urls import path

from . import views

urlpatterns = [
    path("", views.ConnectionListView.as_view(), name="connections-list"),
    path("<slug:provider>/", views.ConnectionDetailView.as_view(), name="connections-detail"),
    path("<slug:provider>/connect/", views.ConnectView.as_view(), name="connections-connect"),
    path("<slug:provider>/callback/", views.CompleteConnectionView.as_view(), name="connections-complete"),
]
