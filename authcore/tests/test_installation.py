"""A host project that takes one of the service's app labels or package names stops at start-up with the
service's own error (authcore.E011), which names the clash, instead of Django's "Application labels aren't
unique" or an import error from deep inside a module. Each case starts a real `django.setup()` in a new process,
with this project's settings plus the clash. (The fresh-project proof, packaging/fresh_project.py, does the same
with the installed wheel in a new project.)"""
import os
from pathlib import Path
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import django; django.setup(); print('started')"


def start(cwd: Path, settings_module: str = "config.settings") -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DEBUG": "true", "ENV_FILE": "",
           "PYTHONPATH": f"{cwd}{os.pathsep}{ROOT}"}
    return subprocess.run([sys.executable, "-c", SETUP], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def write_host_settings(directory: Path, extra_apps: list[str]) -> None:
    # The kernel first, as the tutorial's snippet has it, then this project's apps and the host's.
    (directory / "host_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "INSTALLED_APPS = ['authcore', *[app for app in INSTALLED_APPS if app != 'authcore'], "
        + ", ".join(repr(app) for app in extra_apps) + "]\n")


def test_the_services_own_installation_starts(tmp_path):
    write_host_settings(tmp_path, [])
    result = start(tmp_path, "host_settings")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("label", ["accounts", "sessions_app", "connections"])
def test_a_host_app_with_one_of_the_services_labels_is_named_in_a_clear_error(tmp_path, label):
    app = tmp_path / "hostsite" / label
    app.mkdir(parents=True)
    (tmp_path / "hostsite" / "__init__.py").write_text("")
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text("from django.apps import AppConfig\n\n\nclass HostConfig(AppConfig):\n"
                                 f"    name = 'hostsite.{label}'\n")
    write_host_settings(tmp_path, [f"hostsite.{label}"])
    result = start(tmp_path, "host_settings")
    assert result.returncode != 0
    assert "(authcore.E011)" in result.stderr
    assert f"The app 'hostsite.{label}' has the label '{label}'" in result.stderr
    assert "HINT: Give your app another label" in result.stderr
    assert "Application labels aren't unique" not in result.stderr


def test_a_host_package_that_hides_the_services_accounts_is_named_in_a_clear_error(tmp_path):
    # The host's own `accounts` package, first on the import path (the directory the process starts in).
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "__init__.py").write_text("")
    write_host_settings(tmp_path, [])
    result = start(tmp_path, "host_settings")
    assert result.returncode != 0
    assert "(authcore.E011)" in result.stderr
    assert f"The module 'accounts' is {tmp_path / 'accounts' / '__init__.py'}" in result.stderr
    assert "hides it" in result.stderr


def test_a_project_without_the_connections_app_may_use_its_name(tmp_path):
    # `connections` is optional: a host that does not install it may have an app labelled so, or a package.
    (tmp_path / "hostsite" / "connections").mkdir(parents=True)
    (tmp_path / "hostsite" / "__init__.py").write_text("")
    (tmp_path / "hostsite" / "connections" / "__init__.py").write_text("")
    (tmp_path / "connections").mkdir()
    (tmp_path / "connections" / "__init__.py").write_text("")
    (tmp_path / "host_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "INSTALLED_APPS = ['authcore', *[app for app in INSTALLED_APPS if app not in ('authcore', 'connections')], "
        "'hostsite.connections']\n")
    result = start(tmp_path, "host_settings")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
