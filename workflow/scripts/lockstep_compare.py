"""Rule lockstep_compare: :func:`snn_rl.agreement` of every backend's recording."""

from job import logged

with logged(snakemake.log[0]):
    import snn_rl

    from snn_rl.analysis.agreement import majority_line

    result = snn_rl.agreement(snakemake.input.recordings, snakemake.output.agreement, tau_ms=snakemake.params.tau_ms,
                              figure=snakemake.output.figure)
    for p in result["pairs"]:
        print(f"lockstep {p['a']} vs {p['b']}: exact count match {p['all']['exact_match_rate']:.4f}")
    print(f"lockstep majority: {majority_line(result['majority'])}")
