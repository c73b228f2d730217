from ghost_exporter.cli import main

raise SystemExit(main())
