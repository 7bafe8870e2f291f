"""Browser pages of connected accounts (mounted at /connections/)."""
from django.urls import path

from . import views

app_name = "connections"
urlpatterns = [
    path("<slug:provider>/callback/", views.callback, name="callback"),
]
