#!/usr/bin/env python3
"""Folds `perf script` call stacks of iflowd into where a message's time goes.

    perf script -i bench/out/profile/perf.data | python3 bench/perf_categories.py

A sample of the writer's threads is the writer's (SQLite called by the writer counts as the
writer's part whose pattern a frame matches first, in the order below); any other sample goes to
the category of its innermost frame that matches one (so a parse inside the pipeline counts as
parsing, a socket write under hyper as HTTP, a wake-up or a park as tokio's):

  writer        the store's writer threads (the commit leader and the sync leader), split into
                WAL checkpoint, inserts (begin, enqueue, one-step entries), completion (finish,
                the attempt's end), WAL frames (a commit writing its pages), fdatasync (the sync
                leader), and the rest (BEGIN/COMMIT, handing out results)
  parse         the envelope: iflowd::soap, iflowd::event, quick-xml
  pipeline      the pipeline's own work around it: the message log's admit and finish as the
                pipeline calls them (the store's hand-off to the writer), the handler chain
  HTTP          hyper, axum, tower, iflowd's server and http modules, the kernel's sockets
  tokio         the runtime's scheduling, wake-ups and parking, futexes
  other         everything else (the pipeline's own work, the allocator, the log handler, ...)

Prints each category's share of the samples (and of the writer's parts). The patterns are
names of functions, so a frame that was inlined into its caller counts as its caller's.
"""

import re
import sys
from collections import Counter

WRITER = re.compile(r"lead_commits|lead_syncs|writer::commit")
WRITER_PARTS = [
    ("WAL checkpoint", re.compile(r"Checkpoint|walCheckpoint|truncate_wal")),
    ("fdatasync", re.compile(r"lead_syncs|sync_wal|fdatasync|sync_data")),
    ("WAL frames", re.compile(r"walFrames|WalFrames|pagerWalFrames|sqlite3PagerCommitPhaseOne")),
    ("completion", re.compile(r"write::finish|end_attempt|sqlite::queue::end_attempt")),
    ("inserts", re.compile(r"write::insert|queue::enqueue|find_completed|insert_events|store_body")),
]
CATEGORIES = [
    ("parse", re.compile(r"iflowd::soap|iflowd::event|quick_xml")),
    (
        "pipeline",
        re.compile(r"iflowd::http::pipeline|iflowd::message_log|iflowd::handler|iflowd::endpoint"),
    ),
    (
        "HTTP",
        re.compile(
            r"hyper|axum|tower|iflowd::server|iflowd::http|tcp_|sock_|inet_|__sys_|"
            r"ip_|__dev_queue|net_rx|do_softirq|sendmsg|recvmsg|epoll"
        ),
    ),
    ("tokio", re.compile(r"tokio::runtime|tokio::sync|futex|__schedule|schedule\b|park")),
]


def samples(lines):
    """Yields each sample's frames (function names, innermost first)."""
    frames = []
    in_sample = False
    for line in lines:
        if not line.strip():
            if in_sample:
                yield frames
            frames, in_sample = [], False
            continue
        if not line.startswith((" ", "\t")):
            in_sample = True
            continue
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            frames.append(parts[1].rsplit(" (", 1)[0])
    if in_sample:
        yield frames


def classify(frames):
    stack = "\n".join(frames)
    if WRITER.search(stack):
        for name, pattern in WRITER_PARTS:
            if pattern.search(stack):
                return "writer", name
        return "writer", "rest"
    for frame in frames:
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name, None
    return "other", None


def main():
    counts = Counter()
    parts = Counter()
    for frames in samples(sys.stdin):
        category, part = classify(frames)
        counts[category] += 1
        if part:
            parts[part] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit("no samples on standard input")
    print(f"{total} samples")
    for name in ["writer", "HTTP", "parse", "pipeline", "tokio", "other"]:
        print(f"  {name:<16} {100 * counts[name] / total:5.1f} %")
        if name == "writer":
            for part, _ in WRITER_PARTS + [("rest", None)]:
                print(f"    {part:<14} {100 * parts[part] / total:5.1f} %")


if __name__ == "__main__":
    main()
