"""What a group builder gets: one profile's settings, and the selectors and labels of the file.

Every raw series a rule selects goes through :meth:`Context.series` (which adds the configured
label matchers), every aggregation and vector matching through :meth:`Context.by` (which keeps
the cluster label when one is set): a rule module never writes a job or cluster matcher itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .config import Config, Profile

Rule = dict[str, Any]
Group = dict[str, Any]
#: Whose series a selector reads, and so which of the configured selectors it takes.
Source = Literal["exporter", "remediate"]


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    profile_name: str
    profile: Profile

    @classmethod
    def of(cls, config: Config, profile: str) -> Context:
        return cls(config, profile, config.profile(profile))

    @property
    def cluster_label(self) -> str:
        return self.config.settings.cluster_label

    def matchers(self, source: Source = "exporter") -> list[str]:
        selectors = self.config.settings.selectors
        configured = selectors.exporter if source == "exporter" else selectors.remediate
        return [configured] if configured else []

    def series(self, metric: str, *matchers: str, source: Source = "exporter") -> str:
        """``metric{configured matchers, matchers}``; the bare name when there are none."""
        every = [*self.matchers(source), *matchers]
        return f"{metric}{{{', '.join(every)}}}" if every else metric

    def up(self) -> str:
        """``up`` of the job that scrapes the exporter's /metrics."""
        return self.series("up", f'job="{self.config.settings.exporter_job}"')

    def by(self, *labels: str) -> str:
        """A grouping label list; the cluster label comes first when one is set."""
        every = [self.cluster_label, *labels] if self.cluster_label else list(labels)
        return ", ".join(every)

    def printf_query(self, metric: str, labels: tuple[str, ...], comparison: str) -> str:
        """``printf "metric{label=%q,...} comparison" $labels.label ...``: the query of an
        annotation template (piped into ``query``) for the alert's own ``labels``, with the
        configured matchers and the alert's cluster. Extra matchers bring double quotes, so the
        format is then a Go raw string."""
        names = [self.cluster_label, *labels] if self.cluster_label else list(labels)
        own = ",".join(f"{name}=%q" for name in names)
        fixed = self.matchers()
        text = f"{metric}{{{', '.join([*fixed, own])}}} {comparison}"
        quoted = f"`{text}`" if fixed or self.cluster_label else f'"{text}"'
        return f"printf {quoted} " + " ".join(f"$labels.{name}" for name in names)

    def group(self, name: str, rules: list[Rule]) -> Group:
        group: Group = {"name": name}
        if self.profile.evaluation_interval is not None:
            group["interval"] = self.profile.evaluation_interval
        group["rules"] = rules
        return group


def record(name: str, expr: str) -> Rule:
    return {"record": name, "expr": expr}


def alert(
    name: str,
    severity: str,
    expr: str,
    for_: str,
    summary: str,
    description: str,
    service: str | None = None,
) -> Rule:
    """An alerting rule; the static labels and the runbook link are added by
    :func:`ghost_rules.build.finish`, for every alert alike."""
    labels = {"severity": severity}
    if service is not None:
        labels["service"] = service
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
    }
