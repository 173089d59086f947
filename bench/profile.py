"""Summarise a py-spy raw (collapsed stacks) profile: where the server's time goes.

    python -m bench.run --profile ...            # writes profile-<N>.txt next to the server logs
    python -m bench.profile PROFILE.txt [--top 30] [--filter questions/]

Prints the functions with the most samples on the stack (inclusive) and at the top (self).
Idle samples (the eventlet hub waiting in epoll) are counted apart, so percentages are of busy time.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

IDLE = ("epoll.poll", "(poll) (", "wait (eventlet/hubs/epolls.py", "wait (eventlet/hubs/poll.py")


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:123)`` -> ``func (pkg/mod.py)``."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    name, where = match.groups()
    where = re.sub(r".*site-packages/", "", where)
    where = re.sub(r".*/(questions|bench)/", r"\1/", where)
    return f"{name} ({where})"


def summarise(path: Path, top: int = 30, contains: str | None = None) -> str:
    stacks = load(path)
    total = sum(c for _, c in stacks)
    idle = sum(c for frames, c in stacks if any(mark in frames[-1] for mark in IDLE))
    busy = max(total - idle, 1)
    inclusive, own = Counter(), Counter()
    for frames, count in stacks:
        if any(mark in frames[-1] for mark in IDLE):
            continue
        for name in {short(f) for f in frames}:
            inclusive[name] += count
        own[short(frames[-1])] += count
    lines = [f"{path}: {total} samples, {idle} idle ({100 * idle / max(total, 1):.0f}%), "
             f"{busy} busy; percentages of busy time", "", "inclusive:"]
    for name, count in inclusive.most_common():
        if contains and contains not in name:
            continue
        lines.append(f"  {100 * count / busy:5.1f}%  {name}")
        if len(lines) > top + 3:
            break
    lines += ["", "self:"]
    for name, count in own.most_common(top):
        lines.append(f"  {100 * count / busy:5.1f}%  {name}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--filter", help="only inclusive entries containing this text (e.g. questions/)")
    args = parser.parse_args(argv)
    print(summarise(args.profile, args.top, args.filter))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
