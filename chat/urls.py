from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("", views.room_list, name="room_list"),
    # /chat/<slug>/
    path("<slug:slug>/", views.room_detail, name="room_detail"),
    path("<slug:slug>/history/", views.room_history, name="room_history"),
]
