"""Database and cache backends that keep Django's behaviour and cost fewer round trips on the hot paths.

Both are opt-in by dotted path (the project's settings choose them): `authcore.backends.postgresql` as a
database ENGINE, `authcore.backends.redis_cache.RedisCache` as a cache BACKEND. Code on a hot path runs its fixed
statements through `fetch_one_prepared(connection, ...)` (or `fetch_all_prepared`), an ordinary query on any
other backend, and writes the rows one step creates together through `insert_together`.
"""
from django.db import transaction
from django.db.models.signals import post_save, pre_save


def fetch_one_prepared(connection, sql: str, params):
    """The first row of a fixed statement, prepared once per connection where the backend can
    (authcore.backends.postgresql); otherwise run as an ordinary query."""
    return _run_fixed(connection, sql, params, "fetch_one_prepared", "fetchone")


def fetch_all_prepared(connection, sql: str, params) -> list:
    """The rows of a fixed statement, prepared once per connection where the backend can; otherwise run as an
    ordinary query."""
    return _run_fixed(connection, sql, params, "fetch_all_prepared", "fetchall")


def _run_fixed(connection, sql: str, params, prepared_method: str, cursor_method: str):
    fetch = getattr(connection, prepared_method, None)
    if fetch is not None:
        return fetch(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return getattr(cursor, cursor_method)()


def insert_together(connection, *instances) -> None:
    """Store new model instances as `save(force_insert=True)` would, their defaults and primary keys included, in
    one statement where the backend can: on PostgreSQL a data-modifying WITH per row, all of them or none, a fixed
    statement for each sequence of models (prepared once per connection, fetch_one_prepared); elsewhere, for a value
    that is an expression, or for a model a receiver of Django's save signals watches (a host project's audit
    forwarder, say: it must still hear of every row), one save() each, in the caller's transaction. A row may refer
    to one before it (foreign keys are checked at the commit)."""
    if (connection.vendor == "postgresql" and len(instances) > 1
            and not any(signal.has_listeners(type(instance)) for signal in (pre_save, post_save)
                        for instance in instances)):
        params = _insert_params(connection, instances)
        if params is not None:
            sql, returning = _insert_together_sql(connection, tuple(
                (type(instance), instance.pk is not None) for instance in instances))
            row = list(fetch_one_prepared(connection, sql, params))
            for number, fields in returning:
                for field in fields:
                    setattr(instances[number], field.attname, row.pop(0))
            for instance in instances:
                instance._state.adding, instance._state.db = False, connection.alias
            return
    with transaction.atomic(using=connection.alias, savepoint=False):  # all of them or none, here too
        for instance in instances:
            instance.save(force_insert=True, using=connection.alias)


def _insert_fields(model, pk_set: bool) -> list:
    """The fields an INSERT of `model` writes, as Model.save chooses them."""
    meta = model._meta
    return [field for field in meta.local_concrete_fields
            if not field.generated and (pk_set or field is not meta.auto_field)]


def _insert_params(connection, instances) -> list | None:
    """The values the rows' INSERTs bind, as Django's insert compiler prepares them; None when one is an expression
    or a field writes its own placeholder (then the rows are saved one by one)."""
    params = []
    for instance in instances:
        instance._prepare_related_fields_for_save(operation_name="save")
        for field in _insert_fields(type(instance), instance.pk is not None):
            value = field.pre_save(instance, True)
            if hasattr(value, "resolve_expression") or hasattr(field, "get_placeholder"):
                return None
            params.append(field.get_db_prep_save(value, connection=connection))
    return params


_insert_statements: dict = {}


def _insert_together_sql(connection, shape: tuple) -> tuple[str, list]:
    """The statement that inserts one row of each (model, primary key set) of `shape`, and, per row whose key the
    database makes, its index and the fields read back (save() reads them too). Built once per shape."""
    key = (connection.vendor, shape)
    if key not in _insert_statements:
        quote = connection.ops.quote_name
        ctes, returning = [], []
        for number, (model, pk_set) in enumerate(shape):
            fields = _insert_fields(model, pk_set)
            sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"
                   f" VALUES ({', '.join(['%s'] * len(fields))})")
            read_back = [] if pk_set else list(model._meta.db_returning_fields)
            if read_back:
                sql += f" RETURNING {', '.join(quote(field.column) for field in read_back)}"
                returning.append((number, read_back))
            ctes.append(f"row{number} AS ({sql})")
        selected = ", ".join(f"row{number}" for number, _ in returning)
        _insert_statements[key] = (f"WITH {', '.join(ctes)} SELECT {f'* FROM {selected}' if returning else '1'}",
                                   returning)
    return _insert_statements[key]
