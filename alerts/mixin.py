#!/usr/bin/env python3
"""Write the ghost rules and dashboards as a monitoring mixin's outputs (`make mixin`).

    python alerts/mixin.py [--config alerts/config.yml] [--out mixin_out]

writes prometheus_alerts.yaml, prometheus_rules.yaml and dashboards_out/*.json into the output
folder, from alerts/config.yml (selectors and cluster label included), alerts/ghost_rules and
grafana/ghost_dashboards.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "grafana"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghost_rules.mixin import main

if __name__ == "__main__":
    sys.exit(main())
