"""Console section Reports: analytics and the e-mailed summaries."""
