from django.urls import path

from projects import ballot_views, views

app_name = "projects"

urlpatterns = [
    # /projects/
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/mine/", views.project_mine, name="project_mine"),
    path("projects/mine/invite/", views.project_invite, name="project_invite"),
    path("projects/mine/release/", views.project_release, name="project_release"),
    path("projects/mine/dissolve/", views.project_dissolve, name="project_dissolve"),
    # /invitations/<id>/
    path(
        "invitations/<int:invitation_id>/accept/",
        views.invitation_accept,
        name="invitation_accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        views.invitation_decline,
        name="invitation_decline",
    ),
    path(
        "invitations/<int:invitation_id>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    # /students/
    path("students/", views.student_search, name="student_search"),
    # /labs/
    path("labs/", views.lab_board, name="lab_board"),
    path("labs/frames/", views.lab_frames, name="lab_frames"),
    path("labs/<int:lab_id>/book/", views.lab_book, name="lab_book"),
    path("labs/ballot/", ballot_views.ballot_rank, name="ballot_rank"),
    # /schedule/
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/print/", views.schedule_print, name="schedule_print"),
    # /coordinator/
    path("coordinator/", views.coordinator, name="coordinator"),
    path("coordinator/live/", views.coordinator_live, name="coordinator_live"),
    path(
        "coordinator/pairings/",
        views.coordinator_pairings,
        name="coordinator_pairings",
    ),
    path(
        "coordinator/placements/",
        views.coordinator_placements,
        name="coordinator_placements",
    ),
    path(
        "coordinator/announcements/",
        views.coordinator_announcements,
        name="coordinator_announcements",
    ),
    path(
        "coordinator/students.csv",
        views.coordinator_students_csv,
        name="coordinator_students_csv",
    ),
    path(
        "coordinator/teams.csv",
        views.coordinator_teams_csv,
        name="coordinator_teams_csv",
    ),
    path(
        "coordinator/roster.csv",
        views.coordinator_roster_csv,
        name="coordinator_roster_csv",
    ),
    path(
        "coordinator/allocations.csv",
        views.coordinator_allocations_csv,
        name="coordinator_allocations_csv",
    ),
    # /coordinator/ballot/
    path(
        "coordinator/ballot/",
        ballot_views.coordinator_ballot,
        name="coordinator_ballot",
    ),
    path(
        "coordinator/ballot/dry-run/",
        ballot_views.coordinator_ballot_dry_run,
        name="coordinator_ballot_dry_run",
    ),
    path(
        "coordinator/ballot/run/",
        ballot_views.coordinator_ballot_run,
        name="coordinator_ballot_run",
    ),
]
