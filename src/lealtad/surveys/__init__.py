"""Surveys and feedback: an NPS question plus a few questions, answered once per member."""
