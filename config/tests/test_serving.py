"""The ASGI entry point (config.asgi) starts a process with the URLconf loaded and the start-up's objects frozen out of
the garbage collector's walks (authcore.serving), as a server importing it gets it."""
import os
import subprocess
import sys

from .servers import ROOT
from .test_cookie_settings_env import DEVELOPMENT

# Imports the entry point as a server does, then says how many objects are frozen and whether the URLconf is loaded.
IMPORT_AS_A_SERVER = ("import gc, importlib, sys; importlib.import_module(sys.argv[1]); "
                      "print(gc.get_freeze_count(), 'config.urls' in sys.modules)")


def test_an_asgi_process_starts_with_its_urlconf_loaded_and_its_start_up_frozen():
    environment = {key: value for key, value in os.environ.items() if key not in (
        "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY", "JWT_SIGNING_KEYS", "ENV_FILE")}
    result = subprocess.run([sys.executable, "-c", IMPORT_AS_A_SERVER, "config.asgi"], cwd=ROOT,
                            env={**environment, **DEVELOPMENT}, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    frozen, urlconf_loaded = result.stdout.split()
    assert int(frozen) > 50_000  # the framework's, the apps' and the URLconf's objects (about 150,000)
    assert urlconf_loaded == "True"
