"""Helpers the tests share: the public datasets (``data``) and the headless browser
(``browser``). Fixtures stay in ``conftest.py``; plain functions and constants live here,
imported by name (``from tests.support.data import SHARED_DATA``)."""
