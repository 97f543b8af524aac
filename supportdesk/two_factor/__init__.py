"""Staff two-factor: a second step after the password, required for everyone who may use the console,
the admin or evidence files.

Built on django-otp (TOTP devices, recovery codes as static tokens, `request.user.is_verified()`) and
django-otp-webauthn (passkeys, a django-otp device too); no cryptography of our own. `services.py` says
who needs a second factor and records every change; `views.py` is the second step, the enrolment at
first sign-in and the user's own security page; `middleware.py` keeps an unverified staff session on
those pages; the administrator's reset is an action in the user admin (tickets/admin.py)."""
