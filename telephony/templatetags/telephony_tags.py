from django import template

from telephony.calls import can_play_recording

register = template.Library()


@register.filter
def playable_by(call, user) -> bool:
    """The template asks the same rule the playback view enforces."""
    return can_play_recording(user, call)
