"""Who may do what: the `agents` and `supervisors` groups (CONTRACT), and superusers."""

AGENTS = "agents"
SUPERVISORS = "supervisors"


def _groups(user) -> frozenset[str]:
    # Cached on the user object: permission checks run many times while one page renders.
    cached = getattr(user, "_supportdesk_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) if user.is_authenticated else frozenset()
        user._supportdesk_groups = cached
    return cached


def is_supervisor(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or SUPERVISORS in _groups(user)))


def is_agent(user) -> bool:
    """Agents and supervisors both work the console."""
    return bool(user and user.is_authenticated and user.is_active and (is_supervisor(user) or AGENTS in _groups(user)))
