"""Rule compare: tables and figures of one data set (snn_rl.analysis.compare)."""

from pathlib import Path

from job import logged

with logged(snakemake.log[0]):
    from snn_rl.analysis.compare import TestKey, compare_dataset

    keys = [TestKey(b, int(s), t, int(f)) for b, s, t, f in snakemake.params.test_keys]
    compare_dataset(snakemake.wildcards.dataset, list(snakemake.input.summaries), list(snakemake.input.tests), keys,
                    Path(snakemake.output.summary).parent, tuple(snakemake.params.extra_test_backends))
    print(f"compare {snakemake.wildcards.dataset}: {len(keys)} tests -> {Path(snakemake.output.summary).parent}")
