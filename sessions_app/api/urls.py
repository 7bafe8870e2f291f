from django.urls import path

from . import views

urlpatterns = [
    path("refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    # The cookie transport's endpoints, under a path of their own: the refresh cookie is scoped to it.
    path("cookie/refresh/", views.CookieRefreshView.as_view(), name="auth-cookie-refresh"),
    path("cookie/logout/", views.CookieLogoutView.as_view(), name="auth-cookie-logout"),
    path("csrf/", views.CsrfTokenView.as_view(), name="auth-csrf"),
    path("logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("logout-others/", views.LogoutOthersView.as_view(), name="auth-logout-others"),
    path("introspect/", views.IntrospectView.as_view(), name="auth-introspect"),
    path("sessions/", views.SessionListView.as_view(), name="auth-sessions"),
    path("sessions/<str:session_id>/", views.SessionDetailView.as_view(), name="auth-session-detail"),
]
