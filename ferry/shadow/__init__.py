"""`ferry models shadow-report`: a shadow session's agreement as tables and a PNG."""
