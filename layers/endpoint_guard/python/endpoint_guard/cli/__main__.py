import sys

from endpoint_guard.cli.main import main

sys.exit(main())
