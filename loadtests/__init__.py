"""Load generators, peers to compare against, and benchmark harnesses."""
