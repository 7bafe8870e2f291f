"""The compiled translation catalogs: each app's locale/<language>/LC_MESSAGES/django.po compiled to the .mo file
Django reads. The .mo files are build output (git-ignored): the wheel's build compiles them here and ships them,
and `make install` compiles them for a development checkout (`python hatch_build.py`).

polib compiles them, so neither a build nor a development checkout needs GNU gettext; the catalog check in CI
(packaging/catalogs.py) also runs gettext's own msgfmt over every catalog to catch a broken placeholder.
"""
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent
# The one list of the apps that ship catalogs and of the locales they ship (beside English): the build, `make
# messages`, the catalog check and the fresh-project proof read them here. settings.LANGUAGES offers them.
CATALOG_APPS = ["authcore", "sessions_app", "accounts", "connections", "mfa"]
LOCALES = ["de", "es", "fr", "ar"]
# ... and this repository's own project (its home and error pages), whose catalogs are not shipped.
CATALOG_ROOTS = [*CATALOG_APPS, "."]


def catalogs(root: Path = ROOT, roots=CATALOG_ROOTS) -> list[Path]:
    return sorted(path for name in roots for path in (root / name).glob("locale/*/LC_MESSAGES/*.po"))


def compile_catalogs(root: Path = ROOT, roots=CATALOG_ROOTS) -> list[Path]:
    """Write each catalog's .mo beside it, when the .po is newer; returns every .mo."""
    compiled = []
    for po_path in catalogs(root, roots):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        compiled.append(mo_path)
    return compiled


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # `python hatch_build.py` in a checkout without hatchling
    BuildHookInterface = object


class CatalogBuildHook(BuildHookInterface):
    """Hatchling's build hook: the wheel carries the compiled catalogs of the apps it ships."""

    def initialize(self, version, build_data) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        for mo_path in compile_catalogs(root, roots=CATALOG_APPS):
            build_data["force_include"][str(mo_path)] = str(mo_path.relative_to(root))


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path.relative_to(ROOT))
