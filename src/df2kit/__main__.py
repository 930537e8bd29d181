"""``python -m df2kit`` = the ``df2kit`` command."""

import sys

from df2kit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
