"""Optimize: eval scores, and the waste detectors that price what can be saved."""
