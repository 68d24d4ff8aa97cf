"""``python -m importguard``: the command line."""

import sys

from importguard._cli.cmdline import main

if __name__ == "__main__":
    sys.exit(main())
