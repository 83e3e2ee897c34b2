"""Plain-Python sync and billing logic: matching, reference data, invoice building and pushing."""
