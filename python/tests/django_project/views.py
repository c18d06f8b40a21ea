from django.core.exceptions import PermissionDenied
from django.http import HttpResponse


def home(request):
    return HttpResponse("hello")


def private(request):
    raise PermissionDenied("not for you")


def boom(request):
    raise ZeroDivisionError("division by zero in a view")
