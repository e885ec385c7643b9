rule lockstep_protocol:
    """The fixed input and weight sequence every backend replays, drawn around the trained
    weights of the reference run."""
    input:
        weights=lockstep_reference("weights.npz"),
        summary=lockstep_reference("train.json"),
        dataset=dataset_file,
    output:
        protocol="runs/{dataset}/lockstep/protocol.npz",
    log:
        "runs/logs/{dataset}/lockstep/protocol.log",
    benchmark:
        "runs/benchmarks/{dataset}/lockstep/protocol.tsv"
    params:
        dataset=dataset_spec,
        windows=LOCKSTEP["windows"],
        seed=LOCKSTEP["seed"],
        weight_jitter_nA=LOCKSTEP["weight_jitter_nA"],
        noise_flips=LOCKSTEP["noise_flips"],
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/lockstep_protocol.py"


rule lockstep_run:
    """Replay the protocol on one backend and record every spike."""
    input:
        protocol="runs/{dataset}/lockstep/protocol.npz",
    output:
        recording="runs/{dataset}/lockstep/{lockstep_backend}.npz",
        spikes="runs/{dataset}/lockstep/{lockstep_backend}.nix",
    log:
        "runs/logs/{dataset}/lockstep/{lockstep_backend}.log",
    benchmark:
        "runs/benchmarks/{dataset}/lockstep/{lockstep_backend}.tsv"
    wildcard_constraints:
        lockstep_backend="|".join(LOCKSTEP_BACKENDS),
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/lockstep_run.py"


rule lockstep_compare:
    """Per window and neuron: exact and within-one spike-count match, rate difference, van
    Rossum distance, for every pair of backends."""
    input:
        recordings=expand("runs/{{dataset}}/lockstep/{backend}.npz", backend=LOCKSTEP_BACKENDS),
    output:
        agreement="runs/{dataset}/lockstep/agreement.json",
        figure=report("runs/{dataset}/lockstep/agreement.png", category="Lockstep", subcategory="{dataset}",
                      caption="../report/lockstep.rst"),
    log:
        "runs/logs/{dataset}/lockstep/compare.log",
    benchmark:
        "runs/benchmarks/{dataset}/lockstep/compare.tsv"
    params:
        tau_ms=LOCKSTEP["van_rossum_tau_ms"],
    threads: 1
    conda:
        "../envs/snn-rl.yaml"
    script:
        "../scripts/lockstep_compare.py"
