from django.utils import timezone

from org.scoping import viewer_for


class StoreTimezoneMiddleware:
    """Show times in the user's store's zone; they are stored in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        staff = viewer_for(user).staff if user is not None and user.is_authenticated else None
        if staff is not None:
            timezone.activate(staff.store.tz)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
