"""Who needs a second factor, and every change to one, recorded in the staff's audit trail
(StaffSecurityEvent, listed by the audit export).

The factors are django-otp devices: an authenticator app (TOTPDevice), passkeys (WebAuthnCredential,
django-otp-webauthn) and recovery codes (a StaticDevice of single-use tokens). Recovery codes stand in
for a lost phone or key; they do not count as an enrolment on their own."""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from tickets.events import staff_security_event
from tickets.models import StaffSecurityEvent
from tickets.outbox.services import outbox_enqueue
from tickets.roles import is_agent
from tickets.services.staff_sessions import staff_sign_out_everywhere

logger = logging.getLogger(__name__)

Kind = StaffSecurityEvent.Kind
RECOVERY_CODE_COUNT = 10
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def _tell(user, change: str, ip_address: str | None, actor=None) -> None:
    """An e-mail to the staff member about a change to their own sign-in security (through the outbox,
    in the same transaction): someone who holds their password and adds a factor is noticed."""
    if not user.email:
        return
    outbox_enqueue(
        template="staff_security_change",
        to=user.email,
        language=settings.LANGUAGE_CODE,
        context={
            "user": user,
            "actor": actor,
            "change": change,
            "when": timezone.localtime(),
            "ip_address": ip_address,
            "security_url": f"{settings.SITE_URL}{reverse('two_factor:manage')}",
        },
    )


def second_factor_required(user) -> bool:
    """Everyone who may use the console (agents, supervisors), the admin or evidence files."""
    return bool(
        user is not None and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser or is_agent(user))
    )


def session_verified(request) -> bool:
    """Signed in with a second factor in this session (django-otp's OTPMiddleware)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def enrolled(user) -> bool:
    """An authenticator app or a passkey is set up (recovery codes alone are not an enrolment)."""
    return (
        TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
        or WebAuthnCredential.objects.devices_for_user(user, confirmed=True).exists()
    )


def app_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def passkeys(user):
    return WebAuthnCredential.objects.devices_for_user(user, confirmed=True).order_by("created_at")


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def app_device_pending(user, device_id=None) -> TOTPDevice:
    """The authenticator app being set up: a new secret, unconfirmed until a code from it is entered.
    The one started earlier in this session (`device_id`) is kept, so a reload shows the same QR code."""
    if device_id:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if device is not None:
            return device
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


def _code(text: str) -> str:
    return "".join(text.split()).replace("-", "").lower()


def code_already_used(device: TOTPDevice, code: str) -> bool:
    """The code is this app's, but for a time step already used to sign in: a replay, or a second
    sign-in within the same 30 seconds."""
    if not code.isdigit() or device.last_t < 0:
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return totp.verify(int(code), device.tolerance) and totp.t() <= device.last_t


def app_device_confirm(request, device: TOTPDevice, code: str, ip_address: str | None) -> bool:
    """Enrolment: the first code from the app proves it holds the secret. Any other app the user had is
    replaced; the session is now signed in with it."""
    if not device.verify_token(_code(code)):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        staff_security_event(
            kind=Kind.TWO_FACTOR_ENROLLED, user=device.user, actor=device.user, detail="authenticator app", ip_address=ip_address
        )
        _tell(device.user, "app", ip_address)
    otp_login(request, device)
    return True


def passkey_registered(user, credential, ip_address: str | None) -> None:
    staff_security_event(
        kind=Kind.TWO_FACTOR_ENROLLED, user=user, actor=user, detail=f"passkey {credential.name}", ip_address=ip_address
    )
    _tell(user, "passkey", ip_address)


def passkey_remove(user, credential_id, ip_address: str | None) -> bool:
    """A passkey the user no longer has. The last factor cannot be removed (the user would be asked to
    enrol again at once); an administrator's reset is the way to start over."""
    credential = passkeys(user).filter(pk=credential_id).first()
    if credential is None:
        return False
    if app_device(user) is None and passkeys(user).count() == 1:
        return False
    credential.delete()
    staff_security_event(
        kind=Kind.TWO_FACTOR_REMOVED, user=user, actor=user, detail=f"passkey {credential.name}", ip_address=ip_address
    )
    _tell(user, "passkey_removed", ip_address)
    return True


def recovery_codes_issue(user, ip_address: str | None) -> list[str]:
    """Ten new single-use codes; the old ones stop working. Shown once. (The first ones come with an
    enrolment, which is told about already.)"""
    with transaction.atomic():
        replaced, _ = StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        staff_security_event(kind=Kind.RECOVERY_CODES_ISSUED, user=user, actor=user, ip_address=ip_address)
        if replaced:
            _tell(user, "codes", ip_address)
    return codes


class Refused(Exception):
    """A second factor refused: `str()` is the message the user sees."""


def second_factor_check(request, code: str, ip_address: str | None):
    """Sign this session in with a code from the authenticator app or a recovery code. Returns the
    device used, or raises Refused (recorded) with the reason: a wrong code, a code already used, or
    too many wrong codes in a row (django-otp's throttling)."""
    user = request.user
    code = _code(code)
    app = app_device(user)
    if app is not None and code.isdigit() and len(code) == app.digits:
        allowed, _throttle = app.verify_is_allowed()
        if not allowed:
            _failed(user, "throttled", ip_address)
            raise Refused(_("Too many wrong codes in a row. Wait a minute, then try again."))
        if code_already_used(app, code):
            app.throttle_increment()
            _failed(user, "code already used", ip_address)
            raise Refused(_("This code was already used. Wait for the next code from your app."))
        if app.verify_token(code):
            return _verified(request, app, "authenticator app", ip_address)
    else:
        recovery = StaticDevice.objects.filter(user=user, confirmed=True).first()
        if recovery is not None and recovery.verify_token(code):
            left = recovery_codes_left(user)
            return _verified(request, recovery, f"recovery code ({left} left)", ip_address)
    _failed(user, "wrong code", ip_address)
    raise Refused(_("That code is not right. Check your app's clock, or use a recovery code."))


def _verified(request, device, detail: str, ip_address: str | None):
    otp_login(request, device)
    staff_security_event(
        kind=Kind.TWO_FACTOR_VERIFIED, user=request.user, actor=request.user, detail=detail, ip_address=ip_address
    )
    return device


def _failed(user, detail: str, ip_address: str | None) -> None:
    logger.warning("Second factor refused for %s (id %s): %s", user.get_username(), user.pk, detail)
    staff_security_event(kind=Kind.TWO_FACTOR_FAILED, user=user, actor=user, detail=detail, ip_address=ip_address)


def passkey_verified(request, ip_address: str | None) -> None:
    """django-otp-webauthn signed the session in with a passkey: recorded like the other factors."""
    staff_security_event(
        kind=Kind.TWO_FACTOR_VERIFIED, user=request.user, actor=request.user, detail="passkey", ip_address=ip_address
    )


def passkey_refused(user, reason: str, ip_address: str | None) -> None:
    _failed(user, f"passkey: {reason}", ip_address)


def second_factor_reset(*, user, actor, ip_address: str | None) -> int:
    """An administrator's reset (a lost phone and lost codes): every factor of `user` is deleted and
    every session of theirs ends, so their next sign-in enrols afresh. Returns how many were deleted."""
    with transaction.atomic():
        deleted = 0
        for device in list(devices_for_user(user, confirmed=None)):
            device.delete()
            deleted += 1
        staff_security_event(
            kind=Kind.TWO_FACTOR_RESET, user=user, actor=actor, detail=f"{deleted} device(s) deleted", ip_address=ip_address
        )
        staff_sign_out_everywhere(user=user, actor=actor, ip_address=ip_address)
        _tell(user, "reset", ip_address, actor=actor)
    logger.info("Two-factor reset: user %s (id %s) by %s (id %s)", user.get_username(), user.pk, actor.get_username(), actor.pk)
    return deleted
