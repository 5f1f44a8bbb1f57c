"""The database helpers every app may use: the lowest layer, importing no app."""
