"""Parameter records: defaults, overrides, validation."""

import re

import pytest

from snn_rl.model.params import LIMITS, Params, load_params


def test_round_trip_through_a_dict():
    p = Params()
    assert Params.from_dict(p.to_dict()) == p


def test_partial_overrides_keep_other_defaults():
    p = Params.from_dict({"network": {"cell": {"tau_m": 10.0}}, "training": {"max_epochs": 7}})
    assert p.network.cell.tau_m == 10.0 and p.network.cell.v_thresh == Params().network.cell.v_thresh
    assert p.training.max_epochs == 7
    assert p.replace(plasticity={"learning_rate_nA": 0.5}).plasticity.learning_rate_nA == 0.5


@pytest.mark.parametrize("data,message", [
    ({"netwrk": {}}, "unknown parameter netwrk"),
    ({"network": {"cell": {"tau": 1}}}, "unknown parameter network.cell.tau"),
    ({"network": {"input_encoding": "both"}}, "input_encoding must be one of"),
    ({"training": {"max_epochs": 0}}, r"training.max_epochs must be in \[1, 100000\], got 0"),
    ({"network": {"timestep_ms": -0.1}}, r"network.timestep_ms must be in \[0.001, 1\], got -0.1"),
    ({"plasticity": {"w_min_nA": 2.0, "w_max_nA": 1.0}}, "w_min_nA must not exceed"),
    ({"network": []}, "must be a mapping"),
    ({"network": {"rest_ms": 0.0}}, r"rest_ms must be at least 2 ms"),
    ({"network": {"rest_ms": 4.0, "delay_ms": 5.0}}, r"rest_ms must be at least 5 ms"),
])
def test_invalid_parameters_are_named(data, message):
    with pytest.raises(ValueError, match=message):
        Params.from_dict(data)


def _nested(key: str, value) -> dict:
    data: dict = {}
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return data


@pytest.mark.parametrize("key", sorted(LIMITS))
def test_every_number_is_checked_for_range_and_finiteness(key):
    """Each limited key refuses NaN, infinity and a value just past each bound, naming itself."""
    spec = LIMITS[key]
    low, high = (float(x) for x in spec[1:-1].split(","))
    below = low if spec[0] == "(" else low - max(1.0, abs(low)) * 1e-3
    above = high if spec[-1] == ")" else high + max(1.0, abs(high)) * 1e-3
    integer = isinstance(_nested_get(Params().to_dict(), key), int)
    bad = [below, above] if not integer else [int(low) - 1, int(high) + 1]
    if not integer:
        bad += [float("nan"), float("inf")]
    for value in bad:
        with pytest.raises(ValueError, match=re.escape(key)):
            Params.from_dict(_nested(key, value))


def _nested_get(data: dict, key: str):
    for part in key.split("."):
        data = data[part]
    return data


def test_every_number_has_a_limit():
    flat = {}

    def walk(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                flat[f"{prefix}{k}"] = v
    walk(Params().to_dict())
    assert set(flat) == set(LIMITS)


@pytest.mark.parametrize("data,message", [
    ({"network": {"timestep_ms": 0.0015}}, "multiple of 0.001 ms"),
    ({"network": {"timestep_ms": 0.3}}, "window_ms must be a whole number of time steps"),
    ({"network": {"timestep_ms": 1.0, "delay_ms": 1.5}}, "delay_ms must be a whole number of time steps"),
    ({"network": {"cell": {"v_thresh": -65.0}}}, "v_reset .* must be below"),
    ({"training": {"min_winner_spikes": 5, "max_winner_spikes": 4}}, "must not exceed training.max_winner_spikes"),
])
def test_grid_and_pairs_are_checked(data, message):
    with pytest.raises(ValueError, match=message):
        Params.from_dict(data)


def test_yaml_reads_standard_numbers_and_refuses_duplicates(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("plasticity:\n  learning_rate_nA: 1e-1\n  homeostasis_nA: 5E-2\ntraining:\n  max_epochs: 30\n")
    p = load_params(str(path))
    assert p.plasticity.learning_rate_nA == 0.1 and p.plasticity.homeostasis_nA == 0.05
    assert isinstance(p.training.max_epochs, int)
    assert load_params('{"plasticity": {"learning_rate_nA": 2e-1}}').plasticity.learning_rate_nA == 0.2
    path.write_text("plasticity:\n  learning_rate_nA: 0.1\n  learning_rate_nA: 0.3\n")
    with pytest.raises(ValueError, match="given twice"):
        load_params(str(path))


def test_the_json_schema_is_generated_from_the_records():
    import jsonschema

    from snn_rl.model.params import params_json_schema

    schema = params_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(Params().to_dict(), schema)
    for name in ("seed", "reward", "unsupervised", "noise"):
        jsonschema.validate(load_params(name).to_dict(), schema)
    tau_m = schema["properties"]["network"]["properties"]["cell"]["properties"]["tau_m"]
    assert tau_m == {"type": "number", "default": 20.0, "description": "membrane time constant, ms",
                     "exclusiveMinimum": 0.0, "maximum": 10000.0}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors({"training": {"max_epoch": 5}}))
    assert errors and "max_epoch" in errors[0].message
