"""Candidates: admitted models run through the gateway's engines on their hash-verified bytes,
and OpenAI-compatible endpoints through the official client; one interface for both."""
