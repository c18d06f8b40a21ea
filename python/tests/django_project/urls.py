from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("", views.home, name="home"),
    path("private/", views.private, name="private"),
    path("boom/", views.boom, name="boom"),
]
