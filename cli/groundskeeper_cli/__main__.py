"""`python -m groundskeeper_cli ...`: the same as the `groundskeeper` command."""

import sys

from groundskeeper_cli.app import main

sys.exit(main())
