"""The ballot's allocation: one optimal assignment of teams to ranked slots.

Pure Python and scipy, no Django, so the property test and the benchmark
call it directly. The rules (issue 18):

1. as many teams placed as possible;
2. then the lowest total rank (rank 1 = a team's first choice);
3. ties broken by a seed: the same rankings and seed give the same result.

It is a minimum-cost assignment on a sparse bipartite graph, solved by
scipy's `min_weight_full_bipartite_matching` (LAPJVsp, the sparse form of
`linear_sum_assignment`). Each team may take one of the slots it ranked, at
a cost of its rank, or its own "unplaced" column at a cost `BIG` larger than
any sum of ranks: a full matching always exists, and one fewer team placed
always costs more than any saving in ranks, so the minimum places as many
teams as possible first (rule 1) and then minimises the total rank (rule 2).

Ties: every (team, slot) pair gets a tie-break weight from a hash of the
seed, the team and the slot, scaled so that all of them together weigh less
than one rank. The minimum is then the lowest-weight allocation among those
optimal by rules 1 and 2 (rule 3), whatever the order of the input, and
without depending on which of several optimal matchings the solver happens
to reach first. Costs are integers well inside float64's exact range.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

# Tie-break weights are drawn from [0, TIE_RANGE); smaller for huge inputs so
# that every cost stays exact in float64 (below 2**52).
TIE_RANGE = 1024
EXACT = 2**52


@dataclass(frozen=True)
class Allocation:
    """Who got what: each placed team's slot and the rank the team gave it."""

    placements: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Teams that ranked something but got no slot (their choices went to
    # others, or none of them could be allocated), by team id.
    unplaced: list[int] = field(default_factory=list)

    @property
    def placed(self) -> int:
        return len(self.placements)

    @property
    def total_rank(self) -> int:
        return sum(rank for _, rank in self.placements.values())

    @property
    def first_choices(self) -> int:
        return sum(1 for _, rank in self.placements.values() if rank == 1)

    @property
    def top_three(self) -> int:
        return sum(1 for _, rank in self.placements.values() if rank <= 3)


def tie_weight(seed: int, team: int, slot: int, scale: int = TIE_RANGE) -> int:
    """A pseudo-random weight in [0, scale) for this pair under this seed.

    A hash, not a random generator: it doesn't depend on the order pairs are
    seen in, nor on the Python or numpy version.
    """
    digest = hashlib.blake2b(f"{seed}:{team}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % scale


def allocate(
    rankings: Mapping[int, Sequence[int]],
    *,
    seed: int,
    slots: Iterable[int] | None = None,
) -> Allocation:
    """Allocate slots to teams by their rankings (slot ids, best first).

    A team's rank for a slot is its position in the team's list (1 = first
    choice). Only `slots` may be allocated (default: every slot ranked);
    a team's choices outside them are skipped, keeping the ranks it gave the
    others. A team with an empty list takes no part. Return the allocation
    described in the module's docstring.
    """
    allowed = None if slots is None else set(slots)
    teams = sorted(team for team, ranking in rankings.items() if ranking)
    if not teams:
        return Allocation()
    edges: list[tuple[int, int, int]] = []  # (team index, slot id, rank)
    for index, team in enumerate(teams):
        seen = set()
        for position, slot in enumerate(rankings[team], start=1):
            if slot in seen:
                raise ValueError(f"team {team} ranks slot {slot} twice")
            seen.add(slot)
            if allowed is None or slot in allowed:
                edges.append((index, slot, position))
    n = len(teams)
    max_rank = max((rank for _, _, rank in edges), default=1)
    # One rank unit outweighs all tie-break weights together; BIG (a team
    # unplaced) outweighs every possible sum of ranks.
    scale = TIE_RANGE
    while scale > 1 and n * (max_rank * n + 1) * n * scale >= EXACT:
        scale //= 2
    unit = n * scale
    big = (max_rank * n + 1) * unit

    columns = {slot: c for c, slot in enumerate(sorted({s for _, s, _ in edges}))}
    m = len(columns)
    rows = np.fromiter((i for i, _, _ in edges), dtype=np.int64, count=len(edges))
    cols = np.fromiter(
        (columns[s] for _, s, _ in edges), dtype=np.int64, count=len(edges)
    )
    costs = np.fromiter(
        (rank * unit + tie_weight(seed, teams[i], s, scale) for i, s, rank in edges),
        dtype=np.float64,
        count=len(edges),
    )
    # Each team's own "unplaced" column.
    rows = np.concatenate([rows, np.arange(n, dtype=np.int64)])
    cols = np.concatenate([cols, m + np.arange(n, dtype=np.int64)])
    costs = np.concatenate([costs, np.full(n, float(big))])
    graph = csr_matrix((costs, (rows, cols)), shape=(n, m + n))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)

    slot_of_column = sorted(columns, key=columns.__getitem__)
    rank_of = {(i, s): rank for i, s, rank in edges}
    placements = {}
    unplaced = []
    for i, c in zip(matched_rows.tolist(), matched_cols.tolist(), strict=True):
        if c < m:
            slot = slot_of_column[c]
            placements[teams[i]] = (slot, rank_of[(i, slot)])
        else:
            unplaced.append(teams[i])
    return Allocation(placements=placements, unplaced=sorted(unplaced))
