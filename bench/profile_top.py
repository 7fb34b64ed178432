"""Where a py-spy profile's time went, as the few lines a results table can hold: the functions with
the most samples of their own (self), and our own functions (under idp/) with the most samples
under them (total), in percent of the busy samples, for the speedscope files `bench/run.py --profile
DIR` writes. A sample whose innermost frame is an idle wait (a pool thread waiting for work, the
event loop waiting for sockets) is not busy: py-spy records them although it was not asked to.

    .venv/bin/python bench/profile_top.py DIR/provider-postgresql.speedscope.json --top 12
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

IDLE = {("wait", "threading.py"), ("run", "runners.py"), ("select", "selectors.py")}


def top_frames(document: dict, top: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(self, total in our code) percentages of the busy samples of every thread, the `top` largest of each."""
    frames = document["shared"]["frames"]
    names = [f"{f['name']} ({Path(f.get('file') or '?').name}:{f.get('line', '?')})" for f in frames]
    idle = {i for i, f in enumerate(frames) if (f["name"].rsplit(".", 1)[-1], Path(f.get("file") or "").name) in IDLE}
    # Our functions, without module bodies (imports at start-up, not requests).
    ours = {i for i, f in enumerate(frames) if "/idp/" in (f.get("file") or "") and f["name"] != "<module>"}
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    weight_sum = 0.0
    for profile in document["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack or stack[-1] in idle:
                continue
            weight_sum += weight
            own[names[stack[-1]]] += weight
            for name in {names[i] for i in stack if i in ours}:  # recursion counts once
                under[name] += weight
    if not weight_sum:
        return [], []

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100 * w / weight_sum) for name, w in counter.most_common(top)]

    return share(own), share(under)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    for path in args.files:
        own, under = top_frames(json.loads(path.read_text()), args.top)
        print(f"{path.name}\n\n| self % | function |\n|---:|---|")
        print("\n".join(f"| {pct:.1f} | `{name}` |" for name, pct in own))
        print("\n| total % | function |\n|---:|---|")
        print("\n".join(f"| {pct:.1f} | `{name}` |" for name, pct in under) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
