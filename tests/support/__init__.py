"""Helpers shared by the test modules (imported from here, never from another test module)."""
