"""The ghost recording and alert rules as code, built from alerts/config.yml.

- :mod:`.config`: the pydantic model of the config file and its loader (file:line: key errors);
- :mod:`.context`: what a group builder gets (settings, selectors, cluster label);
- :mod:`.groups`: one module per rule group; :mod:`.build`: the list of group builders of each
  file and the runbook links and static labels every alert gets;
- :mod:`.render`: YAML output, the drift check and the CLI behind ``make rules``;
- :mod:`.mixin`: the same rules and the dashboards as a monitoring mixin's outputs.
"""

from __future__ import annotations

from .build import ALERT_GROUPS, ALERTS_FILE, FILES, RECORDING_FILE, RECORDING_GROUPS, build
from .config import CONFIG_PATH, DEFAULT_PROFILE, Config, ConfigError, Profile, load_config
from .context import Context, Group, Rule
from .render import COMMITTED_PATHS, check, generate, main, render, target_paths

__all__ = [
    "ALERTS_FILE",
    "ALERT_GROUPS",
    "COMMITTED_PATHS",
    "CONFIG_PATH",
    "DEFAULT_PROFILE",
    "FILES",
    "RECORDING_FILE",
    "RECORDING_GROUPS",
    "Config",
    "ConfigError",
    "Context",
    "Group",
    "Profile",
    "Rule",
    "build",
    "check",
    "generate",
    "load_config",
    "main",
    "render",
    "target_paths",
]
