"""Do the endpoints pay for themselves? ``estimate``: pure arithmetic over dated prices; ``traffic``: the
traffic figure, from the best source available, always named."""

from endpoint_guard.cost.estimate import Traffic, describe, estimate, load_prices

__all__ = ["Traffic", "describe", "estimate", "load_prices"]
