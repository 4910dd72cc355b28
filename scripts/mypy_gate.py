"""The type-check gate: mypy's errors may only shrink from the recorded baseline.

    .venv/bin/python scripts/mypy_gate.py            # CI: fail on any error not in the baseline
    .venv/bin/python scripts/mypy_gate.py --update   # record today's errors as the baseline

An error is keyed by its file, code and message, not its line, so editing a file does not
move its known errors out of the baseline; a message's own "line N" is folded the same way.
The baseline (``.ci/mypy-baseline.txt``) lists one line per error, sorted: fixing errors and
running ``--update`` shrinks it, and a review sees exactly which errors went.
"""

import argparse
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:]+):\d+: error: (?P<message>.*?)  \[(?P<code>[a-z-]+)\]$")


def current_errors() -> Counter[str]:
    env = {**os.environ, "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--no-pretty"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode not in (0, 1) or result.stderr.strip():
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"mypy did not run (exit {result.returncode})")
    errors: Counter[str] = Counter()
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            message = re.sub(r"\bline \d+\b", "line N", match["message"])
            errors[f"{match['path']}: [{match['code']}] {message}"] += 1
    return errors


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    return Counter(line for line in BASELINE.read_text().splitlines() if line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="record the current errors")
    args = parser.parse_args()
    errors = current_errors()
    if args.update:
        BASELINE.write_text("".join(f"{line}\n" for line in sorted(errors.elements())))
        print(f"baseline: {sum(errors.values())} errors recorded in {BASELINE.relative_to(ROOT)}")
        return
    baseline = read_baseline()
    new = errors - baseline
    fixed = baseline - errors
    print(f"mypy: {sum(errors.values())} errors; baseline {sum(baseline.values())}")
    if fixed:
        print(
            f"{sum(fixed.values())} baseline errors are gone: run "
            "`.venv/bin/python scripts/mypy_gate.py --update` to shrink the baseline"
        )
    if new:
        print(f"ERROR: {sum(new.values())} errors not in the baseline:", file=sys.stderr)
        for line in sorted(new.elements()):
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)
    print("ok: no error beyond the baseline")


if __name__ == "__main__":
    main()
