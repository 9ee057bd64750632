#!/usr/bin/env python3
"""Measures, outside chaperone, the ways a rodent that never moves could be found, on any video:

  lag VIDEO        pixels that changed by more than 25 grey levels between frames LAG apart, per 450-px
                   panel of a B-SOiD hstacked clip (or the whole frame): is there motion to find?
  seeded VIDEO     bodies found by their contrast with the floor next to small motion fragments (too small
                   to be a rodent themselves) whose frame/background outlines differ: a "once-moving" body.
  contrast VIDEO   compact dark bodies against the frame's median grey (MODE=median) or against the floor
                   around them (MODE=local), as idtracker.ai and tracktor threshold a lab arena.

Each works on chaperone's motion working copy (about 320 px wide, luma, a median of 25 frames as the
background) with chaperone's default rodent size and shape limits. It needs numpy and scipy
(`python3 -m venv /tmp/probe && /tmp/probe/bin/pip install numpy scipy`) and ffmpeg.
The README's "A rodent that never moves is not found" quotes what these print.
"""
import json
import subprocess
import sys

import numpy as np
from scipy import ndimage as ndi

THRESHOLD = 30  # motion.diff_threshold
MIN_AREA, MAX_AREA, MIN_FILL, MAX_ELONGATION = 0.0008, 0.08, 0.25, 5.0  # motion.* defaults


def frames(path):
    info = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", path], capture_output=True, check=True).stdout)["streams"][0]
    w, h = info["width"], info["height"]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    n = len(raw) // (w * h)
    return np.frombuffer(raw, np.uint8)[:n * w * h].reshape(n, h, w).astype(np.float32)


def working(v):
    n, h, w = v.shape
    s = -(-w // 320)
    return v[:, :h // s * s, :w // s * s].reshape(n, h // s, s, w // s, s).mean((2, 4)).round(), s


def rodent_shaped(mask, frame_px, touches_edge):
    area = mask.sum()
    ys, xs = np.nonzero(mask)
    bw, bh = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    return (not touches_edge and MIN_AREA * frame_px <= area <= MAX_AREA * frame_px
            and area / (bw * bh) >= MIN_FILL and max(bw, bh) / min(bw, bh) <= MAX_ELONGATION)


def touches(mask):
    ys, xs = np.nonzero(mask)
    return ys.min() == 0 or xs.min() == 0 or ys.max() == mask.shape[0] - 1 or xs.max() == mask.shape[1] - 1


def report(found, scale, what):
    print(f"  {len(found)} places with {what}")
    for lst in sorted(found.values(), key=len, reverse=True)[:8]:
        x1, y1, x2, y2 = (c * scale for c in lst[0][1])
        print(f"   box ({x1},{y1})-({x2},{y2}) px: {len(lst)} frames, first {lst[0][0]}")


def lag(path):
    v = frames(path)
    n, _, w = v.shape
    panels = [(p * 450, (p + 1) * 450) for p in range(3)] if w == 1350 else [(0, w)]
    print(f"{path}: {n} frames")
    for d in (3, 15, 45, 90, n - 1):
        if d >= n:
            continue
        diff = np.abs(v[d:] - v[:-d]) > 25
        for k, (a, b) in enumerate(panels):
            c = diff[:, :, a:b].sum((1, 2))
            print(f"  lag {d:4d} frames, panel {k}: changed pixels median {int(np.median(c))}, max {c.max()}")


def seeded(path):
    g, s = working(frames(path))
    n, h, w = g.shape
    bg = np.median(g[np.linspace(0, n - 1, 25).astype(int)], 0)
    fpx = w * h
    r = int(np.ceil(np.sqrt(MAX_AREA * fpx) / 2))
    found = {}

    def bodies(img, floor, near):
        m = ndi.binary_closing(np.abs(img - floor) > THRESHOLD, np.ones((3, 3)))
        lab, _ = ndi.label(m, np.ones((3, 3)))
        return lab, [b for b in np.unique(lab[near & (lab > 0)])]

    for t in range(n):
        lab, k = ndi.label(np.abs(g[t] - bg) > THRESHOLD, np.ones((3, 3)))
        counts = np.bincount(lab.ravel())
        for label in range(1, k + 1):
            if not 3 <= counts[label] <= MIN_AREA * fpx:
                continue
            ys, xs = np.nonzero(lab == label)
            x1, x2 = max(xs.min() - r, 0), min(xs.max() + r, w - 1)
            y1, y2 = max(ys.min() - r, 0), min(ys.max() + r, h - 1)
            win, bwin = g[t, y1:y2 + 1, x1:x2 + 1], bg[y1:y2 + 1, x1:x2 + 1]
            floor = np.median(np.concatenate([bwin[0], bwin[-1], bwin[:, 0], bwin[:, -1]]))
            frag = lab[y1:y2 + 1, x1:x2 + 1] == label
            near = ndi.binary_dilation(frag, np.ones((3, 3)))
            in_frame, hit = bodies(win, floor, near)
            in_bg, _ = bodies(bwin, floor, near)
            for b in hit:
                m = in_frame == b
                if not rodent_shaped(m, fpx, touches(m)):
                    continue
                same = np.unique(in_bg[m & (in_bg > 0)])
                if len(same) == 0:
                    continue
                mb = np.isin(in_bg, same)
                xor = m ^ mb
                on_outline = (frag & ndi.binary_dilation(xor, np.ones((3, 3)))).sum() / frag.sum()
                if (m & mb).sum() / (m | mb).sum() >= 0.6 and on_outline >= 0.7 and xor.sum() <= 0.5 * m.sum():
                    yy, xx = np.nonzero(m)
                    box = (xx.min() + x1, yy.min() + y1, xx.max() + x1 + 1, yy.max() + y1 + 1)
                    found.setdefault((box[0] // 8, box[1] // 8), []).append((t, box))
    print(f"{path}: {n} frames")
    report(found, s, "a once-moving body")


def contrast(path, mode):
    g, s = working(frames(path))
    n, h, w = g.shape
    fpx = w * h
    r = int(min(np.ceil(np.sqrt(MAX_AREA * fpx) / 2), min(w, h) // 2))
    found, per_frame = {}, []
    for t in range(0, n, max(1, n // 60)):
        floor = np.median(g[t]) if mode == "median" else ndi.grey_closing(g[t], size=(2 * r + 1,) * 2, mode="nearest")
        fg = ndi.binary_closing(ndi.binary_opening(floor - g[t] > THRESHOLD, np.ones((3, 3))), np.ones((5, 5)))
        lab, k = ndi.label(fg, np.ones((3, 3)))
        count = 0
        for label in range(1, k + 1):
            m = lab == label
            if rodent_shaped(m, fpx, touches(m)):
                count += 1
                yy, xx = np.nonzero(m)
                box = (xx.min(), yy.min(), xx.max() + 1, yy.max() + 1)
                found.setdefault((box[0] // 6, box[1] // 6), []).append((t, box))
        per_frame.append(count)
    print(f"{path}: {len(per_frame)} frames sampled, {np.mean(per_frame):.2f} dark bodies a frame ({mode})")
    report(found, s, "a dark compact body")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("lag", "seeded", "contrast"):
        sys.exit(__doc__)
    if sys.argv[1] == "lag":
        lag(sys.argv[2])
    elif sys.argv[1] == "seeded":
        seeded(sys.argv[2])
    else:
        contrast(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "median")
