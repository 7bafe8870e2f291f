"""Print the settings of a development checkout, for `make run` to keep in the git-ignored `.env` that
config/settings.py reads: DEBUG on and random secrets of their own (never the published placeholders), so
every manage.py command works without typing them. Not for a deployment, which sets real variables."""
import secrets


def development_env() -> str:
    return (f"DEBUG=true\n"
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"JWT_SIGNING_KEY={secrets.token_urlsafe(48)}\n")


if __name__ == "__main__":
    print(development_env(), end="")
