"""Database and cache backends that keep Django's behaviour and cost fewer round trips on the hot paths.

Both are opt-in by dotted path (the project's settings choose them): `authcore.backends.postgresql` as a
database ENGINE, `authcore.backends.redis_cache.RedisCache` as a cache BACKEND. Code on a hot path runs its fixed
statements through `fetch_one_prepared(connection, ...)` (or `fetch_all_prepared`), an ordinary query on any
other backend, and writes the rows one step creates together through `insert_together`.
"""
from django.db.models.sql import InsertQuery


def fetch_one_prepared(connection, sql: str, params):
    """The first row of a fixed statement, prepared once per connection where the backend can
    (authcore.backends.postgresql); otherwise run as an ordinary query."""
    fetch = getattr(connection, "fetch_one_prepared", None)
    if fetch is not None:
        return fetch(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all_prepared(connection, sql: str, params) -> list:
    """The rows of a fixed statement, prepared once per connection where the backend can; otherwise run as an
    ordinary query."""
    fetch = getattr(connection, "fetch_all_prepared", None)
    if fetch is not None:
        return fetch(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def insert_together(connection, *instances) -> None:
    """Store new model instances (rows no receiver of Django's save signals watches) as `save(force_insert=True)`
    would, their defaults and primary keys included, in one statement where the backend can: on PostgreSQL a
    data-modifying WITH per row, all of them or none; elsewhere one INSERT each, in the caller's transaction. A row
    may refer to one before it (foreign keys are checked at the commit). No save signals are sent."""
    if connection.vendor != "postgresql" or len(instances) < 2:
        for instance in instances:
            instance.save(force_insert=True, using=connection.alias)
        return
    ctes, params, returning = [], [], []
    for number, instance in enumerate(instances):
        instance._prepare_related_fields_for_save(operation_name="save")
        meta = instance._meta
        pk_set = instance.pk is not None
        fields = [field for field in meta.local_concrete_fields
                  if not field.generated and (pk_set or field is not meta.auto_field)]
        query = InsertQuery(type(instance))
        query.insert_values(fields, [instance])
        compiler = query.get_compiler(connection=connection)
        # What the database makes (an auto-incremented key) is read back, as save() does.
        compiler.returning_fields = [] if pk_set else meta.db_returning_fields
        [(sql, values)] = compiler.as_sql()
        ctes.append(f"row{number} AS ({sql})")
        params.extend(values)
        if compiler.returning_fields:
            returning.append((f"row{number}", instance, compiler.returning_fields))
    selected = ", ".join(name for name, _, _ in returning)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {'*' if returning else '1'}"
                       f"{f' FROM {selected}' if returning else ''}", params)
        row = list(cursor.fetchone())
    for _, instance, fields in returning:
        for field in fields:
            setattr(instance, field.attname, row.pop(0))
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias
