"""The webhook fuzz suite (tests/server/test_fuzz_suite.py) at a larger count.

Usage, from the repository root: ``python bench/fuzz_webhooks.py [--requests N] [--seeds S...]``
(default 100,000 requests, seeds 15, 16 and 17). Each seed is one run of the suite's test with
``BOTKIT_FUZZ_REQUESTS`` and ``BOTKIT_FUZZ_SEED`` set: no 5xx, no request closed without an
answer, no error-level log line, and a valid message answered afterwards. Prints each run's
line of statuses and time; exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests/server/test_fuzz_suite.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[15, 16, 17])
    args = parser.parse_args()
    failed = False
    for seed in args.seeds:
        env = {
            **os.environ,
            "BOTKIT_FUZZ_REQUESTS": str(args.requests),
            "BOTKIT_FUZZ_SEED": str(seed),
        }
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                SUITE,
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "-o",
                "timeout=3600",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        figures = [line for line in run.stdout.splitlines() if " requests in " in line]
        print(f"seed {seed}: {figures[-1] if figures else 'no figures'}", flush=True)
        if run.returncode != 0:
            failed = True
            print(run.stdout[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
