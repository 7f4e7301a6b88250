"""The faces served over HTTP: the Datasette browse view of the registry (``browse``).

The physician search page will join the same Datasette process as another plugin module
(see ``browse.make_datasette``).
"""
