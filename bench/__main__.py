"""`python -m bench [suite ...] [--quick]`: run the named benchmark suites (all by default)."""
import argparse
import sys

from bench import (callgrind_suite, conversations_suite, cpu_suite, dashboard_suite, fleet_suite, floor_suite,
                   proxy_suite, routing_suite, storage_suite)

# name -> main(quick) returning 0 when every target passed; add later suites here.
SUITES = {
    "proxy": proxy_suite.main,
    "dashboard": dashboard_suite.main,
    "fleet": fleet_suite.main,
    "routing": routing_suite.main,
    "cpu": cpu_suite.main,
    "conversations": conversations_suite.main,
    "floor": floor_suite.main,
    "callgrind": callgrind_suite.main,
    "storage": storage_suite.main,
}


def main(argv=None) -> int:
    """Parse the command line, run the suites in turn, exit non-zero if any target failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="suite",
                        help=f"one of {', '.join(SUITES)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller counts, for a smoke test of the harness")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    status = 0
    for name in args.suites or list(SUITES):
        status |= SUITES[name](quick=args.quick)
    return status


if __name__ == "__main__":
    sys.exit(main())
