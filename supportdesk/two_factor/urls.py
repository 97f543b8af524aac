from django.urls import path

from . import views

app_name = "two_factor"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("setup/", views.setup, name="setup"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("manage/", views.manage, name="manage"),
    path("passkeys/<int:pk>/remove/", views.passkey_remove, name="passkey_remove"),
]
