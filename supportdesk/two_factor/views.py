"""The second step after the password (`/accounts/two-factor/`), the enrolment at first sign-in
(`setup/`), recovery codes (`recovery-codes/`), the user's own security page (`manage/`), and the
passkey ceremonies of django-otp-webauthn, recorded in the staff's audit trail."""

import base64
import json

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views

from supportdesk.client import client_ip
from supportdesk.ratelimits import attempt_count, attempts_used_up

from . import services
from .passkeys import passkeys_available

PENDING = "two_factor_pending_app"
FAILURES_GROUP = "two-factor-failures"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def step_url(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def second_step_url(user, next_url: str) -> str:
    """Where a staff member goes after the password: the second step, or the enrolment if they have
    no factor yet."""
    name = "two_factor:verify" if services.enrolled(user) else "two_factor:setup"
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _user_key(group, request) -> str:
    return f"user:{request.user.pk}"


def _staff_only(request) -> None:
    if not services.second_factor_required(request.user):
        raise Http404


@login_required
def verify(request):
    """Sign this session in with the second factor: a code from the app, a recovery code, or a passkey."""
    _staff_only(request)
    next_url = _next(request)
    if services.session_verified(request):
        return HttpResponseRedirect(next_url)
    if not services.enrolled(request.user):
        return redirect(step_url("two_factor:setup", next_url))
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        rate = settings.TWO_FACTOR_FAILURES_PER_USER
        if attempts_used_up(request, group=FAILURES_GROUP, key=_user_key, rate=rate):
            form.add_error(None, _("Too many wrong codes. Wait a few minutes, then try again."))
        elif form.is_valid():
            try:
                services.second_factor_check(request, form.cleaned_data["code"], client_ip(request))
            except services.Refused as refused:
                attempt_count(request, group=FAILURES_GROUP, key=_user_key, rate=rate)
                form.add_error("code", str(refused))
            else:
                request.session.cycle_key()  # a new session key for the stronger session
                return HttpResponseRedirect(next_url)
    return render(
        request,
        "registration/two_factor_verify.html",
        {
            "form": form,
            "next": next_url,
            "has_passkeys": services.passkeys(request.user).exists(),
            "has_app": services.app_device(request.user) is not None,
            "passkeys_available": passkeys_available(request),
        },
    )


def _qr_svg(url: str) -> str:
    # An SVG of black modules on a white square; no style attribute (the CSP allows none).
    return mark_safe(segno.make(url, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff", omitsize=False))  # noqa: S308 - segno's own markup


def _grouped_secret(device) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def setup(request):
    """Enrolment (at first sign-in, or replacing the app from the security page): scan the QR code, enter
    the first code. A passkey can be the first factor instead. Someone who already has a factor must
    sign in with it first: a password alone never adds a factor."""
    _staff_only(request)
    next_url = _next(request)
    first = not services.enrolled(request.user)
    if not first and not services.session_verified(request):
        return redirect(step_url("two_factor:verify", next_url))
    device = services.app_device_pending(request.user, request.session.get(PENDING))
    request.session[PENDING] = device.pk
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.app_device_confirm(request, device, form.cleaned_data["code"], client_ip(request)):
            request.session.pop(PENDING, None)
            request.session.cycle_key()
            if services.recovery_codes_left(request.user) == 0:
                return _show_codes(request, next_url, first=True)
            messages.success(request, _("Your authenticator app is set up."))
            return HttpResponseRedirect(next_url)
        form.add_error("code", _("That code is not right. Enter the 6-digit code your app shows now."))
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "first": first,
            "qr_svg": _qr_svg(device.config_url),
            "secret": _grouped_secret(device),
            "passkeys_available": passkeys_available(request),
            "after_passkey_url": step_url("two_factor:recovery_codes", next_url),
        },
    )


def _show_codes(request, next_url: str, *, first: bool):
    codes = services.recovery_codes_issue(request.user, client_ip(request))
    return render(request, "registration/two_factor_recovery_codes.html", {"codes": codes, "next": next_url, "first": first})


@login_required
def recovery_codes(request):
    """GET: the codes, once, right after a first enrolment with a passkey (none issued yet); otherwise
    how many are left. POST: ten new codes, the old ones stop working."""
    _staff_only(request)
    next_url = _next(request)
    if not services.session_verified(request):
        return redirect(second_step_url(request.user, request.get_full_path()))
    if request.method == "POST" or services.recovery_codes_left(request.user) == 0:
        return _show_codes(request, next_url, first=request.method != "POST")
    return redirect("two_factor:manage")


@login_required
def manage(request):
    """The user's own sign-in security: their app, passkeys, recovery codes left."""
    _staff_only(request)
    if not services.session_verified(request):
        return redirect(second_step_url(request.user, request.get_full_path()))
    user = request.user
    return render(
        request,
        "registration/two_factor_manage.html",
        {
            "app": services.app_device(user),
            "passkey_list": list(services.passkeys(user)),
            "codes_left": services.recovery_codes_left(user),
            "passkeys_available": passkeys_available(request),
        },
    )


@login_required
@require_POST
def passkey_remove(request, pk: int):
    _staff_only(request)
    if not services.session_verified(request):
        return redirect(second_step_url(request.user, reverse("two_factor:manage")))
    if services.passkey_remove(request.user, pk, client_ip(request)):
        messages.success(request, _("The passkey was removed."))
    else:
        messages.error(request, _("This passkey cannot be removed: it is your only second factor."))
    return redirect("two_factor:manage")


def _json(response) -> dict:
    try:
        return json.loads(response.content)
    except ValueError:
        return {}


class PasskeyRegistrationComplete(webauthn_views.CompleteCredentialRegistrationView):
    """django-otp-webauthn's registration, recorded."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        credential = services.passkeys(self.request.user).filter(pk=_json(response).get("id")).first()
        if credential is not None:
            services.passkey_registered(self.request.user, credential, client_ip(self.request))
        return response


class PasskeyAuthenticationComplete(webauthn_views.CompleteCredentialAuthenticationView):
    """django-otp-webauthn's second step (never a sign-in on its own), recorded; a refused assertion
    (replayed, for another user's key, or failing verification) is recorded too."""

    def complete_auth(self, device):
        super().complete_auth(device)
        self.request.session.cycle_key()
        services.passkey_verified(self.request, client_ip(self.request))

    def handle_exception(self, exc):
        if isinstance(exc, webauthn_errors.OTPWebAuthnApiError) and self.request.user.is_authenticated:
            services.passkey_refused(self.request.user, getattr(exc, "code", "refused"), client_ip(self.request))
        return super().handle_exception(exc)
