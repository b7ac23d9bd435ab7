"""The README's main command (until the end-to-end demo lands): show the provider registered in Airflow."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    for args in (["providers", "list"], ["providers", "hooks"]):
        out = subprocess.run(["airflow", *args], capture_output=True, text=True, check=True).stdout
        rows = [line for line in out.splitlines() if "runflow" in line.lower()]
        if not rows:
            print(f"airflow {' '.join(args)}: the Runflow provider is missing", file=sys.stderr)
            return 1
        print(f"$ airflow {' '.join(args)}\n" + "\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
