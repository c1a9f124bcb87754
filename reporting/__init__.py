"""Reporting: the sales board and call review."""
