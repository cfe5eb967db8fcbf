"""Automation: rules that answer, route and label conversations by themselves.

Rules are events (``automation.rule_saved``); evaluating them is a side effect, done
by the worker of ``crm.automation.worker`` with its own lease and checkpoint, never
by a projection, so ``crm replay`` sends nothing.
"""
