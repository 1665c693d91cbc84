"""The dossier: everything known about one model version, built from every check."""
