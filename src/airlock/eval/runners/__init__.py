"""One runner per task. Every candidate answers each batch of items before the next batch
starts (all candidates stay loaded), so whenever a run stops, the items that finished are the
same for every candidate; a batch is recorded only once all candidates have answered it."""
