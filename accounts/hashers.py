from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id at the OWASP Password Storage baseline: 19 MiB, 2 iterations, 1 lane.

    Django's own defaults (100 MiB, 8 lanes) are stronger per hash but cost ~5x the memory; on a 2-core host
    that caps concurrent logins. Raise these numbers for bigger machines: hashes with other parameters are
    upgraded at the next successful login (`must_update`). The algorithm name stays "argon2", so existing
    Django argon2 hashes verify unchanged."""

    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1
