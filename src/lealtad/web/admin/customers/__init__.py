"""Console section Customers: members, segments and experiments."""
