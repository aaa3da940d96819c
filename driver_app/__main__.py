"""`python -m driver_app`: the same command line as the `driver-app` script."""

import sys

from driver_app.cli import main

sys.exit(main())
