"""`python -m mock_building`: the same command line as the `mock-building` script."""

import sys

from mock_building.cli import main

sys.exit(main())
