from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """The same Argon2id parameters as the project's own hasher (19 MiB, 2 iterations, 1 lane), so that a
    login costs the same hash on both sides and neither rehashes the shared seeded hash (`must_update`)."""

    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1
