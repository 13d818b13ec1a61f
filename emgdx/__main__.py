"""``python -m emgdx ...`` is the ``emgdx`` command."""

from emgdx.cli import main

raise SystemExit(main())
