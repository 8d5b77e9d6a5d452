from feature_repo.cli import main

raise SystemExit(main())
