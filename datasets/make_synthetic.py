#!/usr/bin/env python3
"""Writes a synthetic English corpus that a tiny model learns within a minute of CPU training.

Needs no network and no packages. Deterministic: the same seed and size give the same bytes.
Three kinds of lines, mixed:
  * simple stories from a small grammar ("the red fox sees a small bird near the river.");
  * arithmetic facts ("seven plus five is twelve.");
  * a fixed table of facts, repeated ("the capital of varnia is tolm.").
Usage: python3 datasets/make_synthetic.py [--out datasets/synthetic.txt] [--mb 2] [--seed 1]
"""
import argparse
import os
import random

ADJ = "red small big old young quiet happy brown white dark tall little bright green".split()
NOUN = "fox bird cat dog child farmer teacher horse river tree king girl boy wolf".split()
VERB = "sees follows finds helps calls watches meets carries likes hears".split()
PLACE = "river forest hill village market garden castle road lake field".split()
NUM = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
      "sixteen seventeen eighteen".split()
LANDS = ["varnia", "osk", "telluria", "brinmoor", "quell", "dast", "morrow", "ilben"]
CITIES = ["tolm", "reth", "caspa", "ninwe", "holt", "sarn", "vey", "pollo"]


def story(r):
    a, b = r.choice(NOUN), r.choice(NOUN)
    s = "the %s %s %s a %s %s near the %s." % (r.choice(ADJ), a, r.choice(VERB), r.choice(ADJ), b, r.choice(PLACE))
    if r.random() < 0.5:
        s += " then the %s goes to the %s." % (a, r.choice(PLACE))
    return s


def arithmetic(r):
    x, y = r.randrange(10), r.randrange(9)
    return "%s plus %s is %s." % (NUM[x], NUM[y], NUM[x + y])


def fact(r):
    i = r.randrange(len(LANDS))
    return "the capital of %s is %s." % (LANDS[i], CITIES[i])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "synthetic.txt"))
    ap.add_argument("--mb", type=float, default=2.0, help="size in megabytes (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    r = random.Random(a.seed)
    target = int(a.mb * 1e6)
    parts, size = [], 0
    while size < target:
        kind = r.random()
        line = story(r) if kind < 0.6 else arithmetic(r) if kind < 0.85 else fact(r)
        parts.append(line)
        size += len(line) + 1
        if r.random() < 0.1:  # paragraphs
            parts.append("")
            size += 1
    tmp = a.out + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, a.out)
    print("%s: %d bytes" % (a.out, os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
