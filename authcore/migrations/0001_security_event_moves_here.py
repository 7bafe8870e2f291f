"""SecurityEvent moves from sessions_app to the kernel. Only Django's idea of where the model lives changes:
the table (`sessions_app_securityevent`), its rows and its indexes stay as they are."""
from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion
import django.utils.timezone


def move_content_type(apps, schema_editor):
    # Permissions and admin log entries point at the content type: keep them by relabelling it.
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="authcore", model="securityevent").exists():
        ContentType.objects.using(db).filter(app_label="sessions_app", model="securityevent").update(app_label="authcore")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="sessions_app", model="securityevent").exists():
        ContentType.objects.using(db).filter(app_label="authcore", model="securityevent").update(app_label="sessions_app")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions_app", "0003_login_lock_event"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SecurityEvent",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("kind", models.CharField(max_length=40)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=512)),
                        ("session_id", models.UUIDField(blank=True, null=True)),
                        ("details", models.JSONField(blank=True, default=dict)),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                    related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                   related_name="security_events", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "sessions_app_securityevent",
                        "ordering": ["-created_at"],
                        "indexes": [models.Index(fields=["kind", "created_at"], name="securityevent_kind_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
