from sessionstory.cli import main

raise SystemExit(main())
