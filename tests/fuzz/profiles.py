"""The fuzz suite's hypothesis settings: a fixed seed, no example database, no deadline; the budget is
chosen by FUZZ_PROFILE: `ci` (the default, about a minute per database) or `long` (`make fuzz`).
Each test tries its list of known attacks first, every run, as explicit examples."""
import os

from hypothesis import HealthCheck, example, settings

LONG_EXAMPLES = 10_000
PROFILE = os.environ.get("FUZZ_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"FUZZ_PROFILE={PROFILE!r} is neither ci nor long")

settings.register_profile(
    "fuzz", derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])


def fuzz_settings(ci_examples: int) -> settings:
    """The settings of one fuzz test: `ci_examples` examples under the ci profile, 10,000 under long."""
    examples = LONG_EXAMPLES if PROFILE == "long" else ci_examples
    return settings(settings.get_profile("fuzz"), max_examples=examples)


def tried_first(requests: list):
    """A decorator running each of `requests` (the test's `request` argument) before any generated one."""
    def decorate(test):
        for request in reversed(requests):
            test = example(request=request)(test)
        return test
    return decorate
