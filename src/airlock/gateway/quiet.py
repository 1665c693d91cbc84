"""No progress bars in a server's log: transformers draws one per model load ("Loading
weights"), huggingface_hub per download, sentence-transformers per encode; in a log file they
are only noise. Bars drawn straight through tqdm obey TQDM_DISABLE (set by `airlock serve`)."""

from __future__ import annotations


def disable_progress_bars() -> None:
    from huggingface_hub.utils.tqdm import disable_progress_bars as hub_off
    from transformers.utils import logging as transformers_logging

    hub_off()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
