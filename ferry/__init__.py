"""ferry: the `ferry` command. Subcommands import their heavy modules only when run."""

__version__ = "0.1.0"
