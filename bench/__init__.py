"""Benchmarks of the proxy: `python -m bench` runs every suite, `python -m bench proxy` one of them."""
