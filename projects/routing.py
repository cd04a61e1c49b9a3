from django.urls import path

from projects.consumers import LabBoardConsumer

websocket_urlpatterns = [
    path("ws/labs/", LabBoardConsumer.as_asgi()),
]
