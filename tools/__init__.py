"""Scripts that build trialmatch's data files (training the entity tagger, word clusters).

Not part of the installed package, and not part of the criteria parser's version: editing them
does not re-parse stored trials. Run from the repository root, e.g. ``python -m tools.train_tagger``."""
