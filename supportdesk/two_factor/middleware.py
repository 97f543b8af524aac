from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .services import second_factor_required, session_verified
from .views import second_step_url

# What a password alone never opens: the console, the admin, evidence files.
PROTECTED = ("/desk/", "/admin/", "/evidence/")


class StaffSecondFactorMiddleware:
    """A staff session without a second factor reaches only the sign-in, two-factor and public pages.
    An evidence file answers 403 with the way to the second step; a page redirects there (or to the
    enrolment, for someone who has no factor yet) and comes back afterwards."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path.startswith(PROTECTED)
            and request.user.is_authenticated
            and second_factor_required(request.user)
            and not session_verified(request)
        ):
            back = request.get_full_path() if request.method == "GET" else "/desk/"
            step = second_step_url(request.user, back)
            if request.path.startswith("/evidence/"):
                return render(
                    request,
                    "registration/two_factor_required.html",
                    {"verify_url": step, "message": _("Identity documents open only after signing in with a second factor.")},
                    status=403,
                )
            return redirect(step)
        return self.get_response(request)
