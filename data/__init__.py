"""Data files shipped with trialmatch (lexicons, Datasette metadata, example patients).

Installed as the package ``trialmatch_data``; read them with ``matcher.resources.data_path``.
"""
