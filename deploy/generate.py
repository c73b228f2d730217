"""Write deploy/kubernetes/ (kustomize base, components, overlays) from deploy/ghost_deploy."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghost_deploy.render import main

if __name__ == "__main__":
    raise SystemExit(main())
