"""Insights: facts turned into prose and questions turned into filters, by a local model."""
