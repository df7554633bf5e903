"""Shared pytest configuration: keep the shared 2-core machine responsive and runs deterministic."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
