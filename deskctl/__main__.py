import sys

from deskctl.cli import main

sys.exit(main())
