"""The read side: KPIs, cohorts, segments, customer value, experiments and reports."""
