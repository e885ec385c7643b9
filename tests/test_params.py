"""Parameter records: defaults, overrides, validation."""

import pytest

from snn_rl.model.params import Params


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
    ({"training": {"max_epochs": 0}}, "max_epochs must be positive"),
    ({"network": {"timestep_ms": -0.1}}, "timestep_ms must be positive"),
    ({"plasticity": {"w_min_nA": 2.0, "w_max_nA": 1.0}}, "w_min_nA must not exceed"),
    ({"network": []}, "must be a mapping"),
    ({"network": {"rest_ms": 0.0}}, r"rest_ms must be at least 2 ms"),
    ({"network": {"rest_ms": 4.0, "delay_ms": 5.0}}, r"rest_ms must be at least 5 ms"),
])
def test_invalid_parameters_are_named(data, message):
    with pytest.raises(ValueError, match=message):
        Params.from_dict(data)
