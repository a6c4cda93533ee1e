"""`python -m bench [suite ...] [--quick] [--captures PATH]`: run the named benchmark suites (all by default)."""
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
    parser.add_argument("--captures", metavar="PATH",
                        help="storage suite: also replay the calls recorded in this file (see bench/capture_export.py)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    if args.captures and args.suites and "storage" not in args.suites:
        parser.error("--captures is an option of the storage suite: name it (storage --captures PATH)")
    status = 0
    for name in args.suites or list(SUITES):
        options = {"captures": args.captures} if name == "storage" else {}
        status |= SUITES[name](quick=args.quick, **options)
    return status


if __name__ == "__main__":
    sys.exit(main())
