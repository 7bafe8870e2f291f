"""Browser pages of connected accounts (mounted at /connections/)."""
from django.urls import path

from . import views

app_name = "connections"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("<slug:provider>/connect/", views.connect, name="connect"),
    path("<slug:provider>/disconnect/", views.disconnect, name="disconnect"),
    path("<slug:provider>/callback/", views.callback, name="callback"),
]
