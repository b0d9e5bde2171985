from mclip_gui.cli import main

raise SystemExit(main())
