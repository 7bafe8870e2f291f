"""The reference pages (docs/reference/) are made from the code by docs/gen_reference.py; this fails when the
committed pages differ from what the code makes now."""
import difflib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "reference"


def generator():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.md"))}


def test_the_committed_reference_pages_are_what_the_code_makes(tmp_path):
    generator().write(tmp_path)
    fresh, committed = pages(tmp_path), pages(COMMITTED)
    stale = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    diff = "".join(line for name in stale for line in list(difflib.unified_diff(
        committed.get(name, "").splitlines(keepends=True), fresh.get(name, "").splitlines(keepends=True),
        f"committed/{name}", f"from the code/{name}"))[:40])
    assert not stale, f"docs/reference/ is out of date ({', '.join(stale)}): run make docs-reference\n{diff}"
