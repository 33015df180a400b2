"""ferry: the `ferry` command, on top of every other package.

May import everything; subcommands import their heavy modules only when run, so
`ferry serve` never imports torch.
"""

__version__ = "0.1.0"
