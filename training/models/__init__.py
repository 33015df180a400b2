"""Model definitions, each an `nn.Module` with a config dataclass (torch only)."""
