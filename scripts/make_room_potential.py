#!/usr/bin/env python3
"""Writes resources/images/room_exit.pgm: the travel-time potential of a room for the crowd-motion
preset. The image spans [-4, 4]^2 (the default grid): walls around the room (x, y in [-3, 3]) with a
door on the right wall at |y| < 0.45, the exit beyond it. Grey = geodesic distance to the exit
(Dijkstra on the pixel grid, 8-neighbours), normalised to [0, 0.9]; walls are white (1.0)."""
import heapq, math, os

N = 160
H = 8.0 / N
def cx(i): return -4 + (i + 0.5) * H

wall = [[False] * N for _ in range(N)]
for r in range(N):
    y = 4 - (r + 0.5) * H
    for c in range(N):
        x = cx(c)
        on_box = (abs(abs(x) - 3) < 0.12 and abs(y) <= 3.12) or (abs(abs(y) - 3) < 0.12 and abs(x) <= 3.12)
        door = x > 2.5 and abs(y) < 0.45
        wall[r][c] = on_box and not door
dist = [[math.inf] * N for _ in range(N)]
heap = []
for r in range(N):
    y = 4 - (r + 0.5) * H
    c = N - 1
    if abs(y) < 0.45:
        dist[r][c] = 0.0
        heapq.heappush(heap, (0.0, r, c))
steps = [(dr, dc, math.hypot(dr, dc)) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
while heap:
    d, r, c = heapq.heappop(heap)
    if d > dist[r][c]:
        continue
    for dr, dc, w in steps:
        rr, cc = r + dr, c + dc
        if 0 <= rr < N and 0 <= cc < N and not wall[rr][cc] and d + w < dist[rr][cc]:
            dist[rr][cc] = d + w
            heapq.heappush(heap, (d + w, rr, cc))
finite = max(v for row in dist for v in row if v < math.inf)
out = os.path.join(os.path.dirname(__file__), "..", "resources", "images", "room_exit.pgm")
with open(out, "wb") as f:
    f.write(b"P5\n%d %d\n255\n" % (N, N))
    f.write(bytes(255 if wall[r][c] or dist[r][c] == math.inf else int(round(255 * 0.9 * dist[r][c] / finite))
                  for r in range(N) for c in range(N)))
print("wrote", out)
