"""The registry: admitted model versions with their manifests, dossiers and verdicts."""
