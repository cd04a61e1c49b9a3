"""The ballot's solver against an exhaustive search, on small random ballots.

No database: `projects.allocation` is pure. Hypothesis draws rankings (up to
6 teams, up to 7 slots, up to 4 choices each), an allowed set of slots and a
seed; the solver must place as many teams as the best allocation there is,
with the same lowest total rank, and return a valid allocation.
"""

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from projects.allocation import Allocation, allocate


def best_by_exhaustive_search(rankings, allowed) -> tuple[int, int]:
    """(most teams placed, lowest total rank for that many), by trying every
    allocation: each team takes one of its allowed choices or nothing."""
    teams = sorted(rankings)
    best = (0, 0)

    def visit(index, used, placed, total):
        nonlocal best
        if index == len(teams):
            if placed > best[0] or (placed == best[0] and total < best[1]):
                best = (placed, total)
            return
        visit(index + 1, used, placed, total)
        for rank, slot in enumerate(rankings[teams[index]], start=1):
            if slot in allowed and slot not in used:
                visit(index + 1, used | {slot}, placed + 1, total + rank)

    visit(0, frozenset(), 0, 0)
    return best


def assert_valid(allocation: Allocation, rankings, allowed) -> None:
    slots = [slot for slot, _ in allocation.placements.values()]
    assert len(slots) == len(set(slots)), "a slot was given twice"
    for team, (slot, rank) in allocation.placements.items():
        assert slot in allowed
        assert rankings[team][rank - 1] == slot
    ranked = {team for team, ranking in rankings.items() if ranking}
    assert set(allocation.placements) | set(allocation.unplaced) == ranked
    assert not set(allocation.placements) & set(allocation.unplaced)


SLOTS = st.integers(min_value=1, max_value=7)
ballots = st.dictionaries(
    keys=st.integers(min_value=1, max_value=50),
    values=st.lists(SLOTS, max_size=4, unique=True),
    max_size=6,
)


@settings(max_examples=400, deadline=None, database=None)
@given(
    rankings=ballots,
    allowed=st.sets(SLOTS, max_size=7),
    seed=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_the_solver_places_as_many_teams_with_as_low_a_total_rank_as_exhaustive_search(
    rankings, allowed, seed
):
    allocation = allocate(rankings, seed=seed, slots=allowed)

    assert_valid(allocation, rankings, allowed)
    assert (allocation.placed, allocation.total_rank) == best_by_exhaustive_search(
        rankings, allowed
    )


@settings(max_examples=100, deadline=None, database=None)
@given(rankings=ballots, seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_the_same_rankings_and_seed_give_the_same_allocation_in_any_order(
    rankings, seed
):
    first = allocate(rankings, seed=seed)
    shuffled = dict(reversed(list(rankings.items())))

    assert allocate(shuffled, seed=seed) == first


def test_placing_one_more_team_beats_any_saving_in_ranks():
    # Alice alone would get her first choice; placing Bob too costs her a
    # rank, which is worth it: two teams placed instead of one.
    rankings = {1: [10, 20], 2: [10]}

    allocation = allocate(rankings, seed=7)

    assert allocation.placements == {1: (20, 2), 2: (10, 1)}


def test_the_seed_decides_a_tie_and_each_team_wins_under_some_seed():
    rankings = {1: [10], 2: [10]}

    winners = {tuple(allocate(rankings, seed=seed).placements) for seed in range(40)}

    assert winners == {(1,), (2,)}


def test_choices_outside_the_allowed_slots_keep_the_ranks_of_the_others():
    allocation = allocate({1: [10, 20, 30]}, seed=1, slots={30})

    assert allocation.placements == {1: (30, 3)}


def test_a_team_whose_choices_all_went_elsewhere_is_unplaced():
    allocation = allocate({1: [10], 2: [10], 3: []}, seed=3)

    assert allocation.placed == 1
    assert len(allocation.unplaced) == 1
    assert 3 not in allocation.unplaced


def test_counts_of_first_choices_and_top_three():
    rankings = {team: [10 + n for n in range(5)] for team in range(1, 6)}

    allocation = allocate(rankings, seed=5)

    assert sorted(rank for _, rank in allocation.placements.values()) == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert allocation.first_choices == 1
    assert allocation.top_three == 3
    assert allocation.total_rank == 15


def test_no_ballots_allocate_nothing():
    assert allocate({}, seed=1) == Allocation()
    assert allocate({1: []}, seed=1) == Allocation()


def test_every_permutation_of_a_contested_instance_gives_one_result():
    rankings = {1: [1, 2], 2: [2, 1], 3: [1, 2, 3]}
    results = {
        tuple(sorted(allocate(dict(order), seed=11).placements.items()))
        for order in permutations(rankings.items())
    }

    assert len(results) == 1
