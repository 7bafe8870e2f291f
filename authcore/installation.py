"""Is the service installed whole, with nothing of the host project in its place?

The service's apps have fixed labels (`authcore`, `accounts`, `sessions_app`, `connections`, `mfa`): the user model is
`accounts.User` and the migrations depend on one another by label. A host project with an app of one of those
labels, or a package of one of those names that hides the service's (the directory `manage.py startapp accounts`
creates is first on the import path), cannot run beside it. Django would stop with "Application labels aren't
unique" or an import error from deep inside a module; this check runs first, when the kernel's app is created
(keep "authcore" first in INSTALLED_APPS), and names the clash and the way out.

Django cannot finish loading apps that share a label, so no system check can run in that state: the error is
raised while the apps load, in the system checks' format, with an id of the checks' series (authcore.E011).
"""
import importlib.util
from pathlib import Path

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

SERVICE_PACKAGES = ("authcore", "accounts", "sessions_app", "connections", "mfa")
CHECK_ID = "authcore.E011"
# What the error says of every clash (the docs' table of system checks shows these two).
CHECK_SUMMARY = ("An app of the project takes one of the service's app labels, or a package of the project hides one "
                 "of the service's packages (raised while the apps load, before the system checks can run).")
HINT = ("Give your app another label (AppConfig.label, and rename its package if it is a top-level package called "
        "like one of the service's: authcore, accounts, sessions_app, connections, mfa) before adding the service; the "
        "documentation's guide 'Add it to an existing project' says how to move an app that already has tables.")

# Where the service's packages are installed: side by side, in site-packages or in a checkout.
_INSTALL_DIR = Path(__file__).resolve().parent.parent


def _is_service_package(package: str) -> bool:
    spec = importlib.util.find_spec(package)
    return bool(spec and spec.origin) and Path(spec.origin).resolve().parent.parent == _INSTALL_DIR


def _installed_service_packages(installed_apps) -> set[str]:
    """The service's packages that INSTALLED_APPS names (`connections` and `mfa` are optional: a project without
    them may use the names for its own)."""
    names = {entry.name if isinstance(entry, AppConfig) else entry for entry in installed_apps}
    return {name.split(".")[0] for name in names} & set(SERVICE_PACKAGES)


def _hidden_packages(packages: set[str]) -> list[str]:
    """The service's packages that a module of the host project hides on the import path."""
    problems = []
    for package in sorted(packages):
        spec = importlib.util.find_spec(package)
        if spec is not None and not _is_service_package(package):
            where = spec.origin or ", ".join(spec.submodule_search_locations or [])
            problems.append(f"The module '{package}' is {where}, not the service's app of that name: the project "
                            f"has a package called '{package}' that hides it.")
    return problems


def _label_clashes(installed_apps, packages: set[str]) -> list[str]:
    """Apps of the host project that take the label of one of the service's installed apps."""
    problems = []
    for entry in installed_apps:
        if isinstance(entry, AppConfig):
            config = entry
        else:
            top_package = entry.split(".")[0]
            if top_package in SERVICE_PACKAGES:
                continue  # the service's own entries (a hidden package is reported above)
            try:
                config = AppConfig.create(entry)
            except Exception:  # a broken entry is Django's to report, moments later
                continue
        if config.label in packages and config.name.split(".")[0] not in SERVICE_PACKAGES:
            problems.append(f"The app '{config.name}' has the label '{config.label}', which is the service's "
                            f"app '{config.label}'.")
    return problems


def check_installation(installed_apps) -> None:
    """Raise ImproperlyConfigured, in the system checks' format, if the host takes a label or a name of ours."""
    packages = _installed_service_packages(installed_apps)
    problems = _hidden_packages(packages) + _label_clashes(installed_apps, packages)
    if not problems:
        return
    lines = "\n".join(f"?: ({CHECK_ID}) {problem}" for problem in problems)
    raise ImproperlyConfigured(f"System check identified some issues:\n\nERRORS:\n{lines}\n\tHINT: {HINT}")


def require_extra(app_name: str, modules: tuple[str, ...], extra: str) -> None:
    """An optional app of the service needs the modules of its extra: said at start-up, with the pip command,
    instead of an ImportError from deep inside its models when they load."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise ImproperlyConfigured(
            f"The {app_name} app needs {', '.join(missing)}: pip install 'django-auth-service[{extra}]', or remove "
            f"\"{app_name}\" from INSTALLED_APPS.")
