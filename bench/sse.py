"""The gateway's SSE accounting, CPU per event, on real simulator streams, per tree.

    .venv/bin/python bench/sse.py [--tokens 400] [--repeat 7] [label=path/to/src ...]

Starts `aifinops sim` once and takes one streamed answer of --tokens output tokens from
each route (Chat Completions with ``include_usage``, Responses, Anthropic Messages),
then, for each source tree given (default: this one), runs every stream through the
gateway's `StreamProcessor` (fed in 1,400-byte pieces, as TCP segments arrive; output,
usage and text counted as in `aifinops serve`) 20 times, in a fresh interpreter whose
import path starts with that tree, trees alternated; the best of --repeat rounds is
printed, per stream and per event. Compare trees with `git archive <commit> src | tar
-x -C /tmp/X` and ``before=/tmp/X/src after=src``.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"chat": "openai", "responses": "openai", "messages": "anthropic"}

_MEASURE = """
import json, sys, time
from aifinops.gateway.sse import StreamProcessor
streams = json.load(open(sys.argv[1]))
out = {}
for kind, text in streams.items():
    data = text.encode()
    pieces = [data[i:i + 1400] for i in range(0, len(data), 1400)]
    provider = "anthropic" if kind == "messages" else "openai"
    t = time.process_time()
    for _ in range(20):
        proc = StreamProcessor(kind, provider, strip_usage_chunk=True)
        for piece in pieces:
            proc.feed(piece)
        proc.result()
    out[kind] = (time.process_time() - t) / 20
print(json.dumps(out))
"""


def capture(tokens: int, path: Path) -> dict[str, str]:
    """One streamed answer per route from a fresh `aifinops sim`."""
    exe = str(Path(sys.executable).parent / "aifinops")
    sim = subprocess.Popen(
        [exe, "sim", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        base = line.split("listening on ")[1].split()[0]
        headers = {
            "authorization": "Bearer bench",
            "x-api-key": "bench",
            "anthropic-version": "2023-06-01",
            "x-sim-output-tokens": str(tokens),
        }
        user = [{"role": "user", "content": "Explain this month's bill in detail"}]
        bodies = {
            "chat": (
                "/v1/chat/completions",
                {
                    "model": "gpt-4o-mini",
                    "messages": user,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
            ),
            "responses": (
                "/v1/responses",
                {"model": "gpt-4o-mini", "input": "Explain", "stream": True},
            ),
            "messages": (
                "/v1/messages",
                {
                    "model": "claude-haiku-4-5",
                    "max_tokens": tokens * 2,
                    "messages": user,
                    "stream": True,
                },
            ),
        }
        with httpx.Client(timeout=60) as client:
            streams = {}
            for kind, (route, body) in bodies.items():
                answer = client.post(base + route, headers=headers, json=body)
                answer.raise_for_status()
                streams[kind] = answer.text
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(30)
    path.write_text(json.dumps(streams))
    return streams


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("trees", nargs="*", help="label=path/to/src (default: this tree)")
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    trees = [t.split("=", 1) for t in args.trees] or [["this", str(ROOT / "src")]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "streams.json"
        streams = capture(args.tokens, path)
        best: dict[str, dict[str, float]] = {label: {} for label, _ in trees}
        for _ in range(args.repeat):
            for label, src in trees:
                run = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        f"import sys; sys.path.insert(0, {src!r})\n" + _MEASURE,
                        str(path),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                for kind, seconds in json.loads(run.stdout).items():
                    best[label][kind] = min(best[label].get(kind, 1e9), seconds)
    print(f"# SSE accounting ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    command = f".venv/bin/python bench/sse.py --tokens {args.tokens} --repeat {args.repeat}"
    command = " ".join([command, *args.trees])
    print(f"- command: `{command}`")
    print("- per stream: best of the rounds, each the mean of 20 passes\n")
    print("| tree | stream | events | bytes | CPU a stream | CPU an event |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind in KINDS:
        events = streams[kind].count("\n\n")
        size = len(streams[kind].encode())
        for label, _ in trees:
            s = best[label][kind]
            print(
                f"| {label} | {kind} | {events} | {size:,} | {s * 1e6:,.0f} µs | "
                f"{s / events * 1e6:.2f} µs |"
            )


if __name__ == "__main__":
    main()
