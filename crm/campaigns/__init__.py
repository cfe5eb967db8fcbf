"""Campaigns: one template to a list of customers, each recipient at most once."""
