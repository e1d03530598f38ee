"""Writer side of hparams: the experiment, session start and session end summaries.

``add_hparams`` (torch's layout) writes, in a sub-run of its own, three
values under the tags below, each with ``HParamsPluginData`` (version 0) as
metadata content and no tensor, followed by the metrics as scalars.

Difference from torch, on purpose: a ``bool`` hyperparameter is written as a
boolean (torch writes it as the number 1.0 or 0.0, because ``bool`` is an
``int`` in Python), and numpy numbers are accepted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from google.protobuf import struct_pb2

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import plugin_hparams_pb2 as hp
from stepscope.proto import summary_pb2
from stepscope.values import is_torch_tensor, to_numpy

PLUGIN_NAME = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"
PLUGIN_DATA_VERSION = 0


def _plain(key: str, value: Any) -> bool | float | str:
    """A hyperparameter as a bool, a float or a str; anything else is an error."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    if is_torch_tensor(value) or isinstance(value, np.ndarray):
        array = to_numpy(value).reshape(-1)
        if array.size == 1:
            return _plain(key, array[0])
    raise ValueError(
        f"hparam {key!r} is a {type(value).__name__}; hparams must be int, float, str, bool "
        "or a one-element tensor (log str(value) to keep it)"
    )


def _struct_value(value: bool | float | str) -> struct_pb2.Value:
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, float):
        return struct_pb2.Value(number_value=value)
    return struct_pb2.Value(string_value=value)


_TYPES = {bool: hp.DATA_TYPE_BOOL, float: hp.DATA_TYPE_FLOAT64, str: hp.DATA_TYPE_STRING}


def _hparam_info(key: str, value: bool | float | str, domain: list[Any] | None) -> hp.HParamInfo:
    info = hp.HParamInfo(name=key, type=_TYPES[type(value)])
    if domain is not None:
        plain = [_plain(key, item) for item in domain]
        if any(type(item) is not type(value) for item in plain):
            raise TypeError(
                f"hparam_domain_discrete[{key!r}] must list values of the same type as "
                f"hparam_dict[{key!r}] ({type(value).__name__})"
            )
        info.domain_discrete.CopyFrom(
            struct_pb2.ListValue(values=[_struct_value(item) for item in plain])
        )
    return info


def _value(tag: str, data: hp.HParamsPluginData) -> summary_pb2.Summary.Value:
    data.version = PLUGIN_DATA_VERSION
    metadata = plugin_metadata(PLUGIN_NAME, data.SerializeToString())
    return summary_pb2.Summary.Value(tag=tag, metadata=metadata)


def hparams_values(
    hparam_dict: Mapping[str, Any],
    metric_dict: Mapping[str, Any],
    hparam_domain_discrete: Mapping[str, list[Any]] | None = None,
) -> tuple[summary_pb2.Summary.Value, summary_pb2.Summary.Value, summary_pb2.Summary.Value]:
    """``(experiment, session_start_info, session_end_info)`` values."""
    if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
        raise TypeError("hparam_dict and metric_dict should be dictionaries")
    domains = dict(hparam_domain_discrete or {})
    for key, domain in domains.items():
        if key not in hparam_dict or not isinstance(domain, list):
            raise TypeError(
                f"hparam_domain_discrete[{key!r}] should be a list of values of hparam_dict[{key!r}]"
            )
    start = hp.SessionStartInfo(start_time_secs=time.time())
    infos = []
    for key, raw in hparam_dict.items():
        if raw is None:
            continue
        value = _plain(key, raw)
        start.hparams[key].CopyFrom(_struct_value(value))
        infos.append(_hparam_info(key, value, domains.get(key)))
    metrics = [hp.MetricInfo(name=hp.MetricName(tag=str(key))) for key in metric_dict]
    experiment = hp.Experiment(hparam_infos=infos, metric_infos=metrics)
    end = hp.SessionEndInfo(status=hp.STATUS_SUCCESS, end_time_secs=time.time())
    return (
        _value(EXPERIMENT_TAG, hp.HParamsPluginData(experiment=experiment)),
        _value(SESSION_START_INFO_TAG, hp.HParamsPluginData(session_start_info=start)),
        _value(SESSION_END_INFO_TAG, hp.HParamsPluginData(session_end_info=end)),
    )
