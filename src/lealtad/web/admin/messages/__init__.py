"""Console section Messages: campaigns, surveys and the delivery log."""
