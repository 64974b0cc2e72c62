"""The dropout family through the `dropout` tool (standard library only).

    python3 test_family_cli.py DROPOUT_EXE SOURCE_DIR

forward/backward with --dtype bf16|f16, --shape/--broadcast-dims and
--variant alpha|feature-alpha|gaussian, checked against references computed
here: the mask from `dropout mask` (itself checked against the spec by the
cli tests), f32 arithmetic emulated with struct, bf16/f16 rounding done by
value; gaussian noise against the known answers in docs/SPEC.md section 5;
error cases give one stderr line and a non-zero status.
"""
import math
import os
import struct
import subprocess
import sys

EXE, SOURCE_DIR = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def check(cond, message):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        if failures <= 10:
            print("FAIL:", message)


def run(args, stdin=""):
    r = subprocess.run([EXE] + args, input=stdin, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def f16(v):
    return struct.unpack("<e", struct.pack("<e", v))[0]


def bf16(v):
    """Round an f32 value to bf16, nearest-even, by its bits."""
    (b,) = struct.unpack("<I", struct.pack("<f", v))
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", b))[0]


def mask_bits(seed, stream, first, count, p):
    rc, out, err = run(["mask", "--p", repr(p), "--seed", str(seed), "--stream", str(stream),
                        "--first", str(first), "--count", str(count)])
    assert rc == 0, err
    data = bytes.fromhex(out.strip())
    return [(data[k // 8] >> (k % 8)) & 1 for k in range(count)]


def numbers(text, f64=False):
    """Printed results: f32/bf16/f16 print with %.9g, which reads back to the
    same f32 (not the same double), so round them to f32 again."""
    return [float(t) if f64 else f32(float(t)) for t in text.split()]


def base(p, seed=7, stream=3):
    return ["--p", repr(p), "--seed", str(seed), "--stream", str(stream)]


def forward(args, xs):
    rc, out, err = run(["forward"] + args, " ".join(repr(x) for x in xs))
    check(rc == 0, "forward %s failed: %s" % (args, err.strip()))
    return numbers(out, "f64" in args)


# ---- bf16 / f16: (float)x * s rounded once, f32's mask ------------------------

def part_half():
    xs = [f32((k * 0.37) - 11.0) for k in range(200)]
    p = 0.3
    s = f32(1.0 / (1.0 - p))
    keep = mask_bits(7, 3, 0, len(xs), p)
    for name, rnd in (("bf16", bf16), ("f16", f16)):
        xh = [rnd(x) for x in xs]
        ys = forward(base(p) + ["--dtype", name], xh)
        expect = [rnd(f32(x * s)) if k else 0.0 for x, k in zip(xh, keep)]
        check(ys == expect, "%s forward differs from rne((float)x*s) with f32's mask" % name)
        back = run(["backward"] + base(p) + ["--dtype", name], " ".join(map(repr, xh)))
        check(back[0] == 0 and numbers(back[1]) == expect, "%s backward differs" % name)
    # f32 zero pattern is the same
    y32 = forward(base(p), xs)
    check([y != 0.0 for y in y32] == [k == 1 and x != 0.0 for x, k in zip(xs, keep)],
          "f32 zero pattern")


# ---- broadcast: --shape, --broadcast-dims -------------------------------------

def mask_index(shape, bdims, e):
    digits = []
    for d in reversed(shape):
        digits.append(e % d)
        e //= d
    digits.reverse()
    m = 0
    for d, (size, digit) in enumerate(zip(shape, digits)):
        if d not in bdims:
            m = m * size + digit
    return m


def part_broadcast():
    cases = [((10, 4, 6), [2]), ((10, 4, 6), [0]), ((5, 3, 2, 4), [1, 3]), ((6, 7), [1]),
             ((3, 4, 5), [])]
    p = 0.5
    s = f32(1.0 / (1.0 - p))
    for shape, bdims in cases:
        n = math.prod(shape)
        xs = [float(k + 1) for k in range(n)]
        args = base(p, 11, 2) + ["--shape", ",".join(map(str, shape))]
        if bdims:
            args += ["--broadcast-dims", ",".join(map(str, bdims))]
        masks = n
        for d in bdims:
            masks //= shape[d]
        keep = mask_bits(11, 2, 0, masks, p)
        ys = forward(args, xs)
        expect = [f32(x * s) if keep[mask_index(shape, bdims, e)] else 0.0
                  for e, x in enumerate(xs)]
        check(ys == expect, "shape %s broadcast %s: forward differs from the index math"
              % (shape, bdims))
        rc, out, err = run(["backward"] + args, " ".join(map(repr, xs)))
        check(rc == 0 and numbers(out) == expect, "shape %s: backward differs" % (shape,))
    # the example: channel dropout over (N=10, C=4, L=6)
    ys = forward(base(0.5, 1, 0) + ["--shape", "10,4,6", "--broadcast-dims", "2"],
                 [float(k + 1) for k in range(240)])
    slices = [ys[i * 6:(i + 1) * 6] for i in range(40)]
    check(all(all(v == 0 for v in sl) or all(v != 0 for v in sl) for sl in slices),
          "channel example: a slice is partly dropped")


# ---- alpha, feature alpha -------------------------------------------------------

ALPHA_PRIME = -1.7580993408473766


def alpha_constants(p):
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME))
    b = -a * ALPHA_PRIME * p
    return a, b, a * ALPHA_PRIME + b


def part_alpha():
    p = 0.4
    a, b, c = alpha_constants(p)
    xs = [f32(math.sin(k) * 2.0) for k in range(300)]
    keep = mask_bits(7, 3, 0, len(xs), p)
    ys = forward(base(p) + ["--variant", "alpha"], xs)
    expect = [f32(f32(x * f32(a)) + f32(b)) if k else f32(c) for x, k in zip(xs, keep)]
    check(ys == expect, "alpha forward differs from a*x + b / a*alpha' + b")
    rc, out, err = run(["backward"] + base(p) + ["--variant", "alpha"], " ".join(map(repr, xs)))
    check(rc == 0 and numbers(out) == [f32(x * f32(a)) if k else 0.0 for x, k in zip(xs, keep)],
          "alpha backward differs from keep ? dy*a : 0")
    # feature alpha over (N=4, C=3, L=5): one decision per (n, c) slice
    shape = (4, 3, 5)
    xs = [f32(0.1 * k) for k in range(60)]
    keep = mask_bits(7, 3, 0, 12, p)
    ys = forward(base(p) + ["--shape", "4,3,5", "--variant", "feature-alpha"], xs)
    expect = [f32(f32(x * f32(a)) + f32(b)) if keep[e // 5] else f32(c) for e, x in enumerate(xs)]
    check(ys == expect, "feature-alpha differs (one mask bit per (n, c) slice)")


# ---- gaussian: the SPEC's known answers ------------------------------------------

def spec_gaussian():
    values = []
    in_section = False
    with open(os.path.join(SOURCE_DIR, "docs", "SPEC.md")) as f:
        for line in f:
            if line.startswith("## 5."):
                in_section = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if in_section and len(cells) == 2 and cells[0].isdigit():
                values.append(float.fromhex(cells[1].strip("`")))
    return values


def part_gaussian():
    expect = spec_gaussian()
    check(len(expect) == 8, "docs/SPEC.md section 5 has %d known answers" % len(expect))
    ys = forward(["--p", "0.5", "--seed", "0x2a", "--stream", "7", "--variant", "gaussian",
                  "--dtype", "f64"], [1.0] * 8)
    check(ys == expect, "gaussian noise differs from docs/SPEC.md: %s" % ys)
    ys32 = forward(["--p", "0.5", "--seed", "0x2a", "--stream", "7", "--variant", "gaussian"],
                   [2.0] * 8)
    check(ys32 == [f32(2.0 * f32(v)) for v in expect], "f32 gaussian is not x * (float)noise")


# ---- errors: one line on stderr, non-zero status -----------------------------------

def part_errors():
    bad = [
        (["--broadcast-dims", "1"], "1 2 3 4"),
        (["--shape", "2,4", "--broadcast-dims", "2"], "1 2 3 4 5 6 7 8"),
        (["--shape", "2,4"], "1 2 3 4 5 6 7"),
        (["--shape", "1,1,1,1,1,1,1,1,1"], "1"),
        (["--variant", "feature-alpha"], "1 2"),
        (["--shape", "2,4", "--variant", "feature-alpha", "--broadcast-dims", "1"], "1 2 3 4 5 6 7 8"),
        (["--variant", "nope"], "1"),
        (["--dtype", "f8"], "1"),
        (["--dtype", "f16"], "70000"),
        (["--dtype", "bf16", "--shape", "2"], "1 x"),
    ]
    for extra, stdin in bad:
        rc, out, err = run(["forward"] + base(0.5) + extra, stdin)
        lines = err.strip().splitlines()
        check(rc != 0 and len(lines) == 1 and lines[0].startswith("dropout forward: ") and out == "",
              "forward %s: rc %d, stderr %r, stdout %r" % (extra, rc, err, out[:40]))
    rc, out, err = run(["forward", "--p", "1", "--seed", "1", "--stream", "0", "--variant",
                        "gaussian"], "1")
    check(rc != 0 and len(err.strip().splitlines()) == 1, "gaussian p = 1 must fail: %r" % err)
    rc, out, err = run(["forward", "--help"])
    check(rc == 0 and all(s in out for s in ("--shape", "--broadcast-dims", "--variant", "bf16")),
          "forward --help does not describe the family options")


for part in (part_half, part_broadcast, part_alpha, part_gaussian, part_errors):
    part()
print("test_family_cli: %s (%d checks, %d failed)" % ("FAILED" if failures else "OK", checks,
                                                      failures))
sys.exit(1 if failures else 0)
