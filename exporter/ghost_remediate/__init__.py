"""Alertmanager webhook receiver that runs allowlisted remediations.

Actions come only from the config file; alert labels may only fill the placeholders a rule
allows, each checked against a pattern. See docs/remediation.md.
"""

from .config import Config, ConfigError, load_config, parse_config
from .engine import Decision, Remediator, Requester
from .metrics import REMEDIATION_METRICS, Metrics
from .web import create_app

__all__ = [
    "REMEDIATION_METRICS",
    "Config",
    "ConfigError",
    "Decision",
    "Metrics",
    "Remediator",
    "Requester",
    "create_app",
    "load_config",
    "parse_config",
]
