"""SecurityEvent now lives in authcore (its table stays where it is: see authcore's first migration), and a
session's revoke reason is a plain string: each app declares its own reasons, so a new reason is no
longer a migration here."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0003_login_lock_event"),
        ("authcore", "0001_security_event_moves_here"),
    ]

    operations = [
        migrations.AlterField(
            model_name="session",
            name="revoke_reason",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SecurityEvent")],
            database_operations=[],
        ),
    ]
