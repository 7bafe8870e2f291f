"""The house's rules, read from the code's own imports (every import statement, those inside functions too),
so that a change that breaks them fails here, not in a reviewer's eye:

- the apps depend on each other one way (docs/explanation/architecture.md): authcore <- sessions_app <- accounts,
  sessions_app <- connections, accounts <- mfa, and only the host project (config) sees them all;
- inside `accounts`, every import runs down its layers (ACCOUNTS_LAYERS): the models apply the user rules,
  which know no flow; the flows use the models; the edges (pages, API, admin) use the flows;
- no app has an import circle.

Tests and migrations are not part of the house (a test may import anything)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("authcore", "sessions_app", "accounts", "connections", "mfa", "config")
# What each app may import besides itself.
MAY_IMPORT = {
    "authcore": set(),
    "sessions_app": {"authcore"},
    "accounts": {"sessions_app", "authcore"},
    "connections": {"sessions_app", "authcore"},
    # Second factors plug into the accounts' flows (accounts.second_factor); accounts never imports them.
    "mfa": {"accounts", "sessions_app", "authcore"},
    "config": {"authcore", "sessions_app", "accounts", "connections", "mfa"},
}
# accounts, from the ground up: a module imports only from its own layer or below (and without a circle).
ACCOUNTS_LAYERS = (
    ("conf", "errors", "events", "limits", "signals", "addresses", "names", "hashers", "password_validation",
     "context_processors", "device_cookie", "redaction", "data", "languages", "second_factor"),
    ("emails",),        # which change sends which email; the queue and its worker (knows no flow, no model)
    ("rules",),         # what a change to a user means, whoever stores it (applied by the models)
    ("models",),
    ("tokens", "login_throttle"),
    ("flows",),         # one module per flow
    ("forms",),         # the inputs of the flows, for the pages and the API
    ("views", "account_views", "api", "admin", "admin_site"),
    ("urls", "checks", "apps", "management", "testing"),
)


def modules_of(app: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / app).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(module: str, path: Path) -> set[str]:
    """The project modules `module` imports, as absolute dotted names (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import flows` names a module
    return {name for name in names if name.split(".")[0] in APPS}


ALL = {name: path for app in APPS for name, path in modules_of(app).items()}
GRAPH = {name: {target for target in imports_of(name, path) if target in ALL and target != name}
         for name, path in ALL.items()}


def layer_of(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    for number, names in enumerate(ACCOUNTS_LAYERS):
        if part in names:
            return number
    raise AssertionError(f"{module} is in no layer of ACCOUNTS_LAYERS: give it one")


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (each group once)."""
    reach = {node: reachable(graph, node) for node in graph}
    found: list[list[str]] = []
    for node in sorted(graph):
        if node in reach[node] and not any(node in circle for circle in found):
            found.append(sorted(other for other in reach[node] if node in reach.get(other, set())))
    return found


def test_the_reader_sees_every_import():
    """The checks below mean something only if imports are found: a few that must be there."""
    assert "accounts.rules" in GRAPH["accounts.models"]
    assert "accounts.flows.reauthentication" in GRAPH["accounts.flows.passwords"]
    assert "sessions_app.services" in GRAPH["accounts.rules"]


@pytest.mark.parametrize("app", APPS)
def test_apps_depend_on_each_other_one_way(app):
    wrong = sorted(f"{module} -> {target}" for module, targets in GRAPH.items() if module.split(".")[0] == app
                   for target in targets if target.split(".")[0] not in MAY_IMPORT[app] | {app})
    assert wrong == []


def test_accounts_imports_run_down_its_layers():
    accounts = [module for module in GRAPH if module.startswith("accounts.")]
    upward = sorted(f"{module} -> {target}" for module in accounts for target in GRAPH[module]
                    if target.startswith("accounts.") and layer_of(target) > layer_of(module))
    assert upward == []


def test_no_import_circle():
    assert circles(GRAPH) == []


def test_a_circle_would_be_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
