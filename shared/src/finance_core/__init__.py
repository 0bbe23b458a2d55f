"""Pure financial core: contract, money, accounts, metrics, aggregates, analytics; no cloud imports."""

__version__ = "0.1.0"
