"""Captions: rules, queues, verdicts, split, import/export and overview (no Qt)."""
