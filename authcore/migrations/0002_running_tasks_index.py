"""An index on the tasks that are running, for the worker's look for abandoned ones (authcore/tasks.py).

django-tasks-db indexes only the ready tasks; without this the look would read the whole task table,
finished tasks included (a month of them, say), several times per lease. Partial: only RUNNING rows, a
handful at any time. Raw SQL because the table belongs to django-tasks-db's app; SQLite and PostgreSQL
both support partial indexes."""
from django.db import migrations

INDEX = "authcore_running_tasks_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("authcore", "0001_security_event_moves_here"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON django_tasks_database_dbtaskresult (started_at) WHERE status = 'RUNNING'",
            f"DROP INDEX {INDEX}",
        ),
    ]
