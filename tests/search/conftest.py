"""Make ``import search`` find the package, not this test folder (an implicit namespace package of the same name).

Under the plain ``pytest`` script the repository root is not on sys.path and the editable install's finder runs
after the path finder, so ``tests/`` on sys.path would turn ``tests/search`` into the ``search`` module.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
if getattr(sys.modules.get("search"), "__file__", "") is None:
    del sys.modules["search"]
