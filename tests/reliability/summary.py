"""Print the reliability tables of docs/reliability.md from a run's JSON summary (see conftest.py)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

# Each test module (its name without ``test_``) and the area of docs/reliability.md it reports to, in that order.
AREAS = {
    "fault_matrix": "Fault matrix",
    "crashes": "Crashes and restarts",
    "retry_rounds": "Retry rounds",
    "bad_input": "Bad input and hostile responses",
    "hostile_responses": "Bad input and hostile responses",
    "secrets": "Secrets",
}


def main(path: str) -> None:
    cases: list[dict[str, Any]] = json.loads(Path(path).read_text())
    by_area: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_area[AREAS.get(case["area"], case["area"])].append(case)
    titles = list(dict.fromkeys(AREAS.values()))
    areas = sorted(by_area.items(), key=lambda area: titles.index(area[0]) if area[0] in titles else len(titles))
    print("| area | cases tried | passed | data lost | duplicates | seconds |")
    print("|---|---|---|---|---|---|")
    for area, rows in areas:
        passed = sum(r["outcome"] == "passed" for r in rows)
        lost = sum(r.get("lost", 0) for r in rows)
        duplicates = sum(r.get("duplicates", 0) for r in rows)
        seconds = sum(r.get("seconds", 0) for r in rows)
        print(f"| {area} | {len(rows)} | {passed} | {lost} | {duplicates} | {seconds:.0f} |")
    for area, rows in areas:
        print(f"\n### {area}\n")
        print("| case | outcome | lost | duplicates | what was checked |")
        print("|---|---|---|---|---|")
        for r in rows:
            name = r["case"].split("::", 1)[1]
            checked = r.get("checked", "")
            print(f"| `{name}` | {r['outcome']} | {r.get('lost', '-')} | {r.get('duplicates', '-')} | {checked} |")


if __name__ == "__main__":
    main(sys.argv[1])
