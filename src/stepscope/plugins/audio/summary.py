"""Writer side of audio: mono 16-bit PCM WAV in a legacy ``Summary.Audio``.

torch's rules: the clip is squeezed to one dimension, samples are in
[-1, 1] (louder ones are clipped, with a warning) and scaled by 32767.
"""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.proto import summary_pb2
from stepscope.warnings import warn_once

PLUGIN_NAME = "audio"


def to_pcm16(samples: npt.NDArray[Any], tag: str) -> npt.NDArray[np.int16]:
    clip = np.asarray(samples).squeeze()
    if clip.ndim != 1:
        raise ValueError(
            f"audio {tag!r}: expected a 1-D clip of samples in [-1, 1] (shape (L,) or (1, L)), "
            f"got shape {tuple(np.shape(samples))}"
        )
    if clip.dtype.kind != "f":
        clip = clip.astype(np.float64)
    # Scale in the clip's own dtype, as torch does (float32 rounding differs from float64's).
    if clip.size and not np.isfinite(clip).all():
        raise ValueError(f"audio {tag!r}: the clip contains NaN or infinite samples")
    if clip.size and np.abs(clip).max() > 1:
        warn_once(f"audio {tag!r}: amplitude beyond [-1, 1], clipped", key=("audio-clip", tag))
        clip = np.clip(clip, -1, 1)
    pcm: npt.NDArray[np.int16] = (clip * np.iinfo(np.int16).max).astype("<i2")
    return pcm


def encode_wav(pcm: npt.NDArray[np.int16], sample_rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


def audio_value(tag: str, samples: npt.NDArray[Any], sample_rate: int) -> summary_pb2.Summary.Value:
    rate = int(sample_rate)
    if rate <= 0:
        raise ValueError(
            f"audio {tag!r}: sample_rate must be a positive number of Hz, got {sample_rate}"
        )
    pcm = to_pcm16(samples, tag)
    audio = summary_pb2.Summary.Audio(
        sample_rate=float(rate),
        num_channels=1,
        length_frames=int(pcm.shape[-1]),
        encoded_audio_string=encode_wav(pcm, rate),
        content_type="audio/wav",
    )
    return summary_pb2.Summary.Value(tag=tag, audio=audio)
