"""Rule lockstep_protocol: :func:`snn_rl.lockstep_protocol` around the reference run's weights."""

from job import logged

p = snakemake.params
with logged(snakemake.log[0]):
    import snn_rl

    protocol = snn_rl.lockstep_protocol(snakemake.input.weights, p.dataset, snakemake.output.protocol,
                                        windows=p.windows, seed=p.seed, weight_jitter_nA=p.weight_jitter_nA,
                                        noise_flips=p.noise_flips)
    print(f"lockstep protocol: {protocol.n_windows} windows -> {snakemake.output.protocol}")
