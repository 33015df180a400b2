"""The BentoML entry point: `bentoml serve service.app:Ferry` (what `ferry serve` runs).

The service itself lives in `service.serving.app`; this module keeps the import
path users, bentofile.yaml and the Dockerfile name.
"""

from service.serving.app import Ferry

__all__ = ["Ferry"]
