"""Write the reference pages (docs/reference/*.md) from the code, so that they cannot drift from it.

    make docs-reference

- settings.md: the apps' namespaced settings (declared defaults and the comments above them in each app's
  conf.py), the rate-limit scopes, the standard settings the apps read and their system checks, and every
  environment variable config/settings.py reads (parsed with ast: default, what it sets, its comment);
- api.md: every endpoint, from the OpenAPI schema drf-spectacular generates;
- errors.md: the error registry (authcore.errors) with the endpoints that answer each code;
- security-events.md: the declared security event kinds (authcore.audit.declare_event) and session end reasons;
- commands.md: the management commands of the apps, from their argument parsers;
- index.md: links to those.

The pages depend on the code only: the variables config/settings.py reads are cleared before Django starts
(DEBUG on, no .env file), defaults are the declared ones, lists are sorted or in declaration order, and
nothing carries a date. config/tests/test_reference_docs.py regenerates the pages and fails when the
committed ones differ.
"""
import ast
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
import functools
import importlib
import io
import json
import os
from pathlib import Path
import re
import sys
import tokenize

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "reference"
APPS = ("accounts", "authcore", "connections", "mfa", "sessions_app")
HOST_SETTINGS = ROOT / "config" / "settings.py"
NOTICE = ("<!-- Generated from the code by docs/gen_reference.py (`make docs-reference`): change the code and "
          "regenerate; do not edit this page. -->\n\n")


# --- Markdown -------------------------------------------------------------------------------------------------
def code(value) -> str:
    """A code span that holds any text, backticks included."""
    value = str(value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def text(value: str, *, links: bool = False) -> str:
    """Prose from the code as one line of Markdown: its `code spans` (and with `links`, its [links](target))
    kept, everything else taken literally."""
    kept = r"(\[`?[^`\]]+`?\]\([^)\s]+\)|`[^`]+`)" if links else r"(`[^`]+`)"
    parts = re.split(kept, " ".join(str(value).split()))
    escaped = []
    for index, part in enumerate(parts):
        if index % 2:
            escaped.append(part)
            continue
        for char, replacement in (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"),
                                  ("*", "\\*"), ("[", "\\["), ("]", "\\]")):
            part = part.replace(char, replacement)
        escaped.append(part)
    return "".join(escaped)


def anchor(name: str) -> str:
    return f'<a id="{name}"></a>'


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def py(value) -> str:
    """A value as it would be written in a settings file."""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        if seconds == 0:
            return "timedelta(0)"
        for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1)):
            if seconds % size == 0 and value.microseconds == 0:
                return f"timedelta({unit}={seconds // size})"
        return f"timedelta(seconds={value.total_seconds()})"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(key)}: {py(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(py(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(py(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


# --- reading source -------------------------------------------------------------------------------------------
class Source:
    """A module's syntax tree and its comments: the block of comment lines right above a line describes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.lines = self.text.splitlines()
        self.tree = ast.parse(self.text)
        self.comments: dict[int, str] = {}
        for token in tokenize.generate_tokens(io.StringIO(self.text).readline):
            if token.type == tokenize.COMMENT and self.lines[token.start[0] - 1].lstrip().startswith("#"):
                self.comments[token.start[0]] = token.string.lstrip("#").strip()

    def comment_above(self, line: int) -> str:
        block = []
        line -= 1
        while line in self.comments:
            block.insert(0, self.comments[line])
            line -= 1
        return " ".join(block)

    def segment(self, node: ast.AST) -> str:
        return " ".join(ast.get_source_segment(self.text, node).split())


def app_sources() -> list[tuple[str, Source]]:
    """(module name, source) of every module of the apps, tests and migrations left out."""
    sources = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            sources.append((module, Source(path)))
    return sources


def calls_to(tree: ast.AST, name: str):
    """Calls of a function called `name` (plainly or as an attribute)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if called == name:
                yield node


def declarations(sources, function: str) -> dict[str, str]:
    """{first argument: module} of the calls to a declaring function (register_errors takes a dict: its keys).
    Importing the declaring modules fills the registries the pages are made from."""
    declared = {}
    for module, source in sources:
        for call in calls_to(source.tree, function):
            if not call.args:
                continue
            first = call.args[0]
            names = list(first.keys) if isinstance(first, ast.Dict) else [first]
            for name in names:
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    declared[name.value] = module
    for module in sorted(set(declared.values())):
        importlib.import_module(module)
    return declared


def app_of(module: str) -> str:
    return module.split(".")[0]


# --- settings: the apps' namespaces ---------------------------------------------------------------------------
@dataclass
class SettingGroup:
    names: list[str]
    description: str


def setting_groups(conf: Source) -> list[SettingGroup]:
    """The declared settings in order; a comment describes the settings below it, up to the next comment."""
    call = next(calls_to(conf.tree, "AppSettings"))
    groups: list[SettingGroup] = []
    for key in call.args[1].keys:
        comment = conf.comment_above(key.lineno)
        if comment or not groups:
            if not comment:
                raise SystemExit(f"{conf.path}: {key.value} has no comment above it to describe it")
            groups.append(SettingGroup([], comment))
        groups[-1].names.append(key.value)
    return groups


def setting_anchor(namespace: str, name: str) -> str:
    return f"{namespace}-{name}"


@functools.cache
def declared_settings(app: str) -> tuple[str, dict, list[SettingGroup]]:
    """(namespace, defaults, described groups) of an app's AppSettings in its conf module."""
    from authcore.conf import AppSettings

    module = importlib.import_module(f"{app}.conf")
    settings_object = next(value for value in vars(module).values() if isinstance(value, AppSettings))
    groups = setting_groups(Source(ROOT / app / "conf.py"))
    if sorted(name for group in groups for name in group.names) != sorted(settings_object._defaults):
        raise SystemExit(f"{app}/conf.py: the settings are not all declared in one dict literal")
    return settings_object._namespace, settings_object._defaults, groups


def namespaced_settings_page(env: "HostEnvironment", lines: list[str]) -> None:
    lines.append("## The apps' settings\n\n")
    lines.append(text(
        "Each app reads one dictionary of the Django settings; a missing key takes the default below, and an "
        "unknown key stops the service at start-up (a system check), so a typo is never silently ignored. The "
        "environment variable is the one this project's `config/settings.py` sets the key from, where it does.")
        + "\n\n")
    for app in APPS:
        namespace, defaults, groups = declared_settings(app)
        lines.append(f"### {namespace}\n\nRead by {code(app)} ({code(f'{app}/conf.py')}).\n\n")
        rows = []
        for group in groups:
            rows.append([
                "<br>".join(anchor(setting_anchor(namespace, name)) + code(name) for name in group.names),
                "<br>".join(code(py(defaults[name])) for name in group.names),
                "<br>".join(", ".join(f"[{code(var)}](#env-{var})" for var in env.setting_vars(namespace, name))
                            or "—" for name in group.names),
                text(group.description),
            ])
        lines.append(table(["Setting", "Default", "Environment variable", "Description"], rows) + "\n")


def rate_limit_section(sources, lines: list[str]) -> None:
    from authcore.ratelimit import KEY_KINDS, SCOPES

    declared = declarations(sources, "declare_scope")
    missing = set(SCOPES) - set(declared)
    if missing:
        raise SystemExit(f"rate-limit scopes declared outside a declare_scope call: {sorted(missing)}")
    lines.append(anchor("rate-limit-scopes") + "\n\n### Rate-limit scopes\n\n")
    lines.append(text(
        "The scopes `AUTHCORE[\"RATE_LIMITS\"]` and `AUTHCORE[\"RATE_LIMIT_FAIL_OPEN\"]` name, with their "
        "default limits in django-ratelimit's `N/period` form, per client IP address and per account (no "
        "limit where empty). `RATE_LIMITS` is laid over these scope by scope and key by key, e.g. "
        "`{\"login\": {\"ip\": \"60/m\"}}`; `None` turns a key off. A scope that fails open lets requests "
        "through while the rate-limit cache is unreachable; the others answer 503 `service_unavailable`.")
        + "\n\n")
    rows = [[code(name), *(code(scope.rates[kind]) if scope.rates.get(kind) else "" for kind in KEY_KINDS),
             "open" if scope.fail_open else "closed", code(app_of(declared[name]))]
            for name, scope in sorted(SCOPES.items())]
    headers = ["Scope", *(f"Per {kind}" for kind in KEY_KINDS), "Cache unreachable", "App"]
    lines.append(table(headers, rows) + "\n")


# --- settings: standard settings and system checks ------------------------------------------------------------
def settings_read(sources) -> dict[str, set[str]]:
    """{standard setting: modules} for every `settings.NAME` / `getattr(settings, "NAME")` of django.conf's
    settings, and every simplejwt `api_settings.NAME` (a key of SIMPLE_JWT), in the apps' code."""
    read: dict[str, set[str]] = defaultdict(set)
    for module, source in sources:
        aliases = {}
        for node in ast.walk(source.tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("django.conf", "rest_framework_simplejwt.settings"):
                for name in node.names:
                    if name.name in ("settings", "api_settings"):
                        aliases[name.asname or name.name] = "" if node.module == "django.conf" else "SIMPLE_JWT"
        for node in ast.walk(source.tree):
            name, holder = None, None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                name, holder = node.attr, aliases[node.value.id]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                  and isinstance(node.args[0], ast.Name) and node.args[0].id in aliases
                  and isinstance(node.args[1], ast.Constant)):
                name, holder = node.args[1].value, aliases[node.args[0].id]
            if name and name.isupper():
                read[f'{holder}["{name}"]' if holder else name].add(module)
    return read


def placeholder(node: ast.AST, module) -> str:
    """An interpolated value of a check's message: a module constant's value, else {the name it comes from}."""
    while True:
        if isinstance(node, ast.Call) and len(node.args) == 1 and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "join")
                or (isinstance(node.func, ast.Name) and node.func.id in ("sorted", "list", "repr", "str"))):
            node = node.args[0]
        elif isinstance(node, ast.BoolOp):
            node = node.values[0]
        else:
            break
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        return value if node.id.isupper() and isinstance(value, str) else "{" + node.id + "}"
    return "{…}"


def message_text(node: ast.AST | None, module) -> str:
    """A check's message or hint as written, each interpolated value shown by placeholder()."""
    if node is None:
        return ""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(value.value if isinstance(value, ast.Constant) else placeholder(value.value, module)
                       for value in node.values)
    return placeholder(node, module)


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    message: str
    hint: str


def system_checks(sources) -> list[Check]:
    """The checks.Error / checks.Warning the apps' checks can report, read from their source, and the check
    of unknown keys every namespace has (authcore.conf.AppSettings.unknown_settings_errors)."""
    from django.test import override_settings

    from authcore.conf import AppSettings

    found = set()
    for module, source in sources:
        for node in ast.walk(source.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if node.func.attr in ("Error", "Warning") and isinstance(keywords.get("id"), ast.Constant):
                imported = importlib.import_module(module)
                found.add(Check(keywords["id"].value, node.func.attr, message_text(node.args[0], imported),
                                message_text(keywords.get("hint"), imported)))
            elif node.func.attr == "unknown_settings_errors" and isinstance(node.args[0], ast.Constant):
                namespace = importlib.import_module(f"{app_of(module)}.conf").app_settings._namespace
                with override_settings(**{namespace: {"{names}": None}}):
                    [error] = AppSettings(namespace, {}).unknown_settings_errors(node.args[0].value)
                found.add(Check(error.id, "Error", error.msg, error.hint or ""))
    # The one check that runs while the apps load, before the system checks can (authcore/installation.py).
    from authcore import installation
    found.add(Check(installation.CHECK_ID, "Error", installation.CHECK_SUMMARY, installation.HINT))
    return sorted(found, key=lambda check: (check.id, check.message))


def checks_section(sources, lines: list[str]) -> None:
    lines.append("## Standard settings the apps read\n\n")
    lines.append(text(
        "Django, Django REST framework and simplejwt settings the apps' code reads; the system checks below "
        "refuse (Error: the service does not start) or warn about values that would weaken it.") + "\n\n")
    read = settings_read(sources)
    rows = [[code(name), ", ".join(code(module) for module in sorted(read[name]))] for name in sorted(read)]
    lines.append(table(["Setting", "Read by"], rows) + "\n")
    lines.append(anchor("system-checks") + "\n\n### System checks\n\n")
    lines.append(text("What `manage.py check` (and every start) reports; `{name}` or `{…}` stands for a value "
                      "filled in when the check runs.") + "\n\n")
    by_id: dict[str, list[Check]] = defaultdict(list)
    for check in system_checks(sources):
        by_id[check.id].append(check)
    rows = [[anchor(check_id) + code(check_id), checks[0].level,
             "<br>".join(text(check.message) for check in checks),
             "<br>".join(text(check.hint) for check in checks if check.hint)]
            for check_id, checks in by_id.items()]
    lines.append(table(["ID", "Level", "Message", "Hint"], rows) + "\n")


# --- settings: the host project's environment variables ------------------------------------------------------
READERS = {"env": "text", "env_bool": "boolean", "env_int": "integer", "env_float": "number",
           "env_list": "comma-separated list", "os.environ.get": "text"}


@dataclass(frozen=True)
class Target:
    """Where a value goes: a setting (`NAME["key"]...`) or a local name, and the unit a call gives it
    (`timedelta(days=...)`: days)."""

    path: str
    unit: str = ""

    def within(self, step: str) -> "Target":
        return Target(f"{self.path}[{step}]") if self.path else self

    @property
    def is_setting(self) -> bool:
        return bool(self.path) and not (re.fullmatch(r"\w+", self.path) and not self.path.isupper())


@dataclass
class Read:
    """One place config/settings.py reads a variable."""

    kind: str
    default: str
    target: Target
    conditions: tuple[str, ...]  # Markdown
    comment: str


@dataclass
class HostEnvironment:
    source: Source
    reads: dict[str, list[Read]] = field(default_factory=lambda: defaultdict(list))
    # {name: the targets whose value it is part of, each with the conditions under which it is}
    flows: dict[str, set[tuple[Target, tuple[str, ...]]]] = field(default_factory=lambda: defaultdict(set))

    def setting_vars(self, namespace: str, name: str) -> list[str]:
        path = f'{namespace}["{name}"]'
        return sorted(var for var in self.reads if any(target.path == path for target, _ in self.targets(var)))

    def targets(self, var: str) -> list[tuple[Target, tuple[str, ...]]]:
        """What a variable's value goes into (with the conditions of the read), directly or through the
        names it is assigned to."""
        found: list[tuple[Target, tuple[str, ...]]] = []
        pending = [(read.target, read.conditions) for read in self.reads[var]]
        while pending:
            target, conditions = pending.pop(0)
            if any(target == seen for seen, _ in found):
                continue
            found.append((target, conditions))
            if re.fullmatch(r"\w+", target.path):
                onwards = sorted(self.flows.get(target.path, ()), key=lambda item: item[0].path)
                pending.extend((onward, conditions + tuple(c for c in more if c not in conditions))
                               for onward, more in onwards)
        return [(target, conditions) for target, conditions in found if target.is_setting]


def path_of(node: ast.AST) -> str | None:
    """`NAME["key"]...` for an assignment target (a setdefault(key, ...) counts as ["key"])."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        base = path_of(node.value)
        return base and f"{base}[{json.dumps(node.slice.value)}]"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault"
            and isinstance(node.args[0], ast.Constant)):
        base = path_of(node.func.value)
        return base and f"{base}[{json.dumps(node.args[0].value)}]"
    return None


def negated(condition: str) -> str:
    if condition.startswith("not "):
        return condition[4:]
    return f"not {condition}" if re.fullmatch(r"\w+", condition) else f"not ({condition})"


@dataclass(frozen=True)
class Place:
    """Where in config/settings.py an expression is: what it sets, under which conditions, and the lines
    (statement first, innermost dict entry last) whose comments may describe it."""

    target: Target
    conditions: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()

    def at(self, target: Target | None = None, condition: str | None = None, line: int | None = None) -> "Place":
        return Place(self.target if target is None else target,
                     self.conditions + ((condition,) if condition else ()),
                     self.lines + ((line,) if line else ()))


class HostSettingsReader:
    """Walks config/settings.py: each call of its env helpers (and dj_database_url's DATABASE_URL) with the
    setting its value goes into, the conditions it is read under, and the comment that describes it: the one
    above its dict entry, else the one above its statement or the statements before it in its paragraph."""

    def __init__(self) -> None:
        self.source = Source(HOST_SETTINGS)
        self.env = HostEnvironment(self.source)

    def run(self) -> HostEnvironment:
        self.statements(self.source.tree.body, ())
        return self.env

    def statements(self, body: list[ast.stmt], conditions: tuple[str, ...]) -> None:
        for statement in body:
            here = Place(Target(""), conditions, (statement.lineno,))
            if isinstance(statement, ast.If):
                test = self.source.segment(statement.test)
                for node in statement.body:
                    if isinstance(node, ast.Assign):
                        self.expression(statement.test, here.at(Target(path_of(node.targets[0]) or ""),
                                                                f"{code(test)}"))
                self.statements(statement.body, conditions + (code(test),))
                self.statements(statement.orelse, conditions + (code(negated(test)),))
            elif isinstance(statement, ast.Try):
                self.statements(statement.body, conditions)
            elif isinstance(statement, ast.Assign):
                self.expression(statement.value, here.at(Target(path_of(statement.targets[0]) or "")))
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                call = statement.value
                if isinstance(call.func, ast.Attribute) and call.func.attr == "setdefault" and len(call.args) == 2:
                    self.expression(call.args[1], here.at(Target(path_of(call) or "")))
                else:
                    self.expression(call, here)

    def expression(self, node: ast.AST, place: Place) -> None:  # noqa: C901, PLR0912 (one case per node type)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant):
                    self.expression(value, place.at(place.target.within(json.dumps(key.value)), line=key.lineno))
                else:
                    self.expression(value, place)
        elif isinstance(node, ast.List | ast.Tuple):
            for index, item in enumerate(node.elts):
                self.expression(item, place.at(place.target.within(str(index)), line=item.lineno))
        elif isinstance(node, ast.IfExp):
            test = self.source.segment(node.test)
            self.expression(node.test, place)
            self.expression(node.body, place.at(condition=code(test)))
            self.expression(node.orelse, place.at(condition=code(negated(test))))
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and self.read(node.values[0]):
            self.record(node.values[0], place, fallback=" or ".join(self.source.segment(v) for v in node.values[1:]))
            for value in node.values[1:]:
                self.expression(value, place)
        elif self.read(node):
            self.record(node, place)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                unit = keyword.arg if self.source.segment(node.func) == "timedelta" else ""
                self.expression(keyword.value, place.at(Target(place.target.path, unit)))
            for child in [*node.args, node.func]:
                self.expression(child, place)
        else:
            if isinstance(node, ast.Name) and place.target.path:
                self.env.flows[node.id].add((place.target, place.conditions))
            for child in ast.iter_child_nodes(node):
                self.expression(child, place)

    def read(self, node: ast.AST) -> tuple[str, str, ast.AST | None, list[ast.keyword]] | None:
        """(variable, kind, default expression, other keyword arguments) if `node` reads a variable."""
        if not isinstance(node, ast.Call):
            return None
        function = self.source.segment(node.func)
        if function in READERS and node.args and isinstance(node.args[0], ast.Constant):
            return node.args[0].value, READERS[function], node.args[1] if len(node.args) > 1 else None, []
        if function == "dj_database_url.config":
            import inspect

            import dj_database_url

            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            name = keywords["env"].value if "env" in keywords else (
                inspect.signature(dj_database_url.config).parameters["env"].default)
            others = [keyword for keyword in node.keywords if keyword.arg not in ("env", "default")]
            return name, "database URL", keywords.get("default"), others
        return None

    def comment(self, lines: tuple[int, ...]) -> str:
        """The comment above the innermost dict entry that has one, else the one right above the statement;
        for a statement that is no dict entry, else the one above the statements before it in its paragraph
        (or above the block it opens)."""
        for line in reversed(lines[1:]):
            if self.source.comment_above(line):
                return self.source.comment_above(line)
        line = lines[0]
        if len(lines) > 1:
            return self.source.comment_above(line)
        while not self.source.comment_above(line) and line - 1 in self.statement_lines:
            line = self.statement_lines[line - 1]
        return self.source.comment_above(line)

    @functools.cached_property
    def statement_lines(self) -> dict[int, int]:
        """{last line of a statement, or the header line of a block: the statement's first line}."""
        lines = {}
        for node in ast.walk(self.source.tree):
            if isinstance(node, ast.stmt):
                lines[node.end_lineno] = node.lineno
                if hasattr(node, "body"):
                    lines[node.body[0].lineno - 1] = node.lineno
        return lines

    def record(self, node: ast.Call, place: Place, fallback: str = "") -> None:
        name, kind, default, others = self.read(node)
        default_text = self.source.segment(default) if default is not None else (fallback or '""')
        self.env.reads[name].append(Read(kind, default_text, place.target, place.conditions, self.comment(place.lines)))
        if default is not None:
            # A variable read as another's default (AWS_DEFAULT_REGION) goes where that one would.
            self.expression(default, place.at(condition=f"{code(name)} is unset"))
        for keyword in others:
            self.expression(keyword.value, place.at(Target(place.target.path, keyword.arg)))


def environment_section(env: HostEnvironment, lines: list[str]) -> None:
    lines.append(anchor("environment-variables") + "\n\n## Environment variables\n\n")
    lines.append(text(
        "What this project's `config/settings.py` reads from the environment (a deployment sets real variables; "
        "a development checkout keeps them in its `.env` file), with the default used when a variable is unset "
        "(a number or a boolean, or a value with an `or` fallback, also when it is empty), and the settings its "
        "value goes into or changes. `BASE_DIR` is the directory of `manage.py`. A boolean is true for `1`, "
        "`true`, `yes` or `on`.") + "\n\n")
    rows = []
    for var in sorted(env.reads):
        reads = env.reads[var]
        # Each read's comment, or the description of the app setting it sets.
        descriptions = [read.comment or app_setting_description(read.target) for read in reads]
        if not any(descriptions):
            descriptions = [app_setting_description(target) for target, _ in env.targets(var)]
        descriptions = list(dict.fromkeys(filter(None, descriptions)))
        rows.append([
            anchor(f"env-{var}") + code(var), ", ".join(sorted({read.kind for read in reads})),
            "<br>".join(code(default) for default in sorted({read.default for read in reads})),
            "<br>".join(target_link(target) + (" when " + " and ".join(conditions) if conditions else "")
                        for target, conditions in env.targets(var)) or "—",
            " ".join(text(description) for description in descriptions),
        ])
    lines.append(table(["Variable", "Type", "Default", "Goes into", "Description"], rows) + "\n")


def app_setting(target: Target) -> tuple[str, str, SettingGroup] | None:
    """(namespace, name, its group) when the target is one of the apps' settings."""
    match = re.fullmatch(r'(\w+)\["(\w+)"\]', target.path)
    for app in APPS if match else ():
        namespace, _, groups = declared_settings(app)
        if namespace == match.group(1):
            return next(((namespace, match.group(2), group) for group in groups if match.group(2) in group.names),
                        None)
    return None


def target_link(target: Target) -> str:
    found = app_setting(target)
    link = f"[{code(target.path)}](#{setting_anchor(*found[:2])})" if found else code(target.path)
    return link + (f" ({target.unit})" if target.unit else "")


def app_setting_description(target: Target) -> str:
    found = app_setting(target)
    return found[2].description if found else ""


def settings_page(sources) -> str:
    env = HostSettingsReader().run()
    lines = [NOTICE, "# Settings\n\n",
             text("Every setting of the apps with its default, the standard settings they read and check, and "
                  "the environment variables of this project's settings module.") + "\n\n"]
    namespaced_settings_page(env, lines)
    rate_limit_section(sources, lines)
    checks_section(sources, lines)
    environment_section(env, lines)
    return "".join(lines)


# --- API ------------------------------------------------------------------------------------------------------
def openapi_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_type(schema: dict, components: dict) -> str:
    """A property's type in words, linking to the component it refers to."""
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        target = components[name]
        if name == "ErrorCodeEnum":
            return "error code ([list](errors.md#error-codes))"
        if name == "Error":
            return f"[{code(name)}](#error-body)"
        if "enum" in target:
            return "one of " + ", ".join(code(value) for value in target["enum"])
        return f"[{code(name)}](#schema-{name})"
    if "allOf" in schema and len(schema["allOf"]) == 1:
        kind = schema_type(schema["allOf"][0], components)
    elif schema.get("type") == "array":
        kind = "array of " + schema_type(schema.get("items", {}), components)
    elif "enum" in schema:
        kind = "one of " + ", ".join(code(value) for value in schema["enum"])
    else:
        kind = schema.get("type", "any") + (f" ({schema['format']})" if "format" in schema else "")
    return kind + (" or null" if schema.get("nullable") else "")


CONSTRAINTS = (("minLength", "length ≥ {}"), ("maxLength", "length ≤ {}"), ("minimum", "≥ {}"), ("maximum", "≤ {}"),
               ("default", "default {}"))


def constraints(schema: dict) -> str:
    found = [template.format(code(json.dumps(schema[key]))) for key, template in CONSTRAINTS if key in schema]
    if "pattern" in schema:
        found.append("pattern " + code(schema["pattern"]))
    if schema.get("readOnly"):
        found.append("read-only")
    return "; ".join(found)


def fields_table(schema: dict, components: dict) -> str:
    required = set(schema.get("required", ()))
    rows = [[code(name), schema_type(prop, components), "yes" if name in required else "no", constraints(prop),
             text(prop.get("description", ""))]
            for name, prop in schema.get("properties", {}).items()]
    return table(["Field", "Type", "Required", "Constraints", "Description"], rows)


ERROR_CODES_TEXT = re.compile(r"Error codes: ((?:`\w+`(?:, )?)+)$")


def response_codes(response: dict) -> list[str]:
    from authcore.errors import ERRORS

    match = ERROR_CODES_TEXT.match(response.get("description", ""))
    codes = re.findall(r"`(\w+)`", match.group(1)) if match else []
    unknown = set(codes) - set(ERRORS)
    if unknown:
        raise SystemExit(f"the schema names error codes the registry lacks: {sorted(unknown)}")
    return codes


def operations(schema: dict):
    for path in sorted(schema["paths"]):
        for method, operation in sorted(schema["paths"][path].items()):
            yield path, method.upper(), operation


def body_of(response_or_request: dict, components: dict) -> str:
    content = response_or_request.get("content", {}).get("application/json")
    if not content:
        return ""
    return schema_type(content["schema"], components)


def operation_section(path: str, method: str, operation: dict, schema: dict) -> list[str]:
    components = schema["components"]["schemas"]
    lines = [f"{anchor(operation['operationId'])}\n\n### {method} {code(path)}\n\n",
             f"**{text(operation.get('summary', ''))}**\n\n"]
    if operation.get("description"):
        lines.append(text(operation["description"]) + "\n\n")
    security = [name for requirement in operation.get("security", []) for name in requirement]
    lines.append("Authentication: " + (", ".join(f"[{code(name)}](#authentication)" for name in security)
                                       if security else "none") + ".\n\n")
    parameters = operation.get("parameters", [])
    if parameters:
        rows = [[code(parameter["name"]), parameter["in"], schema_type(parameter.get("schema", {}), components),
                 "yes" if parameter.get("required") else "no", text(parameter.get("description", ""))]
                for parameter in parameters]
        lines.append("Parameters:\n\n" + table(["Name", "In", "Type", "Required", "Description"], rows) + "\n")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        request_schema = components[ref_name(body["schema"]["$ref"])]
        lines.append("Request body (JSON):\n\n" + fields_table(request_schema, components) + "\n")
    rows = []
    for status in sorted(operation["responses"], key=int):
        response = operation["responses"][status]
        codes = response_codes(response)
        rows.append([status, body_of(response, components),
                     ", ".join(f"[{code(error)}](errors.md#{error})" for error in codes),
                     "" if codes else text(response.get("description", ""))])
    lines.append("Responses:\n\n" + table(["Status", "Body", "Error codes", "Description"], rows) + "\n")
    return lines


def api_page(schema: dict) -> str:
    from django.urls import reverse

    info, components = schema["info"], schema["components"]
    lines = [NOTICE, "# API\n\n", text(info.get("description", "")) + "\n\n",
             text(f"Version {info['version']} of the OpenAPI schema, which the service serves at "
                  f"`{reverse('schema')}` (interactive at `{reverse('api-docs')}`); this page is made from it. "
                  "Every body is JSON.") + "\n\n",
             anchor("authentication") + "\n\n## Authentication\n\n"]
    for name, scheme in sorted(components.get("securitySchemes", {}).items()):
        lines.append(f"- {code(name)}: {scheme['type']} {code(scheme.get('scheme', ''))}"
                     + (f" ({scheme['bearerFormat']})" if "bearerFormat" in scheme else "")
                     + ": `Authorization: Bearer <access token>`, the access token of a login or refresh.\n")
    lines.append("\n" + anchor("error-body") + "\n\n## Errors\n\n" + text("Every error answer has this body; its "
                 "`code` is one of the [error codes](errors.md).", links=True) + "\n\n"
                 + fields_table(components["schemas"]["Error"], components["schemas"]) + "\n")
    lines.append("## Endpoints\n\n")
    rows = [[method, f"[{code(path)}](#{operation['operationId']})", text(operation.get("summary", ""))]
            for path, method, operation in operations(schema)]
    lines.append(table(["Method", "Path", "Summary"], rows) + "\n")
    by_tag: dict[str, list] = defaultdict(list)
    for path, method, operation in operations(schema):
        by_tag[(operation.get("tags") or ["other"])[0]].append((path, method, operation))
    for tag in sorted(by_tag):
        lines.append(f"## {text(tag[0].upper() + tag[1:])}\n\n")
        for path, method, operation in by_tag[tag]:
            lines.extend(operation_section(path, method, operation, schema))
    lines.append("## Schemas\n\nThe bodies the endpoints answer with.\n\n")
    for name in sorted(components["schemas"]):
        component = components["schemas"][name]
        if "properties" not in component or name.endswith("Request") or name == "Error":
            continue
        lines.append(f"{anchor(f'schema-{name}')}\n\n### {name}\n\n" + fields_table(component, components["schemas"])
                     + "\n")
    return "".join(lines)


# --- errors ---------------------------------------------------------------------------------------------------
def endpoints_text(operation_ids: list[str], links: dict[str, str]) -> str:
    """The endpoints that answer a code: listed, or as "every endpoint" (but a few) when that is shorter."""
    if not operation_ids:
        return "—"
    missing = [operation_id for operation_id in links if operation_id not in operation_ids]
    if not missing:
        return "every endpoint"
    if len(missing) < len(operation_ids):
        return "every endpoint but " + ", ".join(links[operation_id] for operation_id in missing)
    return "<br>".join(links[operation_id] for operation_id in links if operation_id in operation_ids)


def errors_page(sources, schema: dict) -> str:
    from authcore.errors import DRF_CODE_ALIASES, ERRORS, FIELD_ERROR_CODES

    declared = declarations(sources, "register_errors")
    links = {operation["operationId"]: f"[{method} {code(path)}](api.md#{operation['operationId']})"
             for path, method, operation in operations(schema)}
    answered_by: dict[str, list[str]] = defaultdict(list)
    for _, _, operation in operations(schema):
        for response in operation["responses"].values():
            answered_by.update({error: answered_by[error] + [operation["operationId"]]
                                for error in response_codes(response)})
    lines = [NOTICE, "# Errors\n\n", text(
        "Every error the service answers carries a stable machine `code` and a `detail` for people, as "
        "`{\"detail\": ..., \"code\": ...}`; a 400 `invalid` adds `errors`, one entry per refused field, each with "
        "its own field code. Clients act on the `code`: the `detail` may say more than the default below.")
        + " " + text("The codes are declared in one registry (`authcore/errors.py`), each app adding its own.")
        + "\n\n", anchor("error-codes") + "\n\n## Error codes\n\n"]
    rows = []
    for error, spec in sorted(ERRORS.items(), key=lambda item: (item[1].status, item[0])):
        rows.append([anchor(error) + code(error), str(spec.status), text(spec.message), text(spec.note),
                     code(app_of(declared[error])), endpoints_text(answered_by.get(error, []), links)])
    lines.append(table(["Code", "Status", "Default detail", "When", "App", "Answered by"], rows) + "\n")
    lines.append(anchor("field-error-codes") + "\n\n## Field error codes\n\n")
    lines.append(text("The `code` of an entry in `errors` (a 400 `invalid`); `field` names the input, or is null "
                      "for the whole body.") + "\n\n")
    lines.append(", ".join(code(field_code) for field_code in sorted(FIELD_ERROR_CODES)) + "\n\n")
    lines.append("## Django REST framework's codes\n\n")
    lines.append(text("An endpoint a host project adds with Django REST framework answers through the same "
                      "exception handler; the framework's own codes become these:") + "\n\n")
    rows = [[code(drf), f"[{code(ours)}](#{ours})"] for drf, ours in sorted(DRF_CODE_ALIASES.items()) if drf != ours]
    lines.append(table(["Framework code", "Answered as"], rows))
    return "".join(lines)


# --- security events ------------------------------------------------------------------------------------------
def security_events_page(sources) -> str:
    from authcore.audit import EVENT_KINDS, logger
    from authcore.models import SecurityEvent
    from sessions_app.models import REVOKE_REASON_LABELS

    declared = declarations(sources, "declare_event")
    reasons = declarations(sources, "declare_revoke_reason")
    undeclared = set(EVENT_KINDS) - set(declared)
    if undeclared:
        raise SystemExit(f"event kinds declared outside a declare_event call: {sorted(undeclared)}")
    fields = [model_field.name for model_field in SecurityEvent._meta.get_fields() if model_field.concrete]
    lines = [NOTICE, "# Security events\n\n", text(
        f"A recorded event is a row of the security log (`{SecurityEvent._meta.db_table}`; in the admin, "
        f"Security events), with the fields {', '.join(f'`{name}`' for name in fields)}, and a line on the "
        f"`{logger.name}` logger at INFO whose `event` is the kind (with `LOG_FORMAT=json`, `user_id`, "
        "`actor_id`, `session_id`, `ip_address` and each detail as `detail_<name>`). A log-only event is a log "
        "line alone, never a row. [`purge_security_events`](commands.md#purge_security_events) deletes rows past "
        "their retention ([`AUTHCORE[\"SECURITY_EVENT_RETENTION\"]`](settings.md#AUTHCORE-SECURITY_EVENT_RETENTION)). "
        "Kinds follow the OWASP Logging Vocabulary; no event carries a password, a token or an emailed link.",
        links=True) + "\n\n"]
    for title, recorded in (("Recorded events", True), ("Log-only events", False)):
        rows = [[anchor(kind) + code(kind), code(app_of(declared[kind])), text(spec.description)]
                for kind, spec in sorted(EVENT_KINDS.items()) if spec.recorded == recorded]
        lines.append(f"## {title}\n\n" + table(["Kind", "App", "Meaning"], rows) + "\n")
    lines.append(anchor("session-end-reasons") + "\n\n## Session end reasons\n\n")
    lines.append(text("The `reason` of an [`authn_token_revoked`](#authn_token_revoked) event, and of an ended "
                      "session.", links=True) + "\n\n")
    rows = [[code(reason), text(label), code(app_of(reasons[reason]))]
            for reason, label in sorted(REVOKE_REASON_LABELS.items())]
    lines.append(table(["Reason", "Label", "App"], rows))
    return "".join(lines)


# --- management commands --------------------------------------------------------------------------------------
def invocation(action) -> str:
    import argparse

    if not action.option_strings:
        return action.metavar or action.dest
    if action.nargs == 0 or isinstance(action, argparse._StoreConstAction | argparse._StoreTrueAction
                                       | argparse._StoreFalseAction | argparse._CountAction):
        return ", ".join(action.option_strings)
    metavar = action.metavar or ("{" + ",".join(map(str, action.choices)) + "}" if action.choices
                                 else action.dest.upper())
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def action_help(action, prog: str) -> str:
    import argparse

    if not action.help or action.help is argparse.SUPPRESS:
        return ""
    params = {**vars(action), "prog": prog}
    params = {key: value for key, value in params.items() if value is not argparse.SUPPRESS}
    if params.get("choices") is not None:
        params["choices"] = ", ".join(map(str, params["choices"]))
    return str(action.help) % params


def action_default(action) -> str:
    import argparse

    if action.default in (None, argparse.SUPPRESS) or action.nargs == 0 or action.option_strings == []:
        return ""
    return code(py(action.default))


def own_actions(parser):
    from django.core.management.base import BaseCommand

    common = {action.dest for action in BaseCommand().create_parser("manage.py", "command")._actions}
    return [action for action in parser._actions if action.dest not in common]


def command_section(app: str, name: str) -> list[str]:
    from django.core.management import load_command_class
    from django.core.management.base import BaseCommand

    command = load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    actions = own_actions(parser)
    ordered = [action for action in actions if action.option_strings] + [
        action for action in actions if not action.option_strings]
    usage = " ".join([f"python manage.py {name}"] + [
        (f"[{invocation(action).split(', ')[-1]}]" if action.option_strings and not action.required
         else invocation(action) if action.nargs not in ("?", "*") else f"[{invocation(action)}]")
        for action in ordered])
    lines = [f"{anchor(name)}\n\n## {name}\n\n", f"App: {code(app)}."]
    parent = type(command).__mro__[1]
    if parent is not BaseCommand and parent.__module__.startswith("django."):
        lines.append(f" Replaces Django's {code(name)} ({code(parent.__module__.split('.management')[0])}).")
    lines.append("\n\n" + text(command.help) + "\n\n")
    doc = sys.modules[type(command).__module__].__doc__
    if doc:
        lines.append(text(doc) + "\n\n")
    lines.append(f"```\n{usage}\n```\n\n")
    if actions:
        rows = [[code(invocation(action)), action_default(action), text(action_help(action, parser.prog))]
                for action in actions]
        lines.append(table(["Argument", "Default", "Description"], rows) + "\n")
    return lines


def commands_page() -> str:
    from django.core.management import find_commands
    from django.core.management.base import BaseCommand

    common = [action for action in BaseCommand().create_parser("manage.py", "command")._actions
              if action.dest != "help"]
    lines = [NOTICE, "# Management commands\n\n",
             text("The apps' commands, run as `python manage.py <command>`. Every command also takes Django's "
                  "common options:") + "\n\n",
             table(["Option", "Description"], [[code(invocation(action)), text(action_help(action, "manage.py"))]
                                               for action in common]) + "\n"]
    commands = sorted((name, app) for app in APPS for name in find_commands(str(ROOT / app / "management")))
    for name, app in commands:
        lines.extend(command_section(app, name))
    return "".join(lines)


# --- the pages ------------------------------------------------------------------------------------------------
PAGES = {
    "settings.md": "Every setting of the apps with its default, the rate-limit scopes, the standard settings "
                   "the apps read, the system checks, and the environment variables of the settings module.",
    "api.md": "Every endpoint: method, path, request fields, responses and their error codes.",
    "errors.md": "Every error code with its HTTP status, default message and the endpoints that answer it.",
    "security-events.md": "Every security event kind the service records or logs, and why sessions end.",
    "commands.md": "Every management command with its arguments.",
}


def index_page() -> str:
    lines = [NOTICE, "# Reference\n\n",
             text("Made from the code (`make docs-reference`), and checked against it by the test suite.") + "\n\n"]
    titles = {"settings.md": "Settings", "api.md": "API", "errors.md": "Errors",
              "security-events.md": "Security events", "commands.md": "Management commands"}
    lines += [f"- [{titles[name]}]({name}): {text(description)}\n" for name, description in PAGES.items()]
    return "".join(lines)


def pages() -> dict[str, str]:
    """{file name: content} of every reference page. Django must be set up."""
    sources = app_sources()
    from django.conf import settings

    importlib.import_module(settings.ROOT_URLCONF)
    schema = openapi_schema()
    return {
        "index.md": index_page(),
        "settings.md": settings_page(sources),
        "api.md": api_page(schema),
        "errors.md": errors_page(sources, schema),
        "security-events.md": security_events_page(sources),
        "commands.md": commands_page(),
    }


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in pages().items():
        path = directory / name
        path.write_text(content.rstrip("\n") + "\n", encoding="utf-8")
        written.append(path)
    return written


def setup_django() -> None:
    """Django on the code's defaults: none of the variables config/settings.py reads, DEBUG on, no .env."""
    for name in HostSettingsReader().run().reads:
        os.environ.pop(name, None)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "ENV_FILE": ""})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


if __name__ == "__main__":
    setup_django()
    for path in write(OUT):
        print(path.relative_to(ROOT))
