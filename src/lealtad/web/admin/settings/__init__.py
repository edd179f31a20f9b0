"""Console section Settings: the business, locations and posters, staff, API keys, audit."""
