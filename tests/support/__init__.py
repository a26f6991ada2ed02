"""Helpers the tests share (not tests themselves): see each module."""
