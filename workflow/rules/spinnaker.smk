"""SpiNNaker: every trained network under the chip's arithmetic, and its deployment bundle.

The emulated test lands where the compare step looks for extra test columns
(``extra_test_backends: [spinnaker-emulated]`` in the config puts it into the tables and the
report); ``snakemake spinnaker`` builds every emulation and every bundle.
"""

SPINNAKER_EMULATED = "spinnaker-emulated"


rule emulate_spinnaker:
    """A trained network (trained on {backend}) tested with SpiNNaker's 1 ms time step and 16-bit
    weights on NEST, compared with float NEST; emulation.json names the characters that break
    and why, and the weights that round to zero."""
    input:
        weights=f"{RUN}/weights.npz",
        summary=f"{RUN}/train.json",
        dataset=dataset_file,
    output:
        result=f"{RUN}/test/{SPINNAKER_EMULATED}/flips0/test.json",
        raster=f"{RUN}/test/{SPINNAKER_EMULATED}/flips0/raster.png",
        emulation=f"{RUN}/test/{SPINNAKER_EMULATED}/flips0/emulation.json",
        spikes=f"{RUN}/test/{SPINNAKER_EMULATED}/flips0/spikes.nix",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/emulate_spinnaker.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/emulate_spinnaker.tsv"
    params:
        dataset=dataset_spec,
        repeats=config["test"]["repeats"],
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/spinnaker_emulate.py"


rule deploy_spinnaker:
    """The deployment bundle of a trained network (standalone PyNN script, weights, data set,
    README), mapped on a virtual SpiNNaker board; deploy.json has the placement."""
    input:
        weights=f"{RUN}/weights.npz",
        summary=f"{RUN}/train.json",
        dataset=dataset_file,
    output:
        report=f"{RUN}/deploy/deploy.json",
        script=f"{RUN}/deploy/run.py",
        network=f"{RUN}/deploy/network.json",
        quantisation=f"{RUN}/deploy/quantisation.json",
    log:
        "runs/logs/{dataset}/{backend}/seed{seed}/deploy_spinnaker.log",
    benchmark:
        "runs/benchmarks/{dataset}/{backend}/seed{seed}/deploy_spinnaker.tsv"
    params:
        dataset=dataset_spec,
        repeats=config["test"]["repeats"],
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/spinnaker_deploy.py"


rule spinnaker:
    """Every emulation and every deployment bundle."""
    input:
        expand(f"{RUN}/test/{SPINNAKER_EMULATED}/flips0/emulation.json", dataset=DATASETS, backend=BACKENDS, seed=SEEDS),
        expand(f"{RUN}/deploy/deploy.json", dataset=DATASETS, backend=BACKENDS, seed=SEEDS),
