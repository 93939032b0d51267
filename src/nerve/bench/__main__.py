"""``python -m nerve.bench [W1 W2 ...] [--quick] [--json out.json] [--no-memory]``."""
import sys

from .main import main

sys.exit(main())
