"""The hot loop of the local search: incremental move evaluation on flat integer arrays.

Compiled with numba when it is installed; the very same functions run as plain Python
otherwise (much slower, fine for small instances and tests).

Layout. ``g`` is the class of every position of tail + day (length N); positions before
``first`` never move (the tail, and a frozen head when re-planning). For ratio constraint k,
``cnt[k, s]`` is the number of cars with the option in the window starting at s, for s in
``lo[k]..hi[k]`` (window s covers ``s .. min(s + q, N) - 1``). A window with c cars costs
``max(0, c - p)``, weighted by ``wk[k]``.

Moves (type, a, b) with a < b:

* 0 swap a and b;
* 1 forward insertion: the car at a goes to b, a+1..b shift left;
* 2 backward insertion: the car at b goes to a, a..b-1 shift right;
* 3 reversal of a..b.

Swap and insertion deltas of the ratio terms cost O(q) per constraint whatever the distance:
an insertion shifts the windows inside the block by one, so their costs telescope and only the
windows at its two ends are recounted. Reversals are kept short (their cost is O(length + q)).
Colour changes cost O(1); the paint batch limit and the optional plant terms (smoothing,
moved cars) scan only the runs and positions the move touches.
"""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - depends on the environment
    import numba

    njit = numba.njit(cache=True, nogil=True)
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment

    def njit(function):  # type: ignore[no-redef]
        return function

    HAVE_NUMBA = False


SWAP, FORWARD, BACKWARD, REVERSE = 0, 1, 2, 3


@njit
def _f(c, p):
    return c - p if c > p else 0


@njit
def source(pos, mt, a, b):
    """The old position whose car stands at ``pos`` after the move."""
    if pos < a or pos > b:
        return pos
    if mt == 0:
        if pos == a:
            return b
        if pos == b:
            return a
        return pos
    if mt == 1:
        return a if pos == b else pos + 1
    if mt == 2:
        return b if pos == a else pos - 1
    return a + b - pos


@njit
def ratio_delta(g, opt, p, q, lo, hi, wk, cnt, n_total, mt, a, b):
    """Weighted change of the ratio terms if the move were made."""
    total = 0
    K = p.shape[0]
    for k in range(K):
        pk = p[k]
        qk = q[k]
        acc = 0
        if mt == 0:
            xa = opt[g[a], k]
            xb = opt[g[b], k]
            if xa == xb:
                continue
            d = xb - xa
            s0 = max(lo[k], a - qk + 1)
            s1 = min(hi[k], a)
            for s in range(s0, s1 + 1):
                e = min(s + qk, n_total) - 1
                if e >= b:
                    continue
                c = cnt[k, s]
                acc += _f(c + d, pk) - _f(c, pk)
            s0 = max(lo[k], b - qk + 1, a + 1)
            s1 = min(hi[k], b)
            for s in range(s0, s1 + 1):
                c = cnt[k, s]
                acc += _f(c - d, pk) - _f(c, pk)
        elif mt == 1:
            xa = opt[g[a], k]
            for s in range(max(lo[k], a - qk + 1), min(hi[k], a - 1) + 1):
                e = min(s + qk, n_total) - 1
                if e >= b:
                    continue
                c = cnt[k, s]
                acc += _f(c - xa + opt[g[e + 1], k], pk) - _f(c, pk)
            if b - qk >= a:
                acc += _f(cnt[k, b - qk + 1], pk) - _f(cnt[k, a], pk)
            for s in range(max(a, b - qk + 1), min(hi[k], b) + 1):
                c = cnt[k, s]
                acc += _f(c - opt[g[s], k] + xa, pk) - _f(c, pk)
        elif mt == 2:
            xb = opt[g[b], k]
            for s in range(max(lo[k], a - qk + 1), min(hi[k], a) + 1):
                e = min(s + qk, n_total) - 1
                if e >= b:
                    continue
                c = cnt[k, s]
                acc += _f(c - opt[g[e], k] + xb, pk) - _f(c, pk)
            if b - qk + 1 >= a + 1:
                acc += _f(cnt[k, a], pk) - _f(cnt[k, b - qk + 1], pk)
            for s in range(max(a + 1, b - qk + 2), min(hi[k], b) + 1):
                c = cnt[k, s]
                acc += _f(c - xb + opt[g[s - 1], k], pk) - _f(c, pk)
        else:
            s0 = max(lo[k], a - qk + 1)
            s1 = min(hi[k], b)
            if s0 > s1:
                continue
            c = 0
            for t in range(s0, min(s0 + qk, n_total)):
                c += opt[g[source(t, mt, a, b)], k]
            acc += _f(c, pk) - _f(cnt[k, s0], pk)
            for s in range(s0 + 1, s1 + 1):
                c -= opt[g[source(s - 1, mt, a, b)], k]
                t = s + qk - 1
                if t < n_total:
                    c += opt[g[source(t, mt, a, b)], k]
                acc += _f(c, pk) - _f(cnt[k, s], pk)
        total += wk[k] * acc
    return total


@njit
def colour_delta(g, col, n_total, mt, a, b):
    """Change in the number of colour changes if the move were made."""
    # adjacency pairs (p, p+1) that the move breaks (old) and creates (new), as positions p
    old = np.empty(4, np.int64)
    new = np.empty(4, np.int64)
    if mt == 0:
        old[0] = a - 1
        old[1] = a
        old[2] = b - 1 if b - 1 != a else -2
        old[3] = b
        for i in range(4):
            new[i] = old[i]
    elif mt == 1:
        old[0] = a - 1
        old[1] = a
        old[2] = b
        old[3] = -2
        new[0] = a - 1
        new[1] = b - 1 if b - 1 != a - 1 else -2
        new[2] = b
        new[3] = -2
    elif mt == 2:
        old[0] = a - 1
        old[1] = b - 1 if b - 1 != a - 1 else -2
        old[2] = b
        old[3] = -2
        new[0] = a - 1
        new[1] = a
        new[2] = b
        new[3] = -2
    else:
        old[0] = a - 1
        old[1] = b
        old[2] = -2
        old[3] = -2
        for i in range(4):
            new[i] = old[i]
    delta = 0
    for i in range(4):
        x = old[i]
        if x >= 0 and x + 1 < n_total:
            if col[g[x]] != col[g[x + 1]]:
                delta -= 1
        x = new[i]
        if x >= 0 and x + 1 < n_total:
            if col[g[source(x, mt, a, b)]] != col[g[source(x + 1, mt, a, b)]]:
                delta += 1
    return delta


@njit
def _runs_excess(g, col, n_total, n_tail, limit, positions, count, mt, a, b, moved):
    """Cars beyond the paint limit in the runs through ``positions`` (before or after the move)."""
    starts = np.empty(8, np.int64)
    n_starts = 0
    total = 0
    for i in range(count):
        pos = positions[i]
        if pos < 0 or pos >= n_total:
            continue
        if moved:
            c = col[g[source(pos, mt, a, b)]]
        else:
            c = col[g[pos]]
        s = pos
        while s > 0:
            if moved:
                cs = col[g[source(s - 1, mt, a, b)]]
            else:
                cs = col[g[s - 1]]
            if cs != c:
                break
            s -= 1
        seen = False
        for j in range(n_starts):
            if starts[j] == s:
                seen = True
        if seen:
            continue
        starts[n_starts] = s
        n_starts += 1
        e = pos
        while e + 1 < n_total:
            if moved:
                ce = col[g[source(e + 1, mt, a, b)]]
            else:
                ce = col[g[e + 1]]
            if ce != c:
                break
            e += 1
        # cars of the day beyond the limit (the tail's own overflow is history)
        beyond = e - max(s + limit, n_tail) + 1
        if beyond > 0:
            total += beyond
    return total


@njit
def paint_delta(g, col, n_total, n_tail, limit, mt, a, b):
    """Change in the cars beyond the paint batch limit if the move were made."""
    before = np.empty(6, np.int64)
    after = np.empty(6, np.int64)
    if mt == 0:
        before[0] = a - 1
        before[1] = a
        before[2] = a + 1
        before[3] = b - 1
        before[4] = b
        before[5] = b + 1
        for i in range(6):
            after[i] = before[i]
        nb = 6
        na = 6
    elif mt == 1:
        before[0] = a - 1
        before[1] = a
        before[2] = a + 1
        before[3] = b
        before[4] = b + 1
        after[0] = a - 1
        after[1] = a
        after[2] = b - 1
        after[3] = b
        after[4] = b + 1
        nb = 5
        na = 5
    elif mt == 2:
        before[0] = a - 1
        before[1] = a
        before[2] = b - 1
        before[3] = b
        before[4] = b + 1
        after[0] = a - 1
        after[1] = a
        after[2] = a + 1
        after[3] = b
        after[4] = b + 1
        nb = 5
        na = 5
    else:
        before[0] = a - 1
        before[1] = a
        before[2] = b
        before[3] = b + 1
        for i in range(4):
            after[i] = before[i]
        nb = 4
        na = 4
    return _runs_excess(g, col, n_total, n_tail, limit, after, na, mt, a, b, True) - _runs_excess(
        g, col, n_total, n_tail, limit, before, nb, mt, a, b, False
    )


@njit
def moved_delta(g, ref, mt, a, b):
    """Change in the number of positions whose class differs from the reference order."""
    delta = 0
    for pos in range(a, b + 1):
        if mt == 0 and pos != a and pos != b:
            continue
        if g[source(pos, mt, a, b)] != ref[pos]:
            delta += 1
        if g[pos] != ref[pos]:
            delta -= 1
    return delta


@njit
def _touch(touched, n_touched, v):
    for i in range(n_touched):
        if touched[i] == v:
            return n_touched
    touched[n_touched] = v
    return n_touched + 1


@njit
def smoothing_delta(g, var, dev, n_day, first_day, mt, a, b, dx, touched):
    """Change of the goal-chasing deviation; ``dev[v, pos]`` is n*X(v) - k*d(v) after ``pos``."""
    F = var.shape[1]
    n_touched = 0
    delta = 0
    for pos in range(a, b):
        old_cls = g[pos]
        new_cls = g[source(pos, mt, a, b)]
        if old_cls != new_cls:
            for f in range(F):
                vo = var[old_cls, f]
                vn = var[new_cls, f]
                if vo == vn:
                    continue
                if vo >= 0:
                    n_touched = _touch(touched, n_touched, vo)
                    dx[vo] -= 1
                if vn >= 0:
                    n_touched = _touch(touched, n_touched, vn)
                    dx[vn] += 1
        for i in range(n_touched):
            v = touched[i]
            if dx[v] != 0:
                d0 = dev[v, pos]
                d1 = d0 + n_day * dx[v]
                delta += abs(d1) - abs(d0)
    for i in range(n_touched):
        dx[touched[i]] = 0
    return delta


@njit
def recount(g, opt, p, q, lo, hi, cnt, n_total, a, b):
    """Recompute the window counts of every window that meets positions a..b."""
    K = p.shape[0]
    for k in range(K):
        qk = q[k]
        s0 = max(lo[k], a - qk + 1)
        s1 = min(hi[k], b)
        if s0 > s1:
            continue
        c = 0
        for t in range(s0, min(s0 + qk, n_total)):
            c += opt[g[t], k]
        cnt[k, s0] = c
        for s in range(s0 + 1, s1 + 1):
            c -= opt[g[s - 1], k]
            t = s + qk - 1
            if t < n_total:
                c += opt[g[t], k]
            cnt[k, s] = c


@njit
def rebuild_deviation(g, var, dev, demand, n_day, first_day, a, b):
    """Recompute ``dev`` for positions a..b from the value just before a."""
    V = dev.shape[0]
    F = var.shape[1]
    for v in range(V):
        x = 0
        if a > first_day:
            x = (dev[v, a - 1] + (a - first_day) * demand[v]) // n_day
        for pos in range(a, b + 1):
            for f in range(F):
                if var[g[pos], f] == v:
                    x += 1
            dev[v, pos] = n_day * x - (pos - first_day + 1) * demand[v]


@njit
def apply_move(g, opt, p, q, lo, hi, cnt, n_total, mt, a, b):
    """Make the move on ``g`` and update the window counts."""
    if mt == 0:
        K = p.shape[0]
        for k in range(K):
            d = opt[g[b], k] - opt[g[a], k]
            if d == 0:
                continue
            qk = q[k]
            for s in range(max(lo[k], a - qk + 1), min(hi[k], a) + 1):
                if min(s + qk, n_total) - 1 < b:
                    cnt[k, s] += d
            for s in range(max(lo[k], b - qk + 1, a + 1), min(hi[k], b) + 1):
                cnt[k, s] -= d
        t = g[a]
        g[a] = g[b]
        g[b] = t
        return
    if mt == 1:
        t = g[a]
        for pos in range(a, b):
            g[pos] = g[pos + 1]
        g[b] = t
    elif mt == 2:
        t = g[b]
        for pos in range(b, a, -1):
            g[pos] = g[pos - 1]
        g[a] = t
    else:
        i = a
        j = b
        while i < j:
            t = g[i]
            g[i] = g[j]
            g[j] = t
            i += 1
            j -= 1
    recount(g, opt, p, q, lo, hi, cnt, n_total, a, b)


@njit
def move_delta(g, opt, p, q, lo, hi, wk, cnt, n_total, col, w_col, limit, w_paint, ref, w_moved,
               var, dev, n_day, first_day, w_smooth, dx, touched, mt, a, b):
    """Weighted change of the whole objective if the move were made."""
    delta = ratio_delta(g, opt, p, q, lo, hi, wk, cnt, n_total, mt, a, b)
    if w_col != 0:
        delta += w_col * colour_delta(g, col, n_total, mt, a, b)
    if limit > 0:
        delta += w_paint * paint_delta(g, col, n_total, first_day, limit, mt, a, b)
    if w_moved != 0:
        delta += w_moved * moved_delta(g, ref, mt, a, b)
    if w_smooth != 0:
        delta += w_smooth * smoothing_delta(g, var, dev, n_day, first_day, mt, a, b, dx, touched)
    return delta


@njit
def seed_rng(seed):
    np.random.seed(seed)


@njit
def _pick_focus(cnt, p, lo, hi, first, n_total, q, kweight):
    """A movable position inside a violated window, or -1 when there is none.

    The constraint is drawn in proportion to ``kweight`` (its weighted excess when the chunk
    started); its windows are then scanned from a random start for one over capacity.
    """
    K = p.shape[0]
    total = 0.0
    for k in range(K):
        total += kweight[k]
    if total <= 0.0:
        return -1
    r = np.random.random() * total
    k = K - 1
    for kk in range(K):
        r -= kweight[kk]
        if r < 0.0:
            k = kk
            break
    span = hi[k] - lo[k] + 1
    if span <= 0:
        return -1
    s = lo[k] + np.random.randint(span)
    for _ in range(span):
        if cnt[k, s] > p[k]:
            start = max(s, first)
            end = min(s + q[k], n_total) - 1
            if end >= start:
                return start + np.random.randint(end - start + 1)
        s += 1
        if s > hi[k]:
            s = lo[k]
    return -1


@njit
def _pick_colour_change(g, col, first, n_total):
    """A movable car next to a colour change (a batch border), or -1 when a short scan finds none."""
    movable = n_total - first
    pos = first + np.random.randint(movable)
    for _ in range(64):
        nxt = pos + 1
        if nxt >= n_total:
            nxt = first
        if col[g[pos]] != col[g[nxt]] and nxt > pos:
            return pos if np.random.random() < 0.5 else nxt
        pos = nxt
    return -1


@njit
def search(g, opt, p, q, lo, hi, wk, cnt, n_total, first, col, w_col, limit, w_paint, ref, w_moved,
           var, dev, demand, n_day, first_day, w_smooth, cost, best_g, best_cost, iterations, max_reverse,
           near, dx, touched, kick, kick_size, kweight):
    """Run ``iterations`` steps of the descent; ``cost`` and ``best_cost`` are 1-element arrays.

    Each step draws a move (often around a violated window), evaluates it incrementally and
    makes it when it does not worsen the objective -- or, with probability ``kick``, when it
    worsens it by at most ``kick_size`` (a small step out of a plateau); the best sequence seen
    is kept in ``best_g``. Returns the number of moves made.
    """
    K = p.shape[0]
    movable = n_total - first
    made = 0
    if movable < 2:
        return 0
    has_colour = w_col != 0 or limit > 0
    for _ in range(iterations):
        if best_cost[0] == 0:
            break
        i = -1
        r = np.random.random()
        if has_colour and r < 0.15 and np.random.random() < 0.5:
            i = _pick_colour_change(g, col, first, n_total)
        elif K > 0 and np.random.random() < 0.6:
            i = _pick_focus(cnt, p, lo, hi, first, n_total, q, kweight)
        if i < 0:
            i = first + np.random.randint(movable)
        if np.random.random() < 0.5:
            j = i + np.random.randint(2 * near + 1) - near
            if j < first:
                j = first
            if j >= n_total:
                j = n_total - 1
        else:
            j = first + np.random.randint(movable)
        if has_colour and r < 0.15:
            # colour batch move: put car i next to a car of its own colour
            c = col[g[i]]
            start = first + np.random.randint(movable)
            j = -1
            for step in range(64):
                pos = start + step
                if pos >= n_total:
                    pos -= movable
                if pos != i and col[g[pos]] == c:
                    j = pos
                    break
            if j < 0:
                continue
            if j > i:
                mt = 1
                a = i
                b = j - 1 if np.random.random() < 0.5 else j
            else:
                mt = 2
                a = j if np.random.random() < 0.5 else j + 1
                b = i
            if a >= b:
                continue
        else:
            if i == j:
                continue
            a = min(i, j)
            b = max(i, j)
            if r < 0.5:
                mt = 0
                if g[a] == g[b]:
                    continue
            elif r < 0.85:
                mt = 1 if i < j else 2
            else:
                mt = 3
                if b - a > max_reverse:
                    b = a + max_reverse
        delta = move_delta(g, opt, p, q, lo, hi, wk, cnt, n_total, col, w_col, limit, w_paint, ref,
                           w_moved, var, dev, n_day, first_day, w_smooth, dx, touched, mt, a, b)
        if delta <= 0 or (delta <= kick_size and np.random.random() < kick):
            apply_move(g, opt, p, q, lo, hi, cnt, n_total, mt, a, b)
            if w_smooth != 0:
                rebuild_deviation(g, var, dev, demand, n_day, first_day, a, b)
            cost[0] += delta
            made += 1
            if cost[0] < best_cost[0]:
                best_cost[0] = cost[0]
                for t in range(n_total):
                    best_g[t] = g[t]
    return made


@njit
def greedy(g, opt, p, q, wk, n_total, start, left, col, w_col, limit, w_paint, weight, noise):
    """Fill positions ``start..`` of ``g`` car by car with the cheapest class still to build.

    The cost of a class is what it adds to the windows that end at the position (and a colour
    change, and a paint batch overflow); ties go to the class with the largest ``weight`` (its
    load on the tight options), randomised by ``noise``.
    """
    K = p.shape[0]
    C = left.shape[0]
    win = np.zeros(K, np.int64)
    run = 0
    for pos in range(start, n_total):
        for k in range(K):
            c = 0
            for t in range(max(0, pos - q[k] + 1), pos):
                c += opt[g[t], k]
            win[k] = c
        if pos > 0 and limit > 0:
            run = 1
            t = pos - 1
            while t > 0 and col[g[t - 1]] == col[g[pos - 1]] and run <= limit:
                run += 1
                t -= 1
        best = -1
        best_cost = 0
        best_key = 0.0
        for c_ in range(C):
            if left[c_] == 0:
                continue
            cost = 0
            for k in range(K):
                if opt[c_, k] == 1 and win[k] + 1 > p[k]:
                    cost += wk[k]
            if pos > 0:
                if col[c_] != col[g[pos - 1]]:
                    cost += w_col
                elif limit > 0 and run + 1 > limit:
                    cost += w_paint
            key = weight[c_] + noise * np.random.random()
            if best < 0 or cost < best_cost or (cost == best_cost and key > best_key):
                best = c_
                best_cost = cost
                best_key = key
        g[pos] = best
        left[best] -= 1
