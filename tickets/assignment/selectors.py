"""Reads for automatic assignment: the agents' load (the supervisors' page) and one agent's own profile."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from tickets.models import OPEN_STATES, AgentProfile, Appeal
from tickets.roles import AGENTS, SUPERVISORS


@dataclass(frozen=True)
class AgentLoad:
    user_id: int
    username: str
    has_profile: bool  # without one, never assigned automatically
    on_duty: bool
    open_held: int
    capacity: int | None
    appeal_types: list[str]  # names; empty: every type
    languages: list[str]  # labels; empty: every language

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.open_held >= self.capacity


def agent_load_list() -> list[AgentLoad]:
    """Every active agent and supervisor with the open appeals they hold, their capacity, skills and
    availability: three queries whatever the number of agents."""
    staff = (
        get_user_model().objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name__in=[AGENTS, SUPERVISORS]))
    )
    users = (
        get_user_model()
        .objects.filter(pk__in=staff.values("pk"))
        .annotate(open_held=Count("assigned_appeals", filter=Q(assigned_appeals__state__in=OPEN_STATES)))
        .order_by("username")
    )
    rows = list(users.values_list("pk", "username", "open_held"))
    profiles = {
        p.user_id: p
        for p in AgentProfile.objects.filter(user_id__in=[pk for pk, _u, _n in rows]).prefetch_related("appeal_types")
    }
    languages = dict(Appeal.Language.choices)
    loads = []
    for pk, username, open_held in rows:
        profile = profiles.get(pk)
        loads.append(
            AgentLoad(
                user_id=pk,
                username=username,
                has_profile=profile is not None,
                on_duty=bool(profile and profile.on_duty),
                open_held=open_held,
                capacity=profile.capacity if profile else None,
                appeal_types=[t.name for t in profile.appeal_types.all()] if profile else [],
                languages=[languages.get(code, code) for code in profile.languages] if profile else [],
            )
        )
    return loads


def agent_profile_of(*, user) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).prefetch_related("appeal_types").first()


def agent_open_held(*, user) -> int:
    return Appeal.objects.open().filter(assignee=user).count()
