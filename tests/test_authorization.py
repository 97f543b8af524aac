"""Who may reach what: every URL pattern the project serves × every role → the expected answer.
A URL added without a row here fails `test_every_url_pattern_has_a_row`."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory
from tickets.tracking import tracking_token_make

ROLES = ("anonymous", "appellant_a", "appellant_b", "agent", "supervisor", "administrator")
LOGIN = "login"  # a redirect to the staff sign-in page
ADMIN_LOGIN = "admin_login"
MOVED = "redirect"  # a redirect elsewhere (the action ran, or was refused with a message)

ALL_200 = dict.fromkeys(ROLES, 200)
STAFF_ONLY = {
    "anonymous": LOGIN,
    "appellant_a": LOGIN,
    "appellant_b": LOGIN,
    "agent": 200,
    "supervisor": 200,
    "administrator": 200,
}
STAFF = ("agent", "supervisor", "administrator")
STAFF_POST = {**STAFF_ONLY, "agent": MOVED, "supervisor": MOVED, "administrator": MOVED}
# Appeal A is open and unassigned: an agent must state a reason first (need-to-know); the supervisors see
# it. (Other worlds, and with a reason: test_evidence_access_matrix.)
APPEAL_A_FILE = {"anonymous": 404, "appellant_a": 200, "appellant_b": 404, "agent": 404, "supervisor": 200, "administrator": 200}

APPELLANT_A_ONLY = {**dict.fromkeys(ROLES, 403), "appellant_a": 200}


def _status_action(world, route: str) -> str:
    return reverse(route, args=[tracking_token_make(world["a"].reference)])


# route name -> (method, how to build the URL and body from the world, expected answer per role)
MATRIX = {
    "tickets:home": ("get", lambda w: (reverse("tickets:home"), {}), ALL_200),
    "tickets:new": ("get", lambda w: (reverse("tickets:new", args=["realname_unbind"]), {}), ALL_200),
    # Only the browser that filed the appeal sees its confirmation (tests/tickets/test_submitted_page.py).
    "tickets:submitted": (
        "get",
        lambda w: (reverse("tickets:submitted", args=[w["a"].reference]), {}),
        dict.fromkeys(ROLES, 404),
    ),
    "tickets:track": ("get", lambda w: (reverse("tickets:track"), {}), ALL_200),
    # The signed link is the capability: whoever holds it sees that appeal.
    "tickets:status": ("get", lambda w: (reverse("tickets:status", args=[tracking_token_make(w["a"].reference)]), {}), ALL_200),
    # The appellant's rights: the link and the grant it gave this browser, POST only; anyone else (a
    # staff member, another appeal's appellant, no browser grant) gets 403 (tests/tickets/test_appellant_rights.py).
    "tickets:status_data": ("post", lambda w: (_status_action(w, "tickets:status_data"), {}), APPELLANT_A_ONLY),
    # Appeal A is open: the deletion is refused with a message.
    "tickets:status_delete_id_images": (
        "post",
        lambda w: (_status_action(w, "tickets:status_delete_id_images"), {"confirm": "on"}),
        {**APPELLANT_A_ONLY, "appellant_a": MOVED},
    ),
    # To the status page, under a link of the new generation.
    "tickets:status_sign_out_others": (
        "post",
        lambda w: (_status_action(w, "tickets:status_sign_out_others"), {}),
        {**APPELLANT_A_ONLY, "appellant_a": MOVED},
    ),
    # A hold notice's signed link is the capability, whoever holds it; without one, nobody gets in
    # (a valid link: tests/tickets/test_security_hold*.py).
    "tickets:hold_objection": (
        "get",
        lambda w: (reverse("tickets:hold_objection", args=[f"{w['a'].reference}:forged"]), {}),
        dict.fromkeys(ROLES, 404),
    ),
    # The decision e-mail's rating link is the capability, whoever holds it; without one, nobody gets in
    # (a valid link: tests/tickets/test_satisfaction.py).
    "tickets:rate": (
        "get",
        lambda w: (reverse("tickets:rate", args=[f"{w['a'].reference}:forged"]), {}),
        dict.fromkeys(ROLES, 404),
    ),
    "desk:queue": ("get", lambda w: (reverse("desk:queue"), {}), STAFF_ONLY),
    "desk:metrics": ("get", lambda w: (reverse("desk:metrics"), {}), {**STAFF_ONLY, "agent": 403}),
    "desk:audit": ("get", lambda w: (reverse("desk:audit"), {}), {**STAFF_ONLY, "agent": 403}),
    # Automatic assignment: everyone's load for the supervisors; each agent's own on duty / away switch
    # (POST: tests/tickets/test_desk_assignment.py).
    "desk:load": ("get", lambda w: (reverse("desk:load"), {}), {**STAFF_ONLY, "agent": 403}),
    "desk:availability": ("get", lambda w: (reverse("desk:availability"), {}), STAFF_ONLY),
    "desk:audit_export": (
        "get",
        lambda w: (
            reverse("desk:audit_export"),
            {"since": "2026-11-01", "until": "2026-11-30", "what": "access", "format": "csv"},
        ),
        {**STAFF_ONLY, "agent": 403},
    ),
    # Ends every session of the one who asks, this one too: back to the sign-in page (tests/test_staff_sessions.py).
    "desk:sign_out_everywhere": ("post", lambda w: (reverse("desk:sign_out_everywhere"), {}), dict.fromkeys(ROLES, LOGIN)),
    "desk:appeal": ("get", lambda w: (reverse("desk:appeal", args=[w["a"].reference]), {}), STAFF_ONLY),
    "desk:records_csv": ("get", lambda w: (reverse("desk:records_csv", args=[w["a"].reference]), {}), STAFF_ONLY),
    "desk:bulk": ("post", lambda w: (reverse("desk:bulk"), {"action": "claim", "references": [w["a"].reference]}), STAFF_POST),
    "desk:act": (
        "post",
        lambda w: (reverse("desk:act", args=[w["a"].reference]), {"action": "claim", "expected_state": "submitted"}),
        STAFF_POST,
    ),
    # Appeal A is undecided: the service refuses it with a message (tests/tickets/test_fulfilment.py).
    "desk:release_again": ("post", lambda w: (reverse("desk:release_again", args=[w["a"].reference]), {}), STAFF_POST),
    # Appeal A is undecided, and only supervisors may record an outcome: refused with a message
    # (tests/tickets/test_outcome.py).
    "desk:outcome": (
        "post",
        lambda w: (reverse("desk:outcome", args=[w["a"].reference]), {"outcome": "false_alarm"}),
        STAFF_POST,
    ),
    "desk:presence": ("post", lambda w: (reverse("desk:presence", args=[w["a"].reference]), {"writing": "0"}), STAFF_ONLY),
    "desk:comment": ("post", lambda w: (reverse("desk:comment", args=[w["a"].reference]), {"text": "Checked."}), STAFF_POST),
    "desk:verify": (
        "post",
        lambda w: (reverse("desk:verify", args=[w["a"].reference, w["evidence"].pk]), {"verified": "1"}),
        STAFF_POST,
    ),
    # Need-to-know: an agent states why they must see appeal A's files (the supervisors, who see them
    # already, are told so); tests/evidence/test_need_to_know.py.
    "desk:evidence_reason": (
        "post",
        lambda w: (reverse("desk:evidence_reason", args=[w["a"].reference]), {"reason": "Checking a duplicate report."}),
        STAFF_POST,
    ),
    "evidence:serve": ("get", lambda w: (reverse("evidence:serve", args=[w["evidence"].pk]), {}), APPEAL_A_FILE),
    "evidence:thumbnail": ("get", lambda w: (reverse("evidence:thumbnail", args=[w["evidence"].pk]), {}), APPEAL_A_FILE),
    "healthz": ("get", lambda w: (reverse("healthz"), {}), ALL_200),
    "favicon": ("get", lambda w: (reverse("favicon"), {}), dict.fromkeys(ROLES, MOVED)),  # to the static SVG
    "set_language": ("post", lambda w: (reverse("set_language"), {"language": "en", "next": "/"}), dict.fromkeys(ROLES, MOVED)),
    "login": ("get", lambda w: (reverse("login"), {}), ALL_200),
    # The admin's own sign-in page sends everyone to the staff sign-in (throttled, then the second factor).
    "admin_login": ("get", lambda w: (reverse("admin_login"), {}), dict.fromkeys(ROLES, LOGIN)),
    # Staff two-factor (tests/test_two_factor.py; a password-only session: test_protected_routes_*).
    # These staff sessions are signed in with a second factor (tests/conftest.py): the second step
    # sends them on, and the enrolment page offers to move the app to another phone.
    "two_factor:verify": ("get", lambda w: (reverse("two_factor:verify"), {}), {**STAFF_ONLY, **dict.fromkeys(STAFF, MOVED)}),
    "two_factor:setup": ("get", lambda w: (reverse("two_factor:setup"), {}), STAFF_ONLY),
    "two_factor:recovery_codes": ("get", lambda w: (reverse("two_factor:recovery_codes"), {}), STAFF_ONLY),
    "two_factor:manage": ("get", lambda w: (reverse("two_factor:manage"), {}), STAFF_ONLY),
    "two_factor:passkey_remove": ("post", lambda w: (reverse("two_factor:passkey_remove", args=[1]), {}), STAFF_POST),
    # django-otp-webauthn's JSON ceremonies: signed-in staff only (no passwordless sign-in); without a
    # ceremony begun in the session, completing one is refused (400).
    "otp_webauthn:credential-registration-begin": (
        "post",
        lambda w: (reverse("otp_webauthn:credential-registration-begin"), {}),
        {**dict.fromkeys(ROLES, 403), **dict.fromkeys(STAFF, 200)},
    ),
    "otp_webauthn:credential-registration-complete": (
        "post",
        lambda w: (reverse("otp_webauthn:credential-registration-complete"), {}),
        {**dict.fromkeys(ROLES, 403), **dict.fromkeys(STAFF, 400)},
    ),
    "otp_webauthn:credential-authentication-begin": (
        "post",
        lambda w: (reverse("otp_webauthn:credential-authentication-begin"), {}),
        {**dict.fromkeys(ROLES, 403), **dict.fromkeys(STAFF, 200)},
    ),
    "otp_webauthn:credential-authentication-complete": (
        "post",
        lambda w: (reverse("otp_webauthn:credential-authentication-complete"), {}),
        {**dict.fromkeys(ROLES, 403), **dict.fromkeys(STAFF, 400)},
    ),
    "otp_webauthn:js-i18n-catalog": ("get", lambda w: (reverse("otp_webauthn:js-i18n-catalog"), {}), ALL_200),
    "logout": ("post", lambda w: (reverse("logout"), {}), dict.fromkeys(ROLES, LOGIN)),
    # Single sign-on (mozilla-django-oidc's views): 404 for everyone while OIDC_ENABLED is off, as here
    # (on: tests/supportdesk/test_sso.py).
    "oidc_authentication_init": ("get", lambda w: (reverse("oidc_authentication_init"), {}), dict.fromkeys(ROLES, 404)),
    "oidc_authentication_callback": (
        "get",
        lambda w: (reverse("oidc_authentication_callback") + "?code=x&state=y", {}),
        dict.fromkeys(ROLES, 404),
    ),
    "oidc_logout": ("post", lambda w: (reverse("oidc_logout"), {}), dict.fromkeys(ROLES, 404)),
    # The platform API: an API key only (tests/tickets/api/); no session, however privileged, authorises it.
    "api:appeal-create": (
        "post",
        lambda w: (reverse("api:appeal-create"), {"appeal_type": "realname_unbind"}),
        dict.fromkeys(ROLES, 401),
    ),
    "api:appeal-detail": (
        "get",
        lambda w: (reverse("api:appeal-detail", args=[w["a"].reference]), {}),
        dict.fromkeys(ROLES, 401),
    ),
    "api:fulfilment-report": (
        "post",
        lambda w: (reverse("api:fulfilment-report", args=[w["a"].reference]), {"outcome": "done"}),
        dict.fromkeys(ROLES, 401),
    ),
    "api:registered-contacts": (
        "post",
        lambda w: (reverse("api:registered-contacts", args=[w["a"].reference]), {}),
        dict.fromkeys(ROLES, 401),
    ),
    "api:event-list": ("get", lambda w: (reverse("api:event-list"), {}), dict.fromkeys(ROLES, 401)),
    "api:fresh-photo-code": (
        "post",
        lambda w: (reverse("api:fresh-photo-code"), {"appeal_type": "realname_unbind"}),
        dict.fromkeys(ROLES, 401),
    ),
    # Its schema and the page that shows it are public (they hold no data).
    "api-schema": ("get", lambda w: (reverse("api-schema"), {}), ALL_200),
    "api-docs": ("get", lambda w: (reverse("api-docs"), {}), ALL_200),
    # The admin site: administrators only (agents and supervisors are not staff).
    "admin:*": (
        "get",
        lambda w: (reverse("admin:tickets_appeal_change", args=[w["a"].pk]), {}),
        {**dict.fromkeys(ROLES, ADMIN_LOGIN), "administrator": 200},
    ),
}
CASES = [(route, role) for route in MATRIX for role in ROLES]


def _names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed {pattern.pattern}>"


def test_every_url_pattern_has_a_row():
    served = {name if not name.startswith("admin:") else "admin:*" for name in _names(get_resolver().url_patterns)}
    assert served - set(MATRIX) == set(), "add these URLs to the authorization matrix"
    assert set(MATRIX) - served == set(), "these rows name URLs that no longer exist"


@pytest.fixture
def world(appeal_types, celery_ping_cached):  # /healthz answers without waiting for a Celery ping
    a, b = AppealFactory(), AppealFactory()
    thumbnail = ContentFile(files.photo_bytes(120, 80), name="thumb.jpg")
    return {"a": a, "b": b, "evidence": EvidenceFactory(appeal=a, thumbnail=thumbnail)}


def client_for(role: str, world) -> Client:
    client = Client()
    if role in ("appellant_a", "appellant_b"):
        appeal = world["a"] if role == "appellant_a" else world["b"]
        assert client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).status_code == 200
    elif role == "agent":
        client.force_login(AgentFactory())
    elif role == "supervisor":
        client.force_login(SupervisorFactory())
    elif role == "administrator":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "role"), CASES, ids=[f"{r}-{role}" for r, role in CASES])
def test_authorization_matrix(world, route, role):
    method, build, expected = MATRIX[route]
    url, body = build(world)
    response = getattr(client_for(role, world), method)(url, body)
    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), response.status_code
    elif want == ADMIN_LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), response.status_code
    elif want == MOVED:
        assert response.status_code == 302 and not response["Location"].startswith(("/accounts/login/", "/admin/login/"))
    else:
        assert response.status_code == want


# Who sees an appeal's evidence files, world by world (need-to-know, evidence/access.py): on an open
# appeal its assignee, the agent who proposed its approval, whoever approved it, and the supervisors;
# any other agent once they stated a reason (still valid); on a decided, withdrawn or closed appeal the
# supervisors only, and they too after stating a reason; the appellant holding the tracking link, until
# the appeal is withdrawn (withdrawal ends what the link may do: the status page opens, its files do not).
# Each world is tried without and with a valid reason stated by every staff member, on the file, its
# thumbnail, and a PDF's download, page image and thumbnail.
FILE_ROLES = (
    "anonymous",
    "appellant",
    "other_appellant",
    "agent",
    "other_agent",
    "proposer",
    "approver",
    "supervisor",
    "administrator",
)
AGENTS = {"agent", "other_agent", "proposer", "approver"}
SUPERVISORS = {"supervisor", "administrator"}
OPEN_WITH_REASON = {"appellant"} | SUPERVISORS | AGENTS
FILE_WORLDS = {
    # world -> (appeal state, who holds it, who proposed its approval, who approved it,
    #           roles answered 200 without a reason, and with one; everyone else gets 404)
    "open_unassigned": ("submitted", None, None, None, {"appellant"} | SUPERVISORS, OPEN_WITH_REASON),
    "open_held_by_agent": ("in_review", "agent", None, None, {"appellant", "agent"} | SUPERVISORS, OPEN_WITH_REASON),
    "awaiting_held_by_other": (
        "awaiting_info",
        "other_agent",
        None,
        None,
        {"appellant", "other_agent"} | SUPERVISORS,
        OPEN_WITH_REASON,
    ),
    "pending_approval_proposed": (
        "pending_approval",
        "other_agent",
        "proposer",
        None,
        {"appellant", "other_agent", "proposer"} | SUPERVISORS,
        OPEN_WITH_REASON,
    ),
    # An approval undone by the registered contact's objection: open again, and its approver still sees it.
    "escalated_after_approval": (
        "escalated",
        "other_agent",
        None,
        "approver",
        {"appellant", "other_agent", "approver"} | SUPERVISORS,
        OPEN_WITH_REASON,
    ),
    # Decided or closed: a reason stated while it was open no longer opens it to an agent.
    "approved_held_by_agent": ("approved", "agent", "proposer", "approver", {"appellant"}, {"appellant"} | SUPERVISORS),
    "rejected_unassigned": ("rejected", None, None, None, {"appellant"}, {"appellant"} | SUPERVISORS),
    "withdrawn_unassigned": ("withdrawn", None, None, None, set(), SUPERVISORS),
}
FILE_CASES = [
    (world, role, reason) for world in FILE_WORLDS for role in FILE_ROLES for reason in ("without_reason", "with_reason")
]


def _pdf_with_a_page(appeal):
    """A processed PDF as `evidence/views.py` serves it: rebuilt (`.clean.pdf`), with a rendered page."""
    from evidence.storage import evidence_storage

    page = evidence_storage.save("pages/page-1.jpg", ContentFile(files.photo_bytes(90, 120)))
    clean = evidence_storage.save("pages/document.clean.pdf", ContentFile(files.pdf_bytes()))
    return EvidenceFactory(
        appeal=appeal,
        kind="carrier_certificate",
        content_type="application/pdf",
        original_name="certificate.pdf",
        file=clean,
        thumbnail=page,
        pages=[page],
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("world", "role", "reason"), FILE_CASES, ids=[f"{w}-{r}-{x}" for w, r, x in FILE_CASES])
def test_evidence_access_matrix(appeal_types, world, role, reason):
    from datetime import timedelta

    from django.utils import timezone

    from evidence.models import EvidenceAccessReason
    from tickets.events import appeal_action_event

    state, holder, proposer, approver, without, with_reason = FILE_WORLDS[world]
    people = {
        "agent": AgentFactory(),
        "other_agent": AgentFactory(),
        "proposer": AgentFactory(),
        "approver": AgentFactory(),
        "supervisor": SupervisorFactory(),
        "administrator": UserFactory(is_staff=True, is_superuser=True),
    }
    appeal = AppealFactory(
        state=state,
        assignee=people[holder] if holder else None,
        proposed_by=people[proposer] if proposer else None,
        closed_at=None
        if state in ("submitted", "in_review", "awaiting_info", "pending_approval", "escalated")
        else timezone.now(),
    )
    if approver:
        appeal_action_event(
            appeal=appeal, actor=people[approver], action="approve", from_state="in_review", comment="", public=True
        )
    if reason == "with_reason":  # each stated while the appeal was open, all still valid
        for person in people.values():
            EvidenceAccessReason.objects.create(
                appeal=appeal, user=person, reason="Checking a report.", expires_at=timezone.now() + timedelta(minutes=30)
            )
    other = AppealFactory()
    image = EvidenceFactory(appeal=appeal, thumbnail=ContentFile(files.photo_bytes(120, 80), name="thumb.jpg"))
    pdf = _pdf_with_a_page(appeal)
    client = Client()
    if role in ("appellant", "other_appellant"):
        tracked = appeal if role == "appellant" else other
        assert client.get(reverse("tickets:status", args=[tracking_token_make(tracked.reference)])).status_code == 200
    elif role in people:
        client.force_login(people[role])
    expected = 200 if role in (with_reason if reason == "with_reason" else without) else 404
    for url in (
        reverse("evidence:serve", args=[image.pk]),
        reverse("evidence:thumbnail", args=[image.pk]),
        reverse("evidence:serve", args=[pdf.pk]),
        reverse("evidence:serve", args=[pdf.pk]) + "?page=1",
        reverse("evidence:thumbnail", args=[pdf.pk]),
    ):
        assert client.get(url).status_code == expected, url
