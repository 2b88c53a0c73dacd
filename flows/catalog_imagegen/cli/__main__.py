"""``python -m catalog_imagegen.cli``: the same as the ``catalog-imagegen`` command."""

import sys

from catalog_imagegen.cli.main import main

sys.exit(main())
