"""Command-line entry point (placeholder until the scan command lands)."""


def main() -> int:
    return 0
