import sys

from dupscope.cli import main

sys.exit(main())
