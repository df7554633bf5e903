"""Shared pytest configuration: keep the shared 2-core machine responsive and CLI output deterministic."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
# rich sizes tables to the terminal; CI has none (80 columns), so give CLI tests one fixed, wide console
os.environ["COLUMNS"] = "200"
