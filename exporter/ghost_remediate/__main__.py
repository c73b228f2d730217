import sys

from ghost_remediate.cli import main

sys.exit(main())
