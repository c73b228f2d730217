#!/usr/bin/env python3
"""Build the Prometheus recording and alert rules of ghost-exporter from alerts/config.yml.

    python alerts/generate.py                          # write the committed default-profile files
    python alerts/generate.py --profile fast --out DIR # write that profile's rule files into DIR
    python alerts/generate.py --check                  # exit 1 when the committed files differ

The committed files are prometheus/rules/ghost-recording.yml and alerts/ghost-alerts.yml; with
--out both go into DIR under the same names. The rules are the package alerts/ghost_rules/; every
threshold, window, `for` duration, objective, selector and label comes from the config file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghost_rules import main

if __name__ == "__main__":
    sys.exit(main())
