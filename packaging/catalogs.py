"""The catalogs cannot rot: CI's check (`make messages-check`) that the committed translation catalogs are

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
from hatch_build import catalogs  # noqa: E402  (the one list of catalogs, shared with the build)

COPY_IGNORED = shutil.ignore_patterns(".venv", ".git", ".nox", "site", "dist", "test-artifacts", "node_modules",
                                      "__pycache__", "*.mo", "db.sqlite3", "staticfiles", "sent-emails", ".env")


def message_ids(path: Path) -> set[tuple[str | None, str]]:
    return {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path)) if not entry.obsolete}


def regenerated_catalogs() -> dict[Path, Path]:
    """Each committed catalog -> the one `make messages` writes from the code, on a copy of the checkout."""
    scratch = Path(tempfile.mkdtemp(prefix="catalogs-"))
    copy = scratch / "checkout"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORED)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(["make", "--no-print-directory", "messages"], cwd=copy, check=True, stdout=subprocess.DEVNULL)
    return {path: copy / path.relative_to(ROOT) for path in catalogs()}


def problems() -> list[str]:
    found = []
    committed = catalogs()
    if not committed:
        return ["no catalog found"]
    for path, fresh in regenerated_catalogs().items():
        name = path.relative_to(ROOT)
        missing, stale = message_ids(fresh) - message_ids(path), message_ids(path) - message_ids(fresh)
        found += [f"{name}: not in the catalog (run `make messages`): {msgid!r}" for _, msgid in sorted(missing)]
        found += [f"{name}: no longer in the code (run `make messages`): {msgid!r}" for _, msgid in sorted(stale)]
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
    found = problems()
    for problem in found:
        print(problem)
    print(f"{len(catalogs())} catalogs checked: " + (f"{len(found)} problems" if found else "up to date and complete"))
    sys.exit(1 if found else 0)
