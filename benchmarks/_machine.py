"""One line describing the machine a benchmark ran on (quoted with every table)."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({model or 'unknown CPU'}), "
        f"{mem_gib:.0f} GiB, Python {platform.python_version()}"
    )
