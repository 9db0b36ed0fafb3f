"""The documentation keeps up with the code (as sqlite-utils' tests/test_docs.py does): every
command and option, every REGISTRY_* setting, every mapping key and every public table is
documented in its page of docs/, and the README stays short with links that work.

The names are found in the code itself (the click group, the package's source, the mapping
module's key sets, schema.sql), so a new one fails here until it is documented."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from registry.cli import cli
from registry.importer import breach_mapping, mapping
from registry.store.public import PUBLIC_TABLES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_MOST_LINES = 150


def section(path: Path, heading: str) -> str:
    """The text under `heading` (a whole line such as "## Settings") up to the next heading
    of the same level or a higher one; fails when the page has no such heading."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert heading in lines, f"{path.relative_to(ROOT)} has no heading {heading!r}"
    body = []
    for line in lines[lines.index(heading) + 1 :]:
        hashes = len(line) - len(line.lstrip("#"))
        if 0 < hashes <= level and line[hashes : hashes + 1] == " ":
            break
        body.append(line)
    return "\n".join(body)


# Commands ------------------------------------------------------------------------------


def walk_commands(group: click.Group, prefix: str = "registry") -> Iterator[tuple[str, click.Command]]:
    """("registry import", its command), for every command and subcommand of a click group."""
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        yield full, command
        if isinstance(command, click.Group):
            yield from walk_commands(command, full)


COMMANDS = dict(walk_commands(cli))


def test_commands_are_found() -> None:
    assert {"registry init", "registry import", "registry serve"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented(name: str) -> None:
    section(DOCS / "operating.md", f"### `{name}`")


@pytest.mark.parametrize(
    ("name", "option"),
    [
        (name, opt)
        for name, command in sorted(COMMANDS.items())
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--")
    ],
)
def test_command_option_is_documented(name: str, option: str) -> None:
    text = section(DOCS / "operating.md", f"### `{name}`")
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (
        f"{option} of `{name}` is not documented under its command in docs/operating.md"
    )


# Settings ------------------------------------------------------------------------------


def settings_read_by_the_code() -> set[str]:
    """Every REGISTRY_* name in the package's source, wherever its modules move."""
    names: set[str] = set()
    for path in (ROOT / "registry").rglob("*.py"):
        names |= set(re.findall(r"\bREGISTRY_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    return names


SETTINGS = settings_read_by_the_code()


def test_settings_are_found() -> None:
    assert {"REGISTRY_INSTANCE", "REGISTRY_SECRET_KEY", "REGISTRY_WORKERS"} <= SETTINGS


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in section(DOCS / "operating.md", "## Settings"), (
        f"{name} is read by the code but not documented in docs/operating.md's settings"
    )


# Mapping keys --------------------------------------------------------------------------


def mapping_keys() -> set[str]:
    """The keys the importer accepts: its mapping modules' key sets (`TOP_KEYS`, `SPEC_KEYS`,
    `*_FIELDS`), the names of its simple transforms, and every set literal it checks a
    mapping's keys against (`set(spec) - {...}`, as for `vendors`)."""
    keys: set[str] = set(mapping.SIMPLE_TRANSFORMS)
    for module in (mapping, breach_mapping):
        for name in dir(module):
            value = getattr(module, name)
            if name.isupper() and name.endswith(("_KEYS", "_FIELDS")) and isinstance(value, set | frozenset):
                keys |= {str(k) for k in value}
    trees = [ast.parse(Path(m.__file__).read_text(encoding="utf-8")) for m in (mapping, breach_mapping)]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and isinstance(node.right, ast.Set):
            left = node.left
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "set":
                keys |= {e.value for e in node.right.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return keys


MAPPING_KEYS = mapping_keys()


def test_mapping_keys_are_found() -> None:
    # top level, value spec, client, vendors' own (a set literal), transforms
    assert {"vendor", "template", "subdivision", "if_empty", "collapse"} <= MAPPING_KEYS


@pytest.mark.parametrize("key", sorted(MAPPING_KEYS))
def test_mapping_key_is_documented(key: str) -> None:
    assert f"`{key}`" in section(DOCS / "importing.md", "## The mapping reference"), (
        f"the mapping key {key!r} is accepted by registry/importer/mapping.py but not documented in docs/importing.md"
    )


# Public tables -------------------------------------------------------------------------


def schema_public_tables() -> set[str]:
    """The tables of schema.sql's `-- part: registry` and `-- part: shared` (both go into
    registry.db)."""
    parts = re.split(r"^-- part: (\w+)\s*$", (ROOT / "schema.sql").read_text(encoding="utf-8"), flags=re.M)
    tables: set[str] = set()
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in ("registry", "shared"):
            tables |= set(re.findall(r"CREATE TABLE(?: IF NOT EXISTS)? (\w+)", body))
    return tables


TABLES = schema_public_tables() | set(PUBLIC_TABLES)


def test_public_tables_are_found() -> None:
    assert {"relationships", "organisations", "countries"} <= TABLES


@pytest.mark.parametrize("table", sorted(TABLES))
def test_public_table_is_documented(table: str) -> None:
    section(DOCS / "reading.md", f"### `{table}`")


# README --------------------------------------------------------------------------------


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MOST_LINES, f"README.md has {len(lines)} lines: move detail into docs/"


def relative_links(path: Path) -> list[str]:
    """The targets of a Markdown file's links that point into the repository."""
    targets = re.findall(r"\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)", path.read_text(encoding="utf-8"))
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_readme_links_are_found() -> None:
    assert "docs/operating.md" in relative_links(ROOT / "README.md")


@pytest.mark.parametrize("target", relative_links(ROOT / "README.md"))
def test_readme_link_points_to_a_file(target: str) -> None:
    assert (ROOT / target.split("#")[0]).exists(), f"README.md links to {target}, which does not exist"


# The code map ---------------------------------------------------------------------------

CODE_PATH = re.compile(r"`((?:registry|datasette|benchmarks|tests)/[\w/]+\.py)(?::(\w+))?`")
ALSO_NAMED = re.compile(r"`(\w+)`")


def code_references() -> list[tuple[str, str | None]]:
    """(path, function or None) for every `path.py` and `path.py:name` the README names."""
    return sorted(set(CODE_PATH.findall((ROOT / "README.md").read_text(encoding="utf-8"))))


def names_defined(path: Path) -> set[str]:
    """Functions, classes and module-level names defined in a file (methods included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_readme_code_references_are_found() -> None:
    assert len(code_references()) >= 20


@pytest.mark.parametrize(("path", "name"), code_references(), ids=lambda v: v or "")
def test_readme_code_reference_exists(path: str, name: str) -> None:
    """The map and the flows name files and functions that exist."""
    assert (ROOT / path).is_file(), f"README names {path}, which does not exist"
    if name:
        assert name in names_defined(ROOT / path), f"README names {path}:{name}, which is not defined there"


def test_readme_flow_steps_name_functions_of_the_file_before_them() -> None:
    """In a flow step such as "`a.py:f` → `g`", the bare `g` is defined in a.py or in a file
    the step names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flows = readme[readme.index("## Three flows") : readme.index("## Documentation")]
    missing = []
    for line in flows.splitlines():
        files = [ROOT / p for p, _ in CODE_PATH.findall(line)]
        if not files:
            continue
        known = set().union(*(names_defined(f) for f in files if f.is_file()))
        for bare in ALSO_NAMED.findall(CODE_PATH.sub("", line)):
            if bare not in known and not re.fullmatch(r"[A-Z_]+|--\w+", bare):
                missing.append((line.strip()[:60], bare))
    assert missing == []
