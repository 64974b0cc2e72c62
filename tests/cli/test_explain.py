"""Tests of `dropout explain` (standard library only).

    python3 test_explain.py DROPOUT_EXE WORK_DIR

For several (p, h, passes, seed), from the --json output:
  - the mask table: one row per mask, probabilities q^k (1-q)^(n-k) with
    q = T/2^32 within 2^-33 of 1-p, summing to 1; outputs kept ? h*s : +0
    and the totals bit for bit; the expectations (1-p) sum h and sum h;
  - every pass's mask equals tests/cli/spec_mask.py's (the independent
    implementation of mask stream v1): the first passes shown, the count of
    each mask over all passes, and the running means recomputed from those
    masks;
  - the running means with scaling within 5 standard errors of h_i (and of
    sum h), without scaling within 5 of (1-p) h_i, the standard errors near
    their exact values, evaluation exactly h;
  - evaluation's output bitwise equal to h.
And: the text output has every section; --svg writes well-formed XML with
one curve per (neuron, mode); invalid p, h, passes (and other bad input)
give one error line and a non-zero exit.
"""
import json
import math
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_mask  # noqa: E402

EXE, WORK = sys.argv[1], sys.argv[2]
failures = 0


def fail(message):
    global failures
    failures += 1
    if failures <= 20:
        print("FAIL:", message)


def run(args):
    result = subprocess.run([EXE, "explain"] + args, capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def bits_of(value):
    return struct.pack("<d", value)


def check_json(p, h, passes, seed):
    label = "p=%r h=%r passes=%d seed=%d" % (p, h, passes, seed)
    args = ["--p", repr(p), "--h", ",".join(repr(v) for v in h), "--passes", str(passes),
            "--seed", hex(seed), "--json"]
    rc, out, err = run(args)
    if rc != 0 or err:
        fail("%s: exit %d, stderr %r" % (label, rc, err))
        return
    try:
        d = json.loads(out)
    except ValueError as e:
        fail("%s: --json is not JSON (%s): %r" % (label, e, out[:200]))
        return
    n = len(h)
    if d["p"] != p or d["h"] != h or d["passes"] != passes or d["seed"] != seed:
        fail("%s: echoed parameters %r" % (label, {k: d[k] for k in ("p", "h", "passes", "seed")}))
    q, s = d["keep_probability"], d["scale"]
    if q != spec_mask.threshold(p) / 2.0 ** 32 or abs(q - (1 - p)) > 2.0 ** -33:
        fail("%s: keep probability %r, T/2^32 = %r" % (label, q, spec_mask.threshold(p) / 2.0 ** 32))
    if s != 1.0 / (1.0 - p):
        fail("%s: scale %r != 1/(1-p) = %r" % (label, s, 1.0 / (1.0 - p)))

    # ---- the 2^n masks ----------------------------------------------------------
    masks = d["masks"]
    if len(masks) != 2 ** n:
        fail("%s: %d mask rows, expected %d" % (label, len(masks), 2 ** n))
        return
    by_bits, total_p, exp_scaled, exp_unscaled = {}, 0.0, 0.0, 0.0
    for row in masks:
        kept = tuple(int(k) for k in row["kept"])
        by_bits[kept] = row
        prob = 1.0
        for k in kept:
            prob *= q if k else 1.0 - q
        if abs(row["probability"] - prob) > 1e-15:
            fail("%s: mask %s probability %r, expected %r" % (label, kept, row["probability"], prob))
        outputs = [h[i] * s if kept[i] else 0.0 for i in range(n)]
        if [bits_of(v) for v in row["outputs"]] != [bits_of(v) for v in outputs]:
            fail("%s: mask %s outputs %r, expected %r" % (label, kept, row["outputs"], outputs))
        if bits_of(row["total_with_scaling"]) != bits_of(sum(row["outputs"])):
            fail("%s: mask %s total %r != sum of outputs" % (label, kept, row["total_with_scaling"]))
        if row["total_without_scaling"] != sum(h[i] for i in range(n) if kept[i]):
            fail("%s: mask %s total without scaling %r" % (label, kept, row["total_without_scaling"]))
        total_p += row["probability"]
        exp_scaled += row["probability"] * row["total_with_scaling"]
        exp_unscaled += row["probability"] * row["total_without_scaling"]
    if len(by_bits) != 2 ** n:
        fail("%s: the mask rows are not the %d distinct masks" % (label, 2 ** n))
    if abs(total_p - 1.0) > 1e-12:
        fail("%s: the mask probabilities sum to %r, not 1" % (label, total_p))
    scale_h = sum(abs(v) for v in h) + 1e-300
    e = d["expectations"]
    for name, value, formula in (("with_scaling", exp_scaled, sum(h)),
                                 ("without_scaling", exp_unscaled, (1 - p) * sum(h))):
        if abs(e[name] - value) > 1e-12 * scale_h or abs(e[name] - formula) > 1e-8 * scale_h:
            fail("%s: expectation %s %r, table gives %r, formula %r"
                 % (label, name, e[name], value, formula))
    if e["evaluation"] != sum(h):
        fail("%s: evaluation total %r != sum h" % (label, e["evaluation"]))

    # ---- every pass against the independent mask stream --------------------------
    seen = {kept: 0 for kept in by_bits}
    sums = [[0.0] * (n + 1) for _ in range(2)]  # with, without scaling: per neuron, total
    for k in range(passes):
        kept = tuple(spec_mask.keep_bits(seed, k, 0, n, p))
        seen[kept] += 1
        y = [h[i] * s if kept[i] else 0.0 for i in range(n)]
        u = [h[i] if kept[i] else 0.0 for i in range(n)]
        for i in range(n):
            sums[0][i] += y[i]
            sums[1][i] += u[i]
        sums[0][n] += sum(y)
        sums[1][n] += sum(u)
        if k < len(d["first_passes"]):
            shown = d["first_passes"][k]
            if shown["pass"] != k + 1 or shown["stream"] != k:
                fail("%s: pass %d labelled %r" % (label, k + 1, shown))
            if tuple(int(b) for b in shown["kept"]) != kept:
                fail("%s: pass %d mask %r, spec_mask.py gives %r" % (label, k + 1, shown["kept"], kept))
            if [bits_of(v) for v in shown["outputs"]] != [bits_of(v) for v in y]:
                fail("%s: pass %d outputs %r, expected %r" % (label, k + 1, shown["outputs"], y))
            if bits_of(shown["total"]) != bits_of(by_bits[kept]["total_with_scaling"]):
                fail("%s: pass %d total %r is not its mask's total in the table" % (label, k + 1, shown["total"]))
    if len(d["first_passes"]) != min(5, passes):
        fail("%s: %d first passes shown" % (label, len(d["first_passes"])))
    for kept, row in by_bits.items():
        if row["seen"] != seen[kept]:
            fail("%s: mask %s seen %d times, spec_mask.py counts %d" % (label, kept, row["seen"], seen[kept]))
        # The count of a mask is binomial(passes, probability).
        sd = math.sqrt(passes * row["probability"] * (1 - row["probability"]))
        if abs(row["seen"] - passes * row["probability"]) > 5 * sd + 1e-9:
            fail("%s: mask %s seen %d times, expected %.1f +- 5 x %.2f"
                 % (label, kept, row["seen"], passes * row["probability"], sd))

    # ---- running means ----------------------------------------------------------
    means = d["running_means"]
    if len(means) != n + 1 or means[n]["neuron"] != "total":
        fail("%s: %d running means" % (label, len(means)))
        return
    for i, m in enumerate(means):
        target = h[i] if i < n else sum(h)
        weight = abs(h[i]) if i < n else sum(abs(v) for v in h)
        who = "h%d" % (i + 1) if i < n else "total"
        if m["h"] != target:
            fail("%s: %s labelled h = %r" % (label, who, m["h"]))
        for mode, expected, column in (("with_scaling", target, 0),
                                       ("without_scaling", (1 - p) * target, 1)):
            mean, se = m[mode]["mean"], m[mode]["standard_error"]
            if m[mode]["expected"] != expected:
                fail("%s: %s %s expected %r, not %r" % (label, who, mode, m[mode]["expected"], expected))
            direct = sums[column][i] / passes
            if abs(mean - direct) > 1e-12 * max(1.0, weight * s):
                fail("%s: %s %s mean %r, the spec's masks give %r" % (label, who, mode, mean, direct))
            if not abs(mean - expected) <= 5 * se + 1e-12 * weight:
                fail("%s: %s %s mean %r is %.2f standard errors (%r) from %r"
                     % (label, who, mode, mean, abs(mean - expected) / se if se else math.inf, se, expected))
            # The standard error near its exact value, for a single neuron:
            # sd(y_i) = |h_i| s' sqrt(q (1-q)), s' = s with scaling, 1 without.
            if i < n and 0 < p:
                exact = abs(h[i]) * (s if column == 0 else 1.0) * math.sqrt(q * (1 - q) / passes)
                if abs(se - exact) > 0.1 * exact:
                    fail("%s: %s %s standard error %r, exact %r" % (label, who, mode, se, exact))
        ev = m["evaluation"]
        if ev["mean"] != target or ev["standard_error"] != 0:
            fail("%s: %s evaluation mean %r +- %r, expected exactly %r" % (label, who, ev["mean"], ev["standard_error"], target))
    if p == 0 and any(m["with_scaling"]["standard_error"] != 0 for m in means):
        fail("%s: p = 0 drops nothing, yet a standard error is not 0" % label)

    # ---- evaluation mode -----------------------------------------------------------
    ev = d["evaluation"]
    if [bits_of(v) for v in ev["outputs"]] != [bits_of(v) for v in h] or ev["bitwise_equal_to_input"] is not True:
        fail("%s: evaluation output %r is not h bitwise" % (label, ev))
    if not isinstance(d["conclusion"], str) or str(passes) not in d["conclusion"]:
        fail("%s: conclusion %r" % (label, d["conclusion"]))
    print("%s: %d masks, %d passes checked against spec_mask.py; total with scaling %.4f +- %.4f "
          "(sum h = %r), without %.4f +- %.4f ((1-p) sum h = %r)"
          % (label, len(masks), passes, means[n]["with_scaling"]["mean"],
             means[n]["with_scaling"]["standard_error"], sum(h),
             means[n]["without_scaling"]["mean"], means[n]["without_scaling"]["standard_error"],
             (1 - p) * sum(h)))


def check_text_and_svg():
    os.makedirs(WORK, exist_ok=True)
    svg = os.path.join(WORK, "explain.svg")
    if os.path.exists(svg):
        os.remove(svg)
    rc, out, err = run(["--svg", svg])
    if rc != 0 or err:
        fail("default run: exit %d, stderr %r" % (rc, err))
        return
    for needle in ("a layer of 3 neurons with outputs h = 1, 2, 3; p = 0.5, seed 0",
                   "The 8 possible masks", "expectation", "3 = (1-p) * sum h", "6 = sum h",
                   "The first 5 training passes", "Running means over 10000 training passes",
                   "total = 6", "Evaluation mode: y = 1, 2, 3, bitwise equal to h",
                   "Conclusion."):
        if needle not in out:
            fail("the text output lacks %r" % needle)
    # The text and the JSON are the same run.
    rc, js, err = run(["--json"])
    d = json.loads(js)
    row = d["running_means"][3]["with_scaling"]
    if ("%.3f +- %.3f" % (row["mean"], row["standard_error"])) not in out:
        fail("the text's total mean is not the JSON's %r" % row)
    try:
        root = ElementTree.parse(svg).getroot()
    except (OSError, ElementTree.ParseError) as e:
        fail("--svg: %s is not well-formed XML: %s" % (svg, e))
        return
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(ns + "polyline")
    if root.tag != ns + "svg" or len(lines) != 9:
        fail("--svg: root %s with %d polylines, expected svg with 9 (3 neurons x 3 modes)"
             % (root.tag, len(lines)))
    for line in lines:
        points = [tuple(float(v) for v in pt.split(",")) for pt in line.get("points").split()]
        if len(points) < 50 or not all(math.isfinite(x) and math.isfinite(y) for x, y in points):
            fail("--svg: a curve has %d points or non-finite ones" % len(points))
    legend = [t.text for t in root.findall(ns + "text") if t.text and t.text.startswith("h")]
    if len(legend) != 9:
        fail("--svg: %d legend entries, expected 9: %r" % (len(legend), legend))
    print("--svg: %s well-formed, %d curves, %d bytes" % (os.path.basename(svg), len(lines),
                                                         os.path.getsize(svg)))


def check_errors():
    bad = [
        (["--p", "1"], "p"), (["--p", "1.5"], "p"), (["--p", "-0.1"], "p"), (["--p", "nan"], "p"),
        (["--p", "abc"], "p"), (["--p", ""], "p"),
        (["--h", ""], "h"), (["--h", "1,,2"], "h"), (["--h", "1,2,"], "h"), (["--h", "1,nan"], "h"),
        (["--h", "inf"], "h"), (["--h", "x"], "h"), (["--h", "1,2,3,4,5,6,7,8,9"], "h"),
        (["--h", "1e300"], "h"),
        (["--passes", "0"], "passes"), (["--passes", "1"], "passes"),
        (["--passes", "100000001"], "passes"), (["--passes", "-5"], "passes"),
        (["--passes", "1.5"], "passes"), (["--passes", "abc"], "passes"),
        (["--seed", "-1"], "seed"), (["--svg", ""], "svg"),
        (["--svg", os.path.join(WORK, "no-such-dir", "x.svg")], "no-such-dir"),
        (["--q", "0.5"], "--q"), (["0.5"], "0.5"), (["--json=1"], "json"),
        (["--p", "0.5", "--p", "0.2"], "more than once"),
    ]
    for args, word in bad:
        rc, out, err = run(args)
        lines = err.splitlines()
        if rc == 0 or out or len(lines) != 1 or not lines[0].startswith("dropout explain: ") \
                or word not in lines[0]:
            fail("explain %r: exit %d, stdout %r, stderr %r (want one line naming %r)"
                 % (args, rc, out[:80], err, word))
    print("%d invalid command lines: one error line each, non-zero exit" % len(bad))
    rc, out, err = run(["--help"])
    if rc != 0 or "Usage: dropout explain" not in out or err:
        fail("explain --help: exit %d" % rc)


def check_deterministic():
    first = run(["--json", "--seed", "42"])[1]
    again = run(["--json", "--seed", "42"])[1]
    other = run(["--json", "--seed", "43"])[1]
    if first != again:
        fail("the same seed gave different output")
    if first == other:
        fail("seeds 42 and 43 gave the same output")


if __name__ == "__main__":
    check_json(0.5, [1.0, 2.0, 3.0], 10000, 0)       # the example, the defaults
    check_json(0.2, [0.5, -1.0, 4.0, 2.5], 20000, 0x2a)
    check_json(0.9, [3.0], 5000, 7)
    check_json(0.0, [1.0, 2.0, 3.0], 100, 1)         # nothing dropped, s = 1
    check_text_and_svg()
    check_errors()
    check_deterministic()
    if failures:
        print("%d failure(s)" % failures)
        sys.exit(1)
    print("all passed")
