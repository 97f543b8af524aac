"""Single sign-on for staff with OpenID Connect (mozilla-django-oidc as the relying party).

Off unless OIDC_ENABLED: /accounts/oidc/… answers 404 (supportdesk/sso_urls.py) and nothing here is called. On:

- the provider's endpoints come from OIDC_ISSUER's discovery document, read on first use and kept for
  the life of the process (an OIDC_OP_*_ENDPOINT setting, when set, wins);
- an account is found by its stored subject link (issuer + `sub`, StaffOIDCLink), never by e-mail once
  linked. The first sign-in links an existing account by a *verified* e-mail address, except an
  administrator's (superuser) account or one linked to another subject: else the provider could take
  it over. Without a match, an account is made (no usable password);
- the groups in the OIDC_GROUPS_CLAIM claim are mapped by OIDC_GROUP_MAP to ours (agents,
  supervisors) at every sign-in: mapped groups given, mapped groups no longer given taken away, other
  groups left alone. Nobody is signed in (or made) without at least one mapped group, nor a
  deactivated account;
- every sign-in and refusal is logged and kept as a StaffSecurityEvent (the audit export lists them).
"""

import hashlib
import logging

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from tickets.events import staff_sso_refused_event, staff_sso_signed_in_event
from tickets.models import StaffOIDCLink

from .client import client_ip

logger = logging.getLogger(__name__)

# mozilla-django-oidc's endpoint settings and the discovery document's names for them.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_metadata: dict[str, dict] = {}  # issuer -> its discovery document, once read


class ProviderError(Exception):
    """The provider's discovery document could not be read, or does not describe OIDC_ISSUER."""


class SignOnRefused(SuspiciousOperation):
    """A valid answer from the provider for someone who may not sign in here: `message` says why, to them."""

    def __init__(self, message: str, detail: str, user=None):
        super().__init__(detail)
        self.message, self.detail, self.user = message, detail, user


def provider_metadata(issuer: str) -> dict:
    if issuer not in _metadata:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderError(f"the discovery document {url} could not be read: {exc}") from exc
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise ProviderError(f"{url} describes the issuer {document.get('issuer')!r}, not {issuer!r}")
        _metadata[issuer] = document
    return _metadata[issuer]


def sso_setting(attr, *args):
    """mozilla-django-oidc's settings, the provider's endpoints filled in from discovery where not set."""
    value = import_from_settings(attr, *args)
    if attr in DISCOVERED and not value and settings.OIDC_ENABLED and settings.OIDC_ISSUER:
        value = provider_metadata(settings.OIDC_ISSUER).get(DISCOVERED[attr], "")
    return value


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or _("single sign-on")


# --- Accounts -----------------------------------------------------------------------------------------


def _provider_groups(userinfo: dict, id_token: dict) -> list[str]:
    claim = settings.OIDC_GROUPS_CLAIM
    groups = userinfo.get(claim, id_token.get(claim)) or []
    return [groups] if isinstance(groups, str) else [str(group) for group in groups]


def _new_username(claims: dict, issuer: str, subject: str) -> str:
    """The provider's user name (or the e-mail's local part) when free; otherwise one made from the subject."""
    User = get_user_model()
    wanted = (claims.get("preferred_username") or (claims.get("email") or "").split("@")[0] or "").strip()[:150]
    try:
        User.username_validator(wanted)
    except ValidationError:  # a name Django would refuse: the subject's instead
        wanted = ""
    if wanted and not User.objects.filter(username__iexact=wanted).exists():
        return wanted
    return "sso-" + hashlib.sha256(f"{issuer} {subject}".encode()).hexdigest()[:16]


def _refuse_no_match(detail: str, user=None):
    raise SignOnRefused(
        _("Your single sign-on account could not be matched to one staff account. Ask an administrator."), detail, user
    )


def staff_account_for_sign_on(*, issuer: str, subject: str, claims: dict):
    """The staff account for this subject: found by its link, or linked (by verified e-mail) or made now."""
    User = get_user_model()
    link = StaffOIDCLink.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if link is not None:
        return link.user
    email = (claims.get("email") or "").strip()
    if not email:
        return User.objects.create_user(_new_username(claims, issuer, subject), email="")
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if not matches:
        return User.objects.create_user(_new_username(claims, issuer, subject), email=email)
    if len(matches) > 1:
        _refuse_no_match(f"subject {subject}: several accounts have the e-mail address {email}")
    user = matches[0]
    if user.is_superuser:
        raise SignOnRefused(
            _(
                "This e-mail address belongs to an administrator account, which cannot be taken over by single "
                "sign-on. Ask an administrator."
            ),
            f"subject {subject}: the e-mail address {email} is an administrator's (superuser) account",
            user,
        )
    if claims.get("email_verified") is not True:
        _refuse_no_match(f"subject {subject}: the e-mail address {email} is not verified by the provider", user)
    if StaffOIDCLink.objects.filter(user=user).exists():
        _refuse_no_match(f"subject {subject}: the account with the e-mail address {email} is linked to another subject", user)
    return user


def staff_groups_sync(*, user, provider_groups: list[str]) -> set[str]:
    """Give the mapped groups the provider lists, take away the mapped groups it no longer lists."""
    mapping = settings.OIDC_GROUP_MAP
    wanted = {mapping[name] for name in provider_groups if name in mapping}
    for name in set(mapping.values()):
        group, _created = Group.objects.get_or_create(name=name)
        if name in wanted:
            user.groups.add(group)
        else:
            user.groups.remove(group)
    user._supportdesk_groups = None  # tickets.roles caches the groups on the user object
    return wanted


class StaffOIDCBackend(OIDCAuthenticationBackend):
    """Signs in only at the end of the authorization code flow (the callback passes the session's nonce);
    a password sign-in passes through untouched."""

    def __init__(self, *args, **kwargs):
        # The endpoints are read when a single sign-on needs them, not each time Django instantiates the
        # backends (every password sign-in, every request's session user): the provider may be down.
        self.UserModel = get_user_model()

    get_settings = staticmethod(sso_setting)

    def authenticate(self, request, **kwargs):
        if request is None or not settings.OIDC_ENABLED or "nonce" not in kwargs:
            return None
        OIDCAuthenticationBackend.__init__(self)
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """mozilla-django-oidc checks the signature, expiry and nonce; the audience and issuer too."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation(f"The ID token is for {audiences!r}, not this client.")
        if settings.OIDC_ISSUER and str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
            raise SuspiciousOperation(f"The ID token comes from {payload.get('iss')!r}, not {settings.OIDC_ISSUER!r}.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            return self._staff_sign_on(access_token, id_token, payload)
        except SignOnRefused as refused:
            self.request.sso_refusal = refused
            sso_refusal_record(self.request, user=refused.user, detail=refused.detail)
            raise

    @transaction.atomic
    def _staff_sign_on(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        subject = str(payload.get("sub") or "")
        issuer = settings.OIDC_ISSUER or str(payload.get("iss", ""))
        if not subject or str(userinfo.get("sub", subject)) != subject:
            _refuse_no_match(f"the user info's subject {userinfo.get('sub')!r} is not the ID token's {subject!r}")
        provider_groups = _provider_groups(userinfo, payload)
        if not any(name in settings.OIDC_GROUP_MAP for name in provider_groups):
            link = StaffOIDCLink.objects.filter(issuer=issuer, subject=subject).select_related("user").first()
            raise SignOnRefused(
                _(
                    "Your single sign-on account is in none of the groups allowed to use the staff console. "
                    "Ask your administrator to add you to the support team's group."
                ),
                f"subject {subject}: none of the groups {provider_groups!r} is mapped",
                link.user if link else None,
            )
        claims = {**payload, **userinfo}
        user = staff_account_for_sign_on(issuer=issuer, subject=subject, claims=claims)
        if not user.is_active:
            raise SignOnRefused(
                _("This staff account is deactivated. Ask an administrator."), f"subject {subject}: account deactivated", user
            )
        link, _created = StaffOIDCLink.objects.get_or_create(user=user, defaults={"issuer": issuer, "subject": subject})
        link.last_sign_in_at = timezone.now()
        link.save(update_fields=["last_sign_in_at"])
        groups = staff_groups_sync(user=user, provider_groups=provider_groups)
        detail = f"subject {subject}; groups: {', '.join(sorted(groups))}"
        staff_sso_signed_in_event(user=user, detail=detail, ip_address=client_ip(self.request))
        logger.info("Single sign-on of %s (id %s): %s", user.get_username(), user.pk, detail)
        return user


def sso_refusal_record(request, *, user, detail: str) -> None:
    logger.warning("Single sign-on refused%s: %s", f" for {user.get_username()} (id {user.pk})" if user else "", detail)
    staff_sso_refused_event(user=user, detail=detail, ip_address=client_ip(request))


def sso_refused_page(request, message: str, status: int):
    return render(request, "registration/sso_refused.html", {"message": message}, status=status)


# --- Views (mozilla-django-oidc's, under /accounts/oidc/) -----------------------------------------------


class StaffOIDCAuthenticationRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider. Reads the endpoint when asked, not when instantiated."""

    get_settings = staticmethod(sso_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderError as exc:
            logger.error("Single sign-on unavailable: %s", exc)
            return sso_refused_page(request, _("The single sign-on provider does not answer. Try again later."), 503)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class StaffOIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer. Whatever is wrong with it (a state not ours or used already, a wrong nonce,
    a code the provider refuses) ends on a page that says so; nobody is signed in."""

    get_settings = staticmethod(sso_setting)

    def get(self, request):
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException, ProviderError) as exc:
            sso_refusal_record(request, user=None, detail=f"invalid answer: {exc}"[:255])
            return sso_refused_page(
                request,
                _(
                    "The single sign-on could not be completed: the answer from the provider was not valid, or was "
                    "used already. Nobody was signed in. Please try again."
                ),
                400,
            )

    def login_failure(self):
        refused = getattr(self.request, "sso_refusal", None)
        if refused is not None:
            return sso_refused_page(self.request, refused.message, 403)
        sso_refusal_record(self.request, user=None, detail=f"no sign-in: {self.request.GET.get('error') or 'no valid answer'}")
        return sso_refused_page(
            self.request, _("The single sign-on provider did not sign you in. Nobody was signed in. Please try again."), 403
        )
