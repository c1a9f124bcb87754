from telephony.twilio import sandbox_enabled


def sandbox(request):
    """Pages say when calls and texts go to the local sandbox (nothing reaches a real phone)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"telephony_sandbox": sandbox_enabled()}
