"""Provenance: is this exactly the model that was approved? Hash manifests, OpenSSF model
signatures and a CycloneDX ML-BOM. The heavy libraries (model-signing, cyclonedx) are imported
inside the functions that need them, so that `airlock scan` starts without them."""
