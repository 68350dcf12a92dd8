"""Each notebook's record, out of the reader's way: `nbNN.record(run, **numbers)` builds the results file and the
claims ledger entries from the numbers the notebook computed, and writes them (`notebook.Session.record`).

The claims' wording, protocols and deciding numbers live here, one module per notebook, so that a notebook ends
with one call; the prose above that call states each verdict, tied to the same results (`vae_utils.prose`)."""
