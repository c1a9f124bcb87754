from org.scoping import viewer_for


def staff(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    viewer = viewer_for(request.user)
    return {"viewer": viewer, "me": viewer.staff}
