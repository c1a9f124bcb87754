from django.http import HttpResponse
from django.urls import path

app_name = "leads_appointments"


def _placeholder(request):  # replaced by the real page
    return HttpResponse("Coming soon.")


urlpatterns = [path("", _placeholder, name="arrivals")]
