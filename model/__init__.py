"""The model's description, free of any simulator: parameters (:mod:`.params`, with the
named parameter sets in ``parameter_sets/``), data sets (:mod:`.dataset`), the PyNN network
(:mod:`.network`), how it answers (:mod:`.decision`), the learning rules (:mod:`.rules`)
and SpiNNaker's fixed-point arithmetic (:mod:`.quantisation`)."""
