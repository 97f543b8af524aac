"""Staff sign-in, throttled three ways.

django-axes locks a user name *from one address* after AXES_FAILURE_LIMIT failures (reset on success).
On top of it, failed sign-ins are counted per client address across user names, and per user name
across addresses, in fixed windows: guessing many names from one address, or one name from many
addresses, is slowed to a crawl, and the count starts again at the next window, so a stranger cannot
lock a staff member out for good.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views

from tickets.portal.views import rate_limited

from .client import client_ip_key
from .ratelimits import attempt_count, attempts_used_up
from .two_factor.services import second_factor_required
from .two_factor.views import second_step_url

GROUP = "staff-sign-in-failures"


def _username_key(group, request) -> str:
    return "user:" + (request.POST.get("username") or "").strip().lower()[:150]


def _address_key(group, request) -> str:
    return "ip:" + client_ip_key(group, request)


def _limits():
    return ((_address_key, settings.LOGIN_FAILURES_PER_IP), (_username_key, settings.LOGIN_FAILURES_PER_USERNAME))


class StaffLoginView(auth_views.LoginView):
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
