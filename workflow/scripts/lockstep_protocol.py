"""Rule lockstep_protocol: ``snn-rl lockstep protocol`` around the reference run's weights."""

from job import logged, snn_rl

p = snakemake.params
with logged(snakemake.log[0]):
    snn_rl("lockstep", "protocol", "--weights", snakemake.input.weights, "--dataset", p.dataset,
           "--windows", p.windows, "--seed", p.seed, "--weight-jitter-nA", p.weight_jitter_nA,
           "--noise-flips", p.noise_flips, "--out", snakemake.output.protocol)
