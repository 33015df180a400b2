"""`ferry drift`: a data file (or, later, the prediction log) against a version's reference."""
