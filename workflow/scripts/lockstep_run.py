"""Rule lockstep_run: :func:`snn_rl.replay` of the protocol on one backend."""

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    recording = snn_rl.replay(snakemake.input.protocol, snakemake.wildcards.lockstep_backend,
                              snakemake.output.recording, threads=snakemake.threads)
    print(f"lockstep replay on {recording.backend}: {recording.n_windows} windows in "
          f"{recording.wall_seconds:.1f} s -> {snakemake.output.recording}")
