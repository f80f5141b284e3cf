#!/usr/bin/env python3
"""The disk's own sync latency, for comparing a benchmark's latency with it in the same run.

    python3 bench/fsync_probe.py DIR [COUNT] [BYTES]

Appends BYTES (16384: about what one group commit of iflowd's writer adds to the WAL at many
connections) to a file in DIR COUNT times (200), each append followed by one fdatasync, as the
writer's sync leader does with the WAL; the file is removed afterwards. Prints one line:

    fdatasync: p50 0.41 ms, p90 2.3 ms, p99 11.2 ms, max 40.1 ms (200 x 16384 bytes, DIR)

DIR should be on the disk the benchmark's data directory is on (bench/store.sh passes its own
out directory). Nothing but the standard library.
"""

import os
import sys
import time


def percentile(sorted_values, p):
    """The value at or below which p percent of the values lie (nearest rank)."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    directory = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 16384
    path = os.path.join(directory, f"fsync-probe-{os.getpid()}")
    block = os.urandom(size)
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            os.write(fd, block)
            start = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    print(
        "fdatasync: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d x %d bytes, %s)"
        % (
            percentile(times, 50),
            percentile(times, 90),
            percentile(times, 99),
            times[-1],
            count,
            size,
            directory,
        )
    )


if __name__ == "__main__":
    main()
