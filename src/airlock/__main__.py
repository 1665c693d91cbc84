from airlock.cli import main

raise SystemExit(main())
