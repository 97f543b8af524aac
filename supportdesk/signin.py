"""Staff sign-in, throttled three ways.

django-axes locks a user name *from one address* after AXES_FAILURE_LIMIT failures (reset on success).
On top of it, failed sign-ins are counted per client address across user names, and per user name
across addresses, in fixed windows: guessing many names from one address, or one name from many
addresses, is slowed to a crawl, and the count starts again at the next window, so a stranger cannot
lock a staff member out for good.

With single sign-on on and OIDC_STAFF_LOCAL_PASSWORDS off, the password form is refused to everyone but
the break-glass accounts (OIDC_BREAK_GLASS_USERS), before any password is checked (supportdesk/sso.py).
"""

import logging

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext as _

from tickets.events import staff_password_sign_in_refused_event
from tickets.portal.views import rate_limited

from .client import client_ip, client_ip_key
from .context_processors import site_name_for
from .ratelimits import attempt_count, attempts_used_up
from .sso import provider_name
from .two_factor.services import second_factor_required
from .two_factor.views import second_step_url

logger = logging.getLogger(__name__)

GROUP = "staff-sign-in-failures"


def _username_key(group, request) -> str:
    return "user:" + (request.POST.get("username") or "").strip().lower()[:150]


def _address_key(group, request) -> str:
    return "ip:" + client_ip_key(group, request)


def _limits():
    return ((_address_key, settings.LOGIN_FAILURES_PER_IP), (_username_key, settings.LOGIN_FAILURES_PER_USERNAME))


def local_passwords_allowed() -> bool:
    return not settings.OIDC_ENABLED or settings.OIDC_STAFF_LOCAL_PASSWORDS


class StaffAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        if username and not local_passwords_allowed() and username not in settings.OIDC_BREAK_GLASS_USERS:
            user = get_user_model().objects.filter(username=username).first()
            logger.warning("Password sign-in refused for %r: staff sign in with single sign-on only", username)
            staff_password_sign_in_refused_event(user=user, detail=username, ip_address=client_ip(self.request))
            raise forms.ValidationError(
                _("Staff sign in with single sign-on: use the “Sign in with %(provider)s” button."),
                code="sso_only",
                params={"provider": provider_name()},
            )
        return super().clean()


class StaffLoginView(auth_views.LoginView):
    form_class = StaffAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        local_passwords = local_passwords_allowed()
        context.update(
            # Django's LoginView names the site by its host (no sites framework): the product name, as
            # on every other page.
            site_name=site_name_for(),
            sso_enabled=settings.OIDC_ENABLED,
            sso_provider_name=provider_name() if settings.OIDC_ENABLED else "",
            local_passwords=local_passwords,
            # Break-glass accounts reach the form by ?local=1; a refused attempt shows it with its message.
            show_password_form=local_passwords or self.request.GET.get("local") == "1" or self.request.method == "POST",
        )
        return context

    def post(self, request, *args, **kwargs):
        if any(attempts_used_up(request, group=GROUP, key=key, rate=rate) for key, rate in _limits()):
            return rate_limited(request)
        response = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:  # a failed attempt (or a lock-out): it counts
            for key, rate in _limits():
                attempt_count(request, group=GROUP, key=key, rate=rate)
        return response

    def get_success_url(self):
        # Staff go on to their second factor (or enrol one) before anything else opens.
        next_url = super().get_success_url()
        if second_factor_required(self.request.user):
            return second_step_url(self.request.user, next_url)
        return next_url
