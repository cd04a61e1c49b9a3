"""The ballot's bookkeeping when the booking window changes: a seed for a
new ballot, whether the ballot closing at this time already ran, and the
task that runs it at its closing time (`projects.tasks.run_ballot`; the
worker's clock is the safety net)."""

import secrets

from projects.models import BallotRun, BookingWindow


def window_saved(*, before: BookingWindow, after: BookingWindow) -> None:
    """Call inside the transaction that saved the window (`after`)."""
    if after.mode != BookingWindow.Mode.BALLOT or after.ballot_closes_at is None:
        return
    run = (
        BallotRun.objects.filter(closes_at=after.ballot_closes_at, dry_run=False)
        .only("created_at")
        .first()
    )
    ran_at = run.created_at if run is not None else None
    changes = {}
    if after.ballot_seed is None:
        changes["ballot_seed"] = secrets.randbits(63)
    if after.ballot_ran_at != ran_at:
        # A new closing time is a new ballot (one run each); back to a time
        # that ran, it ran.
        changes["ballot_ran_at"] = ran_at
    if changes:
        for name, value in changes.items():
            setattr(after, name, value)
        BookingWindow.objects.filter(pk=after.pk).update(**changes)
    moved = (before.mode, before.ballot_closes_at) != (
        after.mode,
        after.ballot_closes_at,
    )
    if run is None and moved:
        from projects.tasks import run_ballot

        run_ballot.using(run_after=after.ballot_closes_at).enqueue()
