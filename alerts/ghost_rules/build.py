"""The rule files, the group builders that fill them, and what every alert gets alike.

A group builder is ``(Context) -> list[Group]``; a new group (or a family of groups, such as
SLO series for another tool's dashboards) is one module and one entry in
:data:`RECORDING_GROUPS` or :data:`ALERT_GROUPS` (or a new file in :data:`FILES`). `make mixin`
puts every group with alerts into prometheus_alerts.yaml and every other group into
prometheus_rules.yaml, whichever file it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .config import Config
from .context import Context, Group, Rule
from .groups import (
    exporter,
    patches,
    recording,
    remediation,
    services,
    slo,
    sloth,
    sync,
    tls,
    websocket,
)

GroupBuilder = Callable[[Context], list[Group]]

RECORDING_FILE: Final = "ghost-recording.yml"
ALERTS_FILE: Final = "ghost-alerts.yml"
SLOTH_FILE: Final = "ghost-sloth.yml"

#: The recording rule groups, in file order.
RECORDING_GROUPS: Final[list[GroupBuilder]] = [
    recording.groups,
]

#: The alerting rule groups, in file order.
ALERT_GROUPS: Final[list[GroupBuilder]] = [
    services.groups,
    websocket.groups,
    patches.groups,
    exporter.groups,
    tls.groups,
    slo.groups,
    remediation.groups,
    sync.groups,
]

#: Sloth's series and alerts of every SLO (docs/sloth.md), in a file of their own.
SLOTH_GROUPS: Final[list[GroupBuilder]] = [
    sloth.groups,
]

#: Each rule file and its groups.
FILES: Final[dict[str, list[GroupBuilder]]] = {
    RECORDING_FILE: RECORDING_GROUPS,
    ALERTS_FILE: ALERT_GROUPS,
    SLOTH_FILE: SLOTH_GROUPS,
}


def finish(config: Config, rule: Rule) -> Rule:
    """An alert with the config's static labels and its runbook link: ``runbook_base_url``,
    ``#`` and the alert name in lower case (the anchor of its heading in alerts/runbooks.md)."""
    if "alert" not in rule:
        return rule
    labels = {**rule["labels"], **dict(sorted(config.settings.alert_labels.items()))}
    annotations = {
        **rule["annotations"],
        "runbook_url": f"{config.runbook_base_url}#{rule['alert'].lower()}",
    }
    return {**rule, "labels": labels, "annotations": annotations}


def build(config: Config, profile: str) -> dict[str, list[Group]]:
    """File name -> rule groups of ``profile``."""
    ctx = Context.of(config, profile)
    return {
        name: [
            {**group, "rules": [finish(config, rule) for rule in group["rules"]]}
            for builder in builders
            for group in builder(ctx)
        ]
        for name, builders in FILES.items()
    }
