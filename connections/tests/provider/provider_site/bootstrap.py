"""Creates the provider's database and its fixtures in one process: `python -m provider_site.bootstrap SEED`
where SEED is JSON with username, password, client_secret, redirect_uris, migrate (false when the database is
a copy of an already migrated one) and template (a path to leave a copy of the migrated, empty database at, or
""). Prints {"client_id": ...}."""
from contextlib import closing
import json
import os
import sqlite3
import sys

import django


def main(seed: dict) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider_site.settings")
    django.setup()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from oauth2_provider.models import Application

    if seed["migrate"]:
        call_command("migrate", interactive=False, verbosity=0)
    if seed["template"]:
        connection.close()
        with closing(sqlite3.connect(settings.DATABASES["default"]["NAME"])) as source, \
                closing(sqlite3.connect(seed["template"])) as copy:
            source.backup(copy)
    get_user_model().objects.create_user(seed["username"], password=seed["password"])
    application = Application(
        name="connections test client",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(seed["redirect_uris"]),
        client_secret=seed["client_secret"],  # hashed on save; the harness keeps the plain value
        hash_client_secret=True,
        skip_authorization=False,  # the consent form is real
        algorithm=Application.RS256_ALGORITHM,  # so ID tokens are issued and signed with the RSA key
    )
    application.full_clean()
    application.save()
    return {"client_id": application.client_id}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
