import sys

from snn_rl.cli import main

sys.exit(main())
