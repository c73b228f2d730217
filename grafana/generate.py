"""Write grafana/dashboards/*.json from the code in grafana/ghost_dashboards (`make dashboards`)."""

from __future__ import annotations

import sys
from pathlib import Path

# The dashboards (grafana/ghost_dashboards) read the rules' objectives through alerts/ghost_rules.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "alerts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghost_dashboards.render import main

if __name__ == "__main__":
    raise SystemExit(main())
