"""Notifying subscribers: compose emails from changes, queue them durably, deliver them."""
