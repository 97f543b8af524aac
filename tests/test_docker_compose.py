"""docker-compose.yml and the Dockerfile agree with the settings module and with each other.

These tests read the files only: they need neither Docker nor a database.
"""

import ast
import json
import posixpath
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_FILE = ROOT / "supportdesk" / "settings.py"
DEPLOYMENT_GUIDE = ROOT / "docs" / "deployment.md"

SERVICES = ("web", "worker", "beat", "postgres", "redis", "mailpit")
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_VARIABLES = {
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "SITE_URL",
    "EVIDENCE_ROOT",
    "DJANGO_ALLOWED_HOSTS",
}
# django-environ's typed getters: env.bool("NAME"), env.db("NAME"), ...
ENV_GETTERS = {
    "str",
    "bool",
    "int",
    "float",
    "list",
    "tuple",
    "dict",
    "json",
    "url",
    "path",
    "bytes",
    "db",
    "db_url",
    "email",
    "email_url",
    "cache",
    "cache_url",
    "search_url",
}
# What an operator exports before `docker compose up`; compose substitutes these into the file.
HOST_ENV = {
    "DJANGO_SECRET_KEY": "test-secret-key",
    "ID_NUMBER_HMAC_KEY": "test-hmac-key",
    "POSTGRES_PASSWORD": "test-db-password",
}
SECRET_NAMES = {"DJANGO_SECRET_KEY", "ID_NUMBER_HMAC_KEY", "POSTGRES_PASSWORD"}


# --- Reading the files ----------------------------------------------------------------------------


class MissingVariable(Exception):
    """Compose refuses to start: a `${NAME:?message}` variable is not set on the host."""


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value, host_env):
    """Substitute host variables the way Compose does (`$$`, `${X}`, `${X:-d}`, `${X:?e}`, `${X:+a}`)."""

    def replace(match):
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"], match["arg"]
        value = host_env.get(name)
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else value
        if op in (":?", "?"):
            if unset:
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op in (":+", "+"):
            return "" if unset else arg
        return value or ""

    return _VARIABLE.sub(replace, str(value))


def settings_env_names():
    """Names of the environment variables supportdesk/settings.py reads through django-environ."""
    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    env_objects = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "Env"
        for target in node.targets
        if isinstance(target, ast.Name)
    } or {"env"}
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        reads_env = (isinstance(func, ast.Name) and func.id in env_objects) or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in env_objects
            and func.attr in ENV_GETTERS
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def settings_staticfiles_dirs():
    """STATICFILES_DIRS entries of the form BASE_DIR / "a" / "b", as "a/b"."""

    def parts(node):
        if isinstance(node, ast.Name) and node.id == "BASE_DIR":
            return []
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = parts(node.left)
            right = node.right
            if left is not None and isinstance(right, ast.Constant) and isinstance(right.value, str):
                return [*left, right.value]
        return None

    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "STATICFILES_DIRS" for t in node.targets):
            found = []
            for element in node.value.elts:
                path = element.elts[-1] if isinstance(element, ast.Tuple) else element
                relative = parts(path)
                if relative:
                    found.append("/".join(relative))
            return found
    return []


def dockerfile_instructions():
    """The Dockerfile's final stage as (INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    stages = [[]]
    for line in joined.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages[-1]


def dockerfile_env():
    values = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction != "ENV":
            continue
        tokens = shlex.split(arguments)
        if "=" not in tokens[0]:
            values[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            name, _, value = token.partition("=")
            values[name] = value
    return values


def dockerfile_cmd():
    commands = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "CMD"]
    assert commands, "the Dockerfile has no CMD"
    return json.loads(commands[-1])


def dockerfile_workdir():
    workdir = "/"
    for instruction, arguments in dockerfile_instructions():
        if instruction == "WORKDIR":
            workdir = posixpath.join(workdir, arguments)
    return workdir


def command_of(service):
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service):
    """The service's environment as {name: raw value}, from the mapping or the list form."""
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return dict(environment.items())
    pairs = (item.partition("=") for item in environment)
    return {name: (value if sep else None) for name, sep, value in pairs}


def resolved_environment_of(service):
    return {name: interpolate(value, HOST_ENV) for name, value in environment_of(service).items()}


def mounts_of(service):
    """(source, target) for each volume of the service; source is None for an anonymous volume."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((volume.get("source"), volume["target"]))
            continue
        parts = volume.split(":")
        mounts.append((None, parts[0]) if len(parts) == 1 else (parts[0], parts[1]))
    return mounts


def is_named_volume(source):
    return bool(source) and not source.startswith((".", "/", "~", "$"))


# tests/conftest.py gives every test a temporary EVIDENCE_ROOT and clean Redis databases through
# autouse fixtures. These tests read files only; overriding those fixtures by name lets them run
# without Django settings or a Redis server (`-p no:django`).
@pytest.fixture
def evidence_root():
    return None


@pytest.fixture
def clean_cache():
    return None


@pytest.fixture
def _redis_databases_are_the_tests_own():
    return None


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


# --- Services and their commands ------------------------------------------------------------------


def test_compose_file_uses_the_compose_spec_without_a_version_key(compose):
    assert "version" not in compose


def test_compose_defines_web_worker_beat_postgres_redis_and_mailpit(services):
    assert set(SERVICES) <= set(services)


def test_web_runs_gunicorn_serving_supportdesk_wsgi_on_port_8000(services):
    command = command_of(services["web"])
    assert command[0] == "gunicorn"
    assert "supportdesk.wsgi:application" in command
    assert "0.0.0.0:8000" in command


def test_worker_runs_a_celery_worker_for_the_supportdesk_app(services):
    command = command_of(services["worker"])
    assert command[:4] == ["celery", "-A", "supportdesk", "worker"]


def test_beat_runs_celery_beat_for_the_supportdesk_app(services):
    command = command_of(services["beat"])
    assert command[:4] == ["celery", "-A", "supportdesk", "beat"]


def test_beat_keeps_its_schedule_file_outside_the_read_only_app_directory(services):
    command = command_of(services["beat"])
    flag = next((f for f in ("--schedule", "-s") if f in command), None)
    assert flag, "beat must be told where to write its schedule file"
    schedule = command[command.index(flag) + 1]
    assert posixpath.isabs(schedule)
    workdir = dockerfile_workdir().rstrip("/") + "/"
    assert not schedule.startswith(workdir), "the app directory is owned by root in the image"


def test_migrations_run_before_web_starts(services):
    web = services["web"]
    if "migrate" in command_of(web):
        return
    depends_on = web.get("depends_on") or {}
    assert isinstance(depends_on, dict), "web must wait for a migration step to complete"
    migrators = [
        name
        for name, condition in depends_on.items()
        if condition.get("condition") == "service_completed_successfully"
        and {"manage.py", "migrate"} <= set(command_of(services[name]))
    ]
    assert migrators, "web neither runs migrate nor waits for a service that does"


# --- Environment against the settings module ------------------------------------------------------


def test_settings_parser_finds_the_variables_settings_reads():
    names = settings_env_names()
    assert {"DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DATABASE_URL", "EMAIL_URL"} <= names
    assert names >= REQUIRED_VARIABLES


def test_deployment_guide_lists_every_variable_the_settings_read():
    guide = DEPLOYMENT_GUIDE.read_text(encoding="utf-8")
    missing = sorted(name for name in settings_env_names() if f"`{name}`" not in guide)
    assert not missing, f"docs/deployment.md does not describe {missing}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_sets_only_variables_the_settings_read(services, name):
    unknown = set(environment_of(services[name])) - settings_env_names()
    assert not unknown, f"{name} sets variables settings.py never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_sets_every_required_variable(services, name):
    missing = REQUIRED_VARIABLES - set(environment_of(services[name]))
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_secret_key_comes_from_the_host_environment_with_no_default(services, name):
    raw = environment_of(services[name])["DJANGO_SECRET_KEY"]
    assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:?\?[^}]*\}", raw), raw
    with pytest.raises(MissingVariable):
        interpolate(raw, {})


@pytest.mark.parametrize("name", APP_SERVICES)
def test_database_url_points_at_the_postgres_service(services, name):
    url = urlsplit(resolved_environment_of(services[name])["DATABASE_URL"])
    assert url.scheme in {"postgres", "postgresql", "psql", "pgsql"}
    assert url.hostname == "postgres"
    assert url.port in (None, 5432)
    assert services["postgres"]["image"].startswith("postgres:")


def test_database_url_uses_the_user_password_and_database_postgres_creates(services):
    url = urlsplit(resolved_environment_of(services["web"])["DATABASE_URL"])
    postgres = resolved_environment_of(services["postgres"])
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_redis_urls_point_at_the_redis_service(services, name):
    environment = resolved_environment_of(services[name])
    for variable in ("REDIS_URL", "REDIS_CACHE_URL"):
        if variable not in environment:
            continue
        url = urlsplit(environment[variable])
        assert url.scheme == "redis", variable
        assert url.hostname == "redis", variable
        assert url.port in (None, 6379), variable
    assert services["redis"]["image"].startswith("redis:")


def test_redis_cache_and_celery_broker_use_separate_databases(services):
    environment = resolved_environment_of(services["web"])
    assert urlsplit(environment["REDIS_URL"]).path != urlsplit(environment["REDIS_CACHE_URL"]).path


@pytest.mark.parametrize("name", APP_SERVICES)
def test_email_url_points_at_mailpit_smtp_port_1025(services, name):
    url = urlsplit(resolved_environment_of(services[name])["EMAIL_URL"])
    assert url.scheme == "smtp"
    assert (url.hostname, url.port) == ("mailpit", 1025)
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


# --- Evidence storage -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ("web", "worker"))
def test_evidence_root_is_the_mount_point_of_a_named_volume(compose, services, name):
    service = services[name]
    evidence_root = resolved_environment_of(service)["EVIDENCE_ROOT"]
    sources = [source for source, target in mounts_of(service) if target == evidence_root]
    assert sources, f"{name} does not mount a volume at EVIDENCE_ROOT={evidence_root}"
    assert is_named_volume(sources[0]) and sources[0] in (compose.get("volumes") or {})


def test_evidence_volume_is_never_mounted_under_a_static_or_media_path(services):
    web = services["web"]
    evidence_root = resolved_environment_of(web)["EVIDENCE_ROOT"]
    assert not re.search(r"static|media", evidence_root, re.IGNORECASE)
    evidence_volumes = {source for source, target in mounts_of(web) if target == evidence_root}
    assert evidence_volumes
    for name, service in services.items():
        for source, target in mounts_of(service):
            if source in evidence_volumes:
                assert not re.search(r"static|media", target, re.IGNORECASE), (name, target)


def test_dockerfile_and_compose_agree_on_evidence_root(services):
    assert dockerfile_env()["EVIDENCE_ROOT"] == resolved_environment_of(services["web"])["EVIDENCE_ROOT"]


# --- Health, start order, volumes -----------------------------------------------------------------


@pytest.mark.parametrize("name", ("postgres", "redis", "web"))
def test_service_has_a_healthcheck(services, name):
    healthcheck = services[name].get("healthcheck") or {}
    assert not healthcheck.get("disable")
    test = healthcheck.get("test")
    assert test and test not in ("NONE", ["NONE"]), name


def test_web_healthcheck_calls_healthz(services):
    test = services["web"]["healthcheck"]["test"]
    assert "/healthz" in (test if isinstance(test, str) else " ".join(test))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_postgres_and_redis(services, name):
    depends_on = services[name].get("depends_on") or {}
    assert isinstance(depends_on, dict), "use the long depends_on form with conditions"
    for dependency in ("postgres", "redis"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", dependency


def test_named_volumes_used_by_services_are_declared_at_top_level(compose, services):
    declared = set(compose.get("volumes") or {})
    used = {source for service in services.values() for source, _ in mounts_of(service) if is_named_volume(source)}
    assert used, "no service uses a named volume"
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"


def test_postgres_keeps_its_data_in_a_named_volume(compose, services):
    sources = [s for s, target in mounts_of(services["postgres"]) if target == "/var/lib/postgresql/data"]
    assert sources and is_named_volume(sources[0]) and sources[0] in (compose.get("volumes") or {})


# --- Dockerfile -----------------------------------------------------------------------------------


def test_dockerfile_and_compose_agree_on_the_supportdesk_package(services):
    wsgi_targets = [arg for arg in dockerfile_cmd() if ".wsgi:" in arg]
    assert wsgi_targets, "the Dockerfile's CMD does not start a WSGI application"
    packages = {
        "Dockerfile CMD": wsgi_targets[0].split(".", 1)[0],
        "Dockerfile DJANGO_SETTINGS_MODULE": dockerfile_env()["DJANGO_SETTINGS_MODULE"].split(".", 1)[0],
        "compose web": next(a for a in command_of(services["web"]) if ".wsgi:" in a).split(".", 1)[0],
    }
    for name in ("worker", "beat"):
        command = command_of(services[name])
        packages[f"compose {name}"] = command[command.index("-A") + 1].split(".", 1)[0]
    assert set(packages.values()) == {"supportdesk"}, packages
    assert (ROOT / "supportdesk" / "wsgi.py").is_file()


def test_compose_web_command_is_the_dockerfile_cmd(services):
    assert command_of(services["web"]) == dockerfile_cmd()


def test_dockerfile_runs_as_a_non_root_user():
    users = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "USER"]
    assert users, "the final stage never switches user"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_bakes_no_secret_into_the_image_environment():
    declared = {
        shlex.split(arguments)[0].partition("=")[0]
        for instruction, arguments in dockerfile_instructions()
        if instruction == "ARG"
    } | set(dockerfile_env())
    assert not declared & SECRET_NAMES


def test_dockerfile_builds_static_files_and_translations():
    runs = " ".join(arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN")
    assert "manage.py collectstatic --noinput" in runs
    assert "manage.py compilemessages" in runs


def test_dockerfile_puts_bootstrap_where_staticfiles_dirs_reads_it():
    assert "node_modules/bootstrap/dist" in settings_staticfiles_dirs()
    workdir = dockerfile_workdir()
    destinations = []
    for instruction, arguments in dockerfile_instructions():
        if instruction != "COPY":
            continue
        tokens = [t for t in shlex.split(arguments) if not t.startswith("--")]
        if any(t.rstrip("/").endswith("node_modules/bootstrap/dist") for t in tokens[:-1]):
            destinations.append(posixpath.normpath(posixpath.join(workdir, tokens[-1])))
    assert posixpath.join(workdir, "node_modules/bootstrap/dist") in destinations


# --- Queues: evidence processing has a worker of its own ------------------------------------------

EVIDENCE_WORKER = "evidence-worker"


def settings_literal(name):
    """The literal value assigned to NAME at the top level of supportdesk/settings.py."""
    tree = ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"settings.py does not assign {name}")


def celery_worker_services(services):
    return {name: s for name, s in services.items() if command_of(s)[:4] == ["celery", "-A", "supportdesk", "worker"]}


def queues_of(command):
    flag = next((f for f in ("-Q", "--queues") if f in command), None)
    assert flag, f"a worker without -Q consumes every queue: {command}"
    return set(command[command.index(flag) + 1].split(","))


def test_evidence_worker_consumes_exactly_the_queue_evidence_tasks_are_routed_to(services):
    routed = {
        route["queue"] for pattern, route in settings_literal("CELERY_TASK_ROUTES").items() if pattern.startswith("evidence.")
    }
    assert routed == {settings_literal("EVIDENCE_QUEUE")}
    assert queues_of(command_of(services[EVIDENCE_WORKER])) == routed


def test_the_default_worker_consumes_only_the_default_queue(services):
    assert queues_of(command_of(services["worker"])) == {settings_literal("CELERY_TASK_DEFAULT_QUEUE")}


def test_every_queue_has_a_worker_and_no_worker_shares_one(services):
    workers = celery_worker_services(services)
    assert set(workers) == {"worker", EVIDENCE_WORKER}
    consumed = [queues_of(command_of(service)) for service in workers.values()]
    routed = {route["queue"] for route in settings_literal("CELERY_TASK_ROUTES").values()}
    assert set().union(*consumed) == routed | {settings_literal("CELERY_TASK_DEFAULT_QUEUE")}
    assert not set.intersection(*consumed)


def test_workers_use_a_pool_that_enforces_time_limits(services):
    for name, service in celery_worker_services(services).items():
        command = " ".join(command_of(service))
        assert not re.search(r"(-P|--pool)[ =](solo|threads|eventlet|gevent)", command), name


def test_evidence_worker_runs_the_app_image_with_the_apps_environment(services):
    evidence_worker, worker = services[EVIDENCE_WORKER], services["worker"]
    assert evidence_worker.get("image") == worker.get("image") and evidence_worker.get("build") == worker.get("build")
    assert environment_of(evidence_worker) == environment_of(worker)
    assert not set(environment_of(evidence_worker)) - settings_env_names()
    assert not REQUIRED_VARIABLES - set(environment_of(evidence_worker))


def test_evidence_worker_mounts_the_evidence_volume_at_evidence_root(compose, services):
    service = services[EVIDENCE_WORKER]
    evidence_root = resolved_environment_of(service)["EVIDENCE_ROOT"]
    sources = [source for source, target in mounts_of(service) if target == evidence_root]
    assert sources and is_named_volume(sources[0]) and sources[0] in (compose.get("volumes") or {})
    web_sources = {source for source, target in mounts_of(services["web"]) if target == evidence_root}
    assert sources[0] in web_sources


def test_evidence_worker_waits_for_postgres_redis_and_migrations(services):
    depends_on = services[EVIDENCE_WORKER].get("depends_on") or {}
    assert depends_on == services["worker"].get("depends_on")
    for dependency in ("postgres", "redis"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", dependency


def test_make_run_starts_a_worker_for_each_queue():
    script = (ROOT / "scripts" / "run-dev").read_text(encoding="utf-8")
    workers = [line for line in script.splitlines() if re.search(r"celery\"? -A supportdesk worker", line)]
    consumed = [queues_of(shlex.split(line.split("&")[0])) for line in workers]
    assert sorted(map(sorted, consumed)) == sorted(
        [[settings_literal("CELERY_TASK_DEFAULT_QUEUE")], [settings_literal("EVIDENCE_QUEUE")]]
    )
