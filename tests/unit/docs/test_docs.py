"""The docs are kept true by the code: every option and every metric is documented."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
import trustme
import yaml
from pydantic import BaseModel

from ghost_common.webconfig import parse_web_config
from ghost_demo import cli as demo_cli
from ghost_exporter import cli as exporter_cli
from ghost_exporter.config import parse_config
from ghost_exporter.kinds import ConfigFile
from ghost_exporter.metrics import ALL_METRICS, PIPELINE_METRICS, REPORTER_METRICS
from ghost_remediate import cli as remediate_cli
from ghost_remediate.config import parse_config as parse_remediate
from ghost_stress import cli as stress_cli
from tests.unit.rules.conftest import github_anchors

ROOT = Path(__file__).resolve().parents[3]


def _options(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    for field in model.model_fields.values():
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _options(candidate)
            for inner in getattr(candidate, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    names |= _options(inner)
    return names


def test_every_config_option_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M))
    options = _options(ConfigFile)
    assert options >= {"health_field", "timestamp_field", "ca_file", "expect", "keepalive"}
    assert options - documented == set()


def test_every_metric_is_documented() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"^\| `(ghost_[a-z_]+)` \|", doc, re.M))
    assert {m.name for m in ALL_METRICS} - documented == set()
    for metric in ALL_METRICS:
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{metric.name}` |"))
        assert f"| {metric.type} |" in row
        for label in metric.labels:
            assert f"`{label}`" in row


# --------------------------------------------------------------------------------------------
# Examples in the docs: configs that validate, command lines with existing flags, live links.

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Put on the line before a fenced block to leave it out of the config check: a fragment of a
#: config, not a whole file.
PARTIAL = "<!-- partial -->"
_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
EXPORTER_KEYS = {"defaults", "services", "daemons", "reporters", "pipelines"}
REMEDIATE_KEYS = {"auth", "verify", "defaults", "rules"}
WEB_KEYS = {
    "tls_server_config",
    "http_server_config",
    "basic_auth_users",
    "ghost_unauthenticated_paths",
    "rate_limit",
}
#: Configs of other programs (Prometheus, Alertmanager): checked by their own tools elsewhere.
FOREIGN_KEYS = {"scrape_configs", "rule_files", "global", "route", "receivers", "inhibit_rules"}


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    lang: str
    body: str
    partial: bool

    def __str__(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def _blocks(langs: set[str]) -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if match.group("lang") not in langs:
                continue
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
            body = "\n".join(
                row.removeprefix(match.group("indent")) for row in match.group("body").splitlines()
            )
            found.append(Block(path, line, match.group("lang"), body, before == PARTIAL))
    return found


class _Keys(yaml.SafeLoader):
    """Reads a snippet's top-level keys, whatever its tags."""


_Keys.add_multi_constructor("!", lambda loader, suffix, node: None)


def _kind(block: Block) -> str:
    data = yaml.load(block.body, _Keys)
    keys = set(data) if isinstance(data, dict) else set()
    if keys and keys <= EXPORTER_KEYS and keys & {"services", "daemons", "reporters", "pipelines"}:
        return "exporter"
    if "rules" in keys and keys <= REMEDIATE_KEYS:
        return "remediate"
    if keys and keys <= WEB_KEYS:
        return "web"
    if keys & FOREIGN_KEYS:
        return "foreign"
    return "unknown"


YAML_BLOCKS = _blocks({"yaml", "yml"})


def _secrets_for(body: str, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``!env NAME`` set and every ``!file PATH`` (relative) created. The value is a
    bcrypt hash: a long enough bearer token, a header value and a basic-auth user's hash."""
    token = bcrypt.hashpw(b"docs-example", bcrypt.gensalt(4)).decode()
    for name in re.findall(r"!env\s+([A-Za-z_]\w*)", body):
        monkeypatch.setenv(name, token)
    for name in re.findall(r"!file\s+([\w./-]+)", body):
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token + "\n", encoding="utf-8")


def test_docs_have_config_snippets_of_each_program() -> None:
    kinds = {_kind(block) for block in YAML_BLOCKS if not block.partial}
    assert {"exporter", "remediate"} <= kinds


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_every_config_snippet_validates(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block.partial:
        return
    kind = _kind(block)
    assert kind != "unknown", (
        f"{block}: not a config of ghost-exporter, ghost-remediate, the web config, Prometheus "
        f"or Alertmanager; mark a fragment with {PARTIAL} on the line before the block"
    )
    _secrets_for(block.body, tmp_path, monkeypatch)
    if kind == "exporter":
        parse_config(block.body, str(block), tmp_path)
    elif kind == "remediate":
        parse_remediate(block.body, str(block), tmp_path)
    elif kind == "web":
        _certificates(block.body, tmp_path)
        parse_web_config(block.body, str(block), tmp_path)


def _certificates(body: str, base: Path) -> None:
    """Real PEM files wherever the snippet names a certificate, a key or a client CA."""
    ca = trustme.CA()
    issued = ca.issue_cert("localhost")
    blobs = {
        "cert_file": issued.cert_chain_pems[0],
        "key_file": issued.private_key_pem,
        "client_ca_file": ca.cert_pem,
    }
    for key, blob in blobs.items():
        for name in re.findall(rf"(?<![\w]){key}:\s*(\S+)", body):
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            blob.write_to_path(str(path))


PROGRAMS = {
    "ghost-exporter": exporter_cli._parser,
    "ghost-remediate": remediate_cli._parser,
    "ghost-stress": stress_cli.build_parser,
    "ghost-demo": demo_cli.build_parser,
}
SHELL_BLOCKS = _blocks({"", "sh", "bash", "shell", "console"})


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option of a parser and of its subcommands."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _option_strings(sub)
    return found


def _command_lines(block: Block) -> list[list[str]]:
    """Each invocation of one of PROGRAMS in a shell block, as its arguments."""
    text = re.sub(r"\\\n", " ", block.body)
    commands = []
    for raw in text.splitlines():
        row = raw.strip().removeprefix("$ ")
        try:
            lexer = shlex.shlex(row, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
        except ValueError:
            continue  # not a shell line (output, prose)
        args: list[str] | None = None
        for token in tokens:
            if Path(token).name in PROGRAMS and args is None:
                args = [Path(token).name]
            elif token in {"&&", "||", "|", ";", "&", ">", ">>", "<"} or token.startswith(">"):
                if args is not None:
                    commands.append(args)
                args = None
            elif args is not None:
                args.append(token)
        if args is not None:
            commands.append(args)
    return commands


def test_docs_show_commands_of_every_program() -> None:
    shown = {args[0] for block in SHELL_BLOCKS for args in _command_lines(block)}
    assert shown == set(PROGRAMS)


def test_every_flag_in_a_shown_command_exists() -> None:
    options = {name: _option_strings(build()) for name, build in PROGRAMS.items()}
    unknown = []
    for block in SHELL_BLOCKS:
        for args in _command_lines(block):
            for token in args[1:]:
                if token.startswith("--") and token != "--":
                    flag = token.split("=", 1)[0]
                    if flag not in options[args[0]]:
                        unknown.append(f"{block}: {args[0]} {flag}")
    assert unknown == []


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))  # headings only, not comments
    return github_anchors(text)


def test_every_relative_link_resolves() -> None:
    broken = []
    for path in DOCS:
        text = _FENCE.sub("", path.read_text(encoding="utf-8"))
        for target in _LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{path.relative_to(ROOT)}: {target}: no heading #{anchor}")
    assert broken == []


def test_sync_page_covers_its_metrics_and_is_linked() -> None:
    doc = (ROOT / "docs" / "sync.md").read_text()
    for metric in REPORTER_METRICS + PIPELINE_METRICS:
        assert f"`{metric.name}" in doc, metric.name
    for key in ("services_field", "name_field", "state_field", "deadline", "{{canary}}"):
        assert key in doc
    assert "(docs/sync.md)" in (ROOT / "README.md").read_text()
    for page in ("configuration.md", "metrics.md"):
        assert "(sync.md" in (ROOT / "docs" / page).read_text()
