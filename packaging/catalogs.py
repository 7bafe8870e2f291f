"""`make messages` (update) and `make messages-check` (check, run by CI): the catalogs cannot rot. The check is
that the committed translation catalogs are

1. up to date: `make messages`, run on a copy of the checkout, finds no message id the catalogs lack and none
   they hold that the code no longer has;
2. complete: in every shipped locale every message is translated and none is fuzzy (a guess gettext made
   for a changed message, which a person has not checked yet);
3. well-formed: GNU gettext's msgfmt --check accepts each one (a placeholder lost in a translation, a plural
   form missing).

Needs GNU gettext (makemessages and msgfmt); the build and `make catalogs` do not.
"""
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile

import polib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from hatch_build import CATALOG_APPS, LOCALES, catalogs  # noqa: E402  (the one list, shared with the build)

COPY_IGNORED = shutil.ignore_patterns(".venv", ".git", ".nox", "site", "dist", "test-artifacts", "node_modules",
                                      "__pycache__", "*.mo", "db.sqlite3", "staticfiles", "sent-emails", ".env")


def update(root: Path = ROOT) -> None:
    """`make messages`: Django's makemessages for each app (in its folder, so its catalogs land in its locale/)
    and for this project's own pages. File names without line numbers, so moving code does not churn them."""
    django_admin = str(Path(sys.executable).with_name("django-admin"))
    options = [*(f"--locale={locale}" for locale in LOCALES), "--add-location=file", "--no-obsolete"]
    for app in CATALOG_APPS:
        subprocess.run([django_admin, "makemessages", *options, "--ignore=tests/*", "--ignore=testing.py"],
                       cwd=root / app, check=True, stdout=subprocess.DEVNULL)
    not_the_project = [*CATALOG_APPS, "bench", "docs", "examples", "packaging", "site", "config/tests/*"]
    subprocess.run([django_admin, "makemessages", *options, *(f"--ignore={name}" for name in not_the_project)],
                   cwd=root, check=True, stdout=subprocess.DEVNULL)


def message_ids(path: Path) -> set[tuple[str | None, str, str | None]]:
    return {(entry.msgctxt, entry.msgid, entry.msgid_plural or None)
            for entry in polib.pofile(str(path)) if not entry.obsolete}


def stale_or_missing() -> list[str]:
    """What `make messages` would change in the catalogs' message ids, run on a copy of the checkout."""
    found = []
    with tempfile.TemporaryDirectory(prefix="catalogs-") as scratch:
        copy = Path(scratch) / "checkout"
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORED)
        update(copy)
        for path in catalogs():
            name, fresh = path.relative_to(ROOT), copy / path.relative_to(ROOT)
            missing, stale = message_ids(fresh) - message_ids(path), message_ids(path) - message_ids(fresh)
            found += [f"{name}: not in the catalog (run `make messages`): {ids[1]!r}"
                      for ids in sorted(missing, key=str)]
            found += [f"{name}: no longer in the code (run `make messages`): {ids[1]!r}"
                      for ids in sorted(stale, key=str)]
    return found


def problems() -> list[str]:
    committed = catalogs()
    if not committed:
        return ["no catalog found"]
    found = stale_or_missing()
    for path in committed:
        name, catalog = path.relative_to(ROOT), polib.pofile(str(path))
        found += [f"{name}: untranslated: {entry.msgid!r}" for entry in catalog.untranslated_entries()]
        found += [f"{name}: fuzzy: {entry.msgid!r}" for entry in catalog.fuzzy_entries()]
        found += [f"{name}: obsolete entry: {entry.msgid!r}" for entry in catalog.obsolete_entries()]
        checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        if checked.returncode != 0:
            found.append(f"{name}: msgfmt --check: {checked.stderr.strip()}")
    return found


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
        sys.exit(0)
    if sys.argv[1:] not in ([], ["check"]):
        sys.exit("usage: catalogs.py [check | update]")
    found = problems()
    for problem in found:
        print(problem)
    print(f"{len(catalogs())} catalogs checked: " + (f"{len(found)} problems" if found else "up to date and complete"))
    sys.exit(1 if found else 0)
