"""`python -m benchgate_workloads run ...` — the same CLI as `benchgate-workload`."""

from __future__ import annotations

import sys

from benchgate_workloads.entrypoint import main

sys.exit(main())
