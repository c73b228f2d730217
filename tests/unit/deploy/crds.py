"""JSON schemas of the Prometheus Operator objects the manifests use, which kubernetes-validate
does not ship: the required fields and the types and patterns of the fields written, taken from
the operator's CRDs (monitoring.coreos.com v1 ServiceMonitor, Probe, PrometheusRule; v1alpha1
AlertmanagerConfig; operator 0.8x). Unknown fields are refused where the manifests write them,
since the API server would drop a misspelt field without a word."""

from __future__ import annotations

from typing import Any, Final

#: Prometheus durations as the CRDs' patterns accept them.
_UNITS: Final = "".join(f"(([0-9]+){unit})?" for unit in ("y", "w", "d", "h", "m", "s", "ms"))
DURATION: Final = {"type": "string", "pattern": f"^(0|{_UNITS})$"}
#: AlertmanagerConfig durations (no lone 0).
AM_DURATION: Final = {"type": "string", "pattern": f"^{_UNITS}$"}
STRINGS: Final = {"type": "array", "items": {"type": "string"}}
STRING_MAP: Final = {"type": "object", "additionalProperties": {"type": "string"}}
SECRET_KEY: Final = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string"},
        "name": {"type": "string"},
        "optional": {"type": "boolean"},
    },
}
RELABEL: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "action": {
            "enum": [
                *(
                    a
                    for pair in [
                        ("replace", "Replace"),
                        ("keep", "Keep"),
                        ("drop", "Drop"),
                        ("hashmod", "HashMod"),
                        ("labelmap", "LabelMap"),
                        ("labeldrop", "LabelDrop"),
                        ("labelkeep", "LabelKeep"),
                        ("lowercase", "Lowercase"),
                        ("uppercase", "Uppercase"),
                        ("keepequal", "KeepEqual"),
                        ("dropequal", "DropEqual"),
                    ]
                    for a in pair
                )
            ]
        },
        "modulus": {"type": "integer"},
        "regex": {"type": "string"},
        "replacement": {"type": "string"},
        "separator": {"type": "string"},
        "sourceLabels": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"},
        },
        "targetLabel": {"type": "string"},
    },
}
LABEL_SELECTOR: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": STRINGS,
                },
            },
        },
    },
}


def _object(kind: str, api_version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "namespace": {"type": "string"},
                    "labels": STRING_MAP,
                    "annotations": STRING_MAP,
                },
            },
            "spec": spec,
        },
    }


SERVICE_MONITOR: Final = _object(
    "ServiceMonitor",
    "monitoring.coreos.com/v1",
    {
        "type": "object",
        "required": ["endpoints", "selector"],
        "additionalProperties": False,
        "properties": {
            "selector": LABEL_SELECTOR,
            "jobLabel": {"type": "string"},
            "namespaceSelector": {"type": "object"},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "port": {"type": "string"},
                        "path": {"type": "string"},
                        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                        "interval": DURATION,
                        "scrapeTimeout": DURATION,
                        "honorLabels": {"type": "boolean"},
                        "relabelings": {"type": "array", "items": RELABEL},
                        "metricRelabelings": {"type": "array", "items": RELABEL},
                    },
                },
            },
        },
    },
)

PROBE: Final = _object(
    "Probe",
    "monitoring.coreos.com/v1",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "jobName": {"type": "string"},
            "interval": DURATION,
            "scrapeTimeout": DURATION,
            "module": {"type": "string"},
            "prober": {
                "type": "object",
                "required": ["url"],
                "additionalProperties": False,
                "properties": {
                    # address:port, without a scheme (that is `scheme`)
                    "url": {"type": "string", "minLength": 1, "pattern": r"^[^/:]+(:[0-9]+)?$"},
                    "scheme": {"enum": ["http", "https"]},
                    "path": {"type": "string"},
                    "proxyUrl": {"type": "string"},
                },
            },
            "targets": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "staticConfig": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "static": STRINGS,
                            "labels": STRING_MAP,
                            "relabelingConfigs": {"type": "array", "items": RELABEL},
                        },
                    },
                    "ingress": {"type": "object"},
                },
            },
            "metricRelabelings": {"type": "array", "items": RELABEL},
        },
    },
)

RULE: Final = {
    "type": "object",
    "required": ["expr"],
    "additionalProperties": False,
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "properties": {
        "record": {"type": "string"},
        "alert": {"type": "string"},
        "expr": {"type": ["string", "integer"]},
        "for": DURATION,
        "keep_firing_for": DURATION,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}

PROMETHEUS_RULE: Final = _object(
    "PrometheusRule",
    "monitoring.coreos.com/v1",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "interval": DURATION,
                        "query_offset": DURATION,
                        "limit": {"type": "integer"},
                        "labels": STRING_MAP,
                        "rules": {"type": "array", "items": RULE},
                    },
                },
            }
        },
    },
)

MATCHER: Final = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "matchType": {"enum": ["!=", "=", "=~", "!~"]},
        "value": {"type": "string"},
    },
}
ROUTE: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "receiver": {"type": "string"},
        "groupBy": STRINGS,
        "groupWait": AM_DURATION,
        "groupInterval": AM_DURATION,
        "repeatInterval": AM_DURATION,
        "matchers": {"type": "array", "items": MATCHER},
        "continue": {"type": "boolean"},
        "muteTimeIntervals": STRINGS,
        "activeTimeIntervals": STRINGS,
        # The CRD keeps child routes as free JSON; the operator reads them as routes.
        "routes": {"type": "array", "items": {"$ref": "#/$defs/route"}},
    },
}
WEBHOOK: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "pattern": "^https?://.+$"},
        "urlSecret": SECRET_KEY,
        "sendResolved": {"type": "boolean"},
        "maxAlerts": {"type": "integer", "minimum": 0},
        "httpConfig": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "authorization": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"type": {"type": "string"}, "credentials": SECRET_KEY},
                },
                "basicAuth": {"type": "object"},
                "tlsConfig": {"type": "object"},
            },
        },
    },
}
ALERTMANAGER_CONFIG: Final = {
    **_object(
        "AlertmanagerConfig",
        "monitoring.coreos.com/v1alpha1",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "route": {"$ref": "#/$defs/route"},
                "receivers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "webhookConfigs": {"type": "array", "items": WEBHOOK},
                        },
                    },
                },
                "inhibitRules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "sourceMatch": {"type": "array", "items": MATCHER},
                            "targetMatch": {"type": "array", "items": MATCHER},
                            "equal": STRINGS,
                        },
                    },
                },
            },
        },
    ),
    "$defs": {"route": ROUTE},
}

SCHEMAS: Final = {
    "ServiceMonitor": SERVICE_MONITOR,
    "Probe": PROBE,
    "PrometheusRule": PROMETHEUS_RULE,
    "AlertmanagerConfig": ALERTMANAGER_CONFIG,
}
