"""Load generators, peers to compare against, and benchmark harnesses.

Above the service: imports the export contract and the service's public packages
(`service.runtime`, `service.scoring`), never their modules (checked by lint-imports).
"""
