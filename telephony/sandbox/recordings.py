"""The sandbox's recordings: the RecordingUrl it gives out (its own
/telephony/sandbox/recordings/RE..., served by telephony.views_sandbox) and the audio behind
it, a few seconds of generated tones."""

from __future__ import annotations

import array
import io
import math
import random
import wave

from django.urls import reverse

from telephony import twilio as tw
from telephony.sandbox.state import resource_get


def recording_url(recording_sid: str) -> str:
    return tw.public_url(reverse("telephony:sandbox-recording", args=[recording_sid]))



def recording_wav(recording_sid: str, *, seconds: float = 4.0, rate: int = 8000, channels: int = 2) -> bytes:
    """A short WAV, the same for the same sid: the agent's tones on the left channel, the
    customer's on the right, taking turns like a conversation."""
    rng = random.Random(recording_sid)
    total = int(seconds * rate)
    samples = array.array("h", bytes(2 * total * channels))
    turn = int(0.5 * rate)
    for start in range(0, total, turn):
        speaker = (start // turn) % channels
        frequency = rng.choice([330.0, 392.0, 440.0, 494.0, 523.0, 587.0])
        length = min(turn - rate // 20, total - start)  # a short pause between turns
        step = 2 * math.pi * frequency / rate
        for i in range(max(0, length)):
            envelope = min(1.0, i / 200, (length - i) / 200)
            samples[(start + i) * channels + speaker] = int(9000 * envelope * math.sin(step * i))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def recording_channels(recording_sid: str) -> int | None:
    """The channel count of a recording the sandbox made, or None when it has no such recording."""
    resource = resource_get(recording_sid)
    return None if resource is None else int(resource.get("channels") or 1)
