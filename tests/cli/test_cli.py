"""Tests of the `dropout` command-line tool (standard library only).

    python3 test_cli.py DROPOUT_EXE SOURCE_DIR PART

PART is one of: kat, vectors, random, forward, errors, help, io.  Each part prints
what it compared and, on failure, the first mismatch, and exits non-zero.
"""
import math
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_mask  # noqa: E402

EXE, SOURCE_DIR = sys.argv[1], sys.argv[2]
failures = 0


def fail(message):
    global failures
    failures += 1
    if failures <= 5:
        print("FAIL:", message)


def run(args, stdin=""):
    result = subprocess.run([EXE] + args, input=stdin, capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def dropout_mask(seed, stream, first, count, p):
    rc, out, err = run(["mask", "--p", repr(p), "--seed", hex(seed), "--stream", str(stream),
                        "--first", str(first), "--count", str(count)])
    if rc != 0:
        raise RuntimeError("dropout mask failed: " + err.strip())
    return out.strip()


# ---- Philox KAT: the independent implementation itself ---------------------

def part_kat():
    """Check spec_mask.py's Philox against the known-answer file first, so a
    disagreement later is the CLI's, not the reference's."""
    path = os.path.join(SOURCE_DIR, "tests", "data", "philox4x32_10_kat.txt")
    count = 0
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) != 12 or fields[0] != "philox4x32" or fields[1] != "10":
                continue
            words = [int(w, 16) for w in fields[2:]]
            got = spec_mask.philox4x32_10(words[0:4], words[4:6])
            count += 1
            if got != words[6:10]:
                fail("KAT line %d: expected %s got %s" % (count, fields[8:], [hex(w) for w in got]))
    print("philox KAT: %d lines compared with tests/cli/spec_mask.py" % count)
    if count == 0:
        fail("no KAT lines found in " + path)


# ---- SPEC section 4 vectors -------------------------------------------------

def spec_vectors():
    """The mask table of docs/SPEC.md section 4, parsed from the document."""
    vectors = []
    with open(os.path.join(SOURCE_DIR, "docs", "SPEC.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 6 or not cells[0].startswith("0x"):
                continue
            seed, stream = int(cells[0], 16), int(cells[1], 16)
            first, count, p = int(cells[2]), int(cells[3]), float(cells[4])
            expected = cells[5].split("`")[1]
            vectors.append((seed, stream, first, count, p, expected))
    return vectors


def part_vectors():
    vectors = spec_vectors()
    for seed, stream, first, count, p, expected in vectors:
        got = dropout_mask(seed, stream, first, count, p)
        reference = spec_mask.mask_hex(seed, stream, first, count, p)
        status = "ok" if got == expected == reference else "MISMATCH"
        print("seed %#x stream %#x first %d n %d p %r: expected %s, dropout mask %s, "
              "spec_mask.py %s  %s" % (seed, stream, first, count, p, expected, got, reference,
                                       status))
        if got != expected:
            fail("dropout mask gives %s, SPEC section 4 says %s" % (got, expected))
        if reference != expected:
            fail("spec_mask.py gives %s, SPEC section 4 says %s" % (reference, expected))
    print("%d SPEC section 4 vectors compared" % len(vectors))
    if len(vectors) < 10:
        fail("expected at least 10 vectors in docs/SPEC.md section 4, found %d" % len(vectors))


# ---- random cases against the independent implementation --------------------

def random_cases(rng, count):
    tie_heavy = [0.1, 0.3, 0.7, 0.9, 0.25, 0.5, 0.75]  # 0.25/0.5/0.75: T's low 24 bits are 0
    special_p = [0.0, 1.0, 1e-6, 1e-9, 1 - 1e-9, 0.999]
    for case in range(count):
        kind = case % 4
        if kind == 0:
            p = rng.choice(tie_heavy)
        elif kind == 1:
            p = rng.choice(special_p)
        else:
            p = rng.random()
        seed = rng.choice([0, 1, 2**64 - 1, rng.getrandbits(64), rng.getrandbits(64)])
        stream = rng.choice([0, 2**64 - 1, 2**32, rng.getrandbits(64), rng.getrandbits(64)])
        first = rng.choice([0, rng.randrange(2**20), 2**32 - rng.randrange(1, 300),
                            rng.randrange(2**32, 2**40), 2**64 - 301 - rng.randrange(2**20),
                            rng.getrandbits(63)])
        n = rng.randrange(1, 301)
        yield seed, stream, first, n, p


def part_random():
    rng = random.Random(20261127)
    cases = ties = 0
    for seed, stream, first, n, p in random_cases(rng, 200):
        got = dropout_mask(seed, stream, first, n, p)
        expected = spec_mask.mask_hex(seed, stream, first, n, p)
        cases += 1
        t = spec_mask.threshold(p)
        if 0 < t < 2**32:
            ties += sum(1 for i in range(first, first + n)
                        if spec_mask.philox4x32_10(
                            (spec_mask.lo(i // 16), spec_mask.hi(i // 16),
                             spec_mask.lo(stream), spec_mask.hi(stream)),
                            (spec_mask.lo(seed), spec_mask.hi(seed)))[(i % 16) // 4]
                        >> (8 * (i % 4)) & 0xFF == t >> 24)
        if got != expected:
            fail("seed %#x stream %#x first %d n %d p %r: dropout mask %s, spec_mask.py %s"
                 % (seed, stream, first, n, p, got, expected))
    print("%d random cases compared with spec_mask.py (seeds/streams up to 2^64-1, offsets "
          "beyond 2^32, counts 1..300); %d elements fell on a tie byte" % (cases, ties))
    if ties < 20:
        fail("only %d tie elements: the cases do not exercise the tie draw" % ties)


# ---- forward / backward follow SPEC section 1 -------------------------------

def f32(v):
    """Round a double to the nearest float (ties to even), like a C cast."""
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:  # rounds beyond FLT_MAX: infinity, as in C
        return math.copysign(math.inf, v)


def bits(v, dtype):
    return struct.pack("<f" if dtype == "f32" else "<d", v)


def parse_output(text):
    return [line for line in text.split("\n") if line != ""]


SPECIAL_INPUTS = ["nan", "-nan", "inf", "-inf", "-0", "0", "1", "-2.5", "1e-40", "3.4e38",
                  "-1.17549435e-38", "0.1", "123456.789", "-7", "1e-300", "1.5e300"]


def inputs_for(dtype, rng, count):
    """Special values first, then random ones of all magnitudes."""
    values = list(SPECIAL_INPUTS) * 10  # so each is seen both kept and dropped
    if dtype == "f32":
        values = [v for v in values if v not in ("1e-300", "1.5e300")]
    while len(values) < count:
        exponent = rng.randrange(-30, 30) if dtype == "f32" else rng.randrange(-300, 300)
        values.append(repr(rng.choice([-1, 1]) * rng.random() * 10.0 ** exponent))
    return values


def expected_forward(text, keep, p, dtype):
    """SPEC section 1: keep ? x * s : +0, s rounded once to the type."""
    if not keep:
        return 0.0
    x = float(text)
    if dtype == "f32":
        # A product of two floats is exact in double, so rounding it to float
        # once is the float multiply.
        return f32(f32(x) * f32(1.0 / (1.0 - p)))
    return x * (1.0 / (1.0 - p))


def same(a, b, dtype):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return bits(a, dtype) == bits(b, dtype)


def check_lines(label, lines, expected, dtype, must_print_zero):
    """Compare printed lines with expected values bit for bit (after reading
    them back, which also checks the round trip)."""
    if len(lines) != len(expected):
        fail("%s: %d lines printed for %d inputs" % (label, len(lines), len(expected)))
        return 0
    for k, (line, want) in enumerate(zip(lines, expected)):
        got = float(line) if dtype == "f64" else f32(float(line))  # the round trip
        if not same(got, want, dtype):
            fail("%s: element %d: printed '%s', expected %r" % (label, k, line, want))
            return k
        if must_print_zero[k] and line != "0":
            fail("%s: element %d dropped: printed '%s', expected exactly '0'" % (label, k, line))
            return k
    return len(lines)


def part_forward():
    rng = random.Random(7)
    for dtype in ("f32", "f64"):
        seen = {}  # special input -> set of keep bits it was checked with
        for p, seed, stream, first in [(0.5, 42, 0, 0), (0.1, 2**64 - 1, 3, 2**32 - 100),
                                       (0.3, 0x123456789abcdef, 2**63, 2**40 + 5),
                                       (0.999, 5, 6, 7), (1e-6, 8, 9, 10)]:
            values = inputs_for(dtype, rng, 400)
            common = ["--p", repr(p), "--seed", str(seed), "--stream", str(stream),
                      "--first", str(first), "--dtype", dtype]
            label = "forward %s p=%r first=%d" % (dtype, p, first)
            keep = spec_mask.keep_bits(seed, stream, first, len(values), p)
            rc, out, err = run(["forward"] + common, "\n".join(values) + "\n")
            if rc != 0:
                fail("%s: exit %d: %s" % (label, rc, err.strip()))
                continue
            expected = [expected_forward(v, b, p, dtype) for v, b in zip(values, keep)]
            checked = check_lines(label, parse_output(out), expected, dtype,
                                  [not b for b in keep])
            for v, b in list(zip(values, keep))[:checked]:
                if v in SPECIAL_INPUTS:
                    seen.setdefault(v, set()).add(b)
            print("%s: %d of %d elements as SPEC section 1 says (%d dropped, NaN/Inf/-0 among "
                  "the inputs)" % (label, checked, len(values), keep.count(0)))
            # Backward regenerates the same mask: same options, same input, same output.
            rc_b, out_b, err_b = run(["backward"] + common, " ".join(values))
            if rc_b != 0 or out_b != out:
                fail("%s: backward differs from forward on the same input (%s)"
                     % (label, err_b.strip() or "outputs differ"))
            else:
                print("%s: backward == forward on the same input" % label)
            # Evaluation mode: the identity, bit for bit.
            for command in ("forward", "backward"):
                rc_e, out_e, err_e = run([command, "--eval"] + common, " ".join(values))
                ident = [float(v) if dtype == "f64" else f32(float(v)) for v in values]
                n = check_lines("%s --eval %s" % (command, label), parse_output(out_e), ident,
                                dtype, [False] * len(values))
                if rc_e == 0 and n == len(values):
                    print("%s: %s --eval is the identity on %d elements" % (label, command, n))
                elif rc_e != 0:
                    fail("%s --eval: exit %d: %s" % (command, rc_e, err_e.strip()))

        for v in ("nan", "-nan", "inf", "-inf", "-0", "0"):
            if seen.get(v) != {0, 1}:
                fail("forward %s: special input %s was not checked both kept and dropped (%s)"
                     % (dtype, v, sorted(seen.get(v, []))))
        print("forward %s: nan, -nan, inf, -inf, -0, 0 each checked kept and dropped" % dtype)

        values = inputs_for(dtype, rng, 300)
        # p = 0: the input bitwise (signs of zero and NaN kept, round trip exact).
        rc, out, err = run(["forward", "--p", "0", "--seed", "1", "--stream", "2", "--dtype", dtype],
                           "\n".join(values))
        lines = parse_output(out)
        ident = [float(v) if dtype == "f64" else f32(float(v)) for v in values]
        n = check_lines("forward %s p=0" % dtype, lines, ident, dtype, [False] * len(values))
        signs_ok = all(line.startswith("-") == v.startswith("-") for line, v in zip(lines, values))
        if not signs_ok:
            fail("forward %s p=0: a sign of -0 or -nan was lost" % dtype)
        print("forward %s p=0: %d of %d elements are the input bitwise" % (dtype, n, len(values)))
        # p = 1: +0 everywhere, NaN and Inf included.
        rc, out, err = run(["forward", "--p", "1", "--seed", "1", "--stream", "2", "--dtype", dtype],
                           "\n".join(values))
        lines = parse_output(out)
        bad = [k for k, line in enumerate(lines) if line != "0"]
        if rc != 0 or len(lines) != len(values) or bad:
            fail("forward %s p=1: expected %d lines of '0', got %d lines, first bad %s"
                 % (dtype, len(values), len(lines), (values[bad[0]], lines[bad[0]]) if bad else "-"))
        else:
            print("forward %s p=1: %d of %d elements print as 0 (+0)" % (dtype, len(lines),
                                                                        len(values)))

    # More than one input chunk (2^16): the chunks continue the mask index.
    n = 70000
    first = 2**32 - 1000
    rc, out, err = run(["forward", "--p", "0.5", "--seed", "3", "--stream", "4", "--first",
                        str(first)], "1\n" * n)
    lines = parse_output(out)
    mask_hex = dropout_mask(3, 4, first, n, 0.5)
    keep = [(int(mask_hex[2 * (k // 8): 2 * (k // 8) + 2], 16) >> (k % 8)) & 1 for k in range(n)]
    expected = ["2" if b else "0" for b in keep]
    mismatch = next((k for k in range(n) if k >= len(lines) or lines[k] != expected[k]), None)
    if rc != 0 or len(lines) != n or mismatch is not None:
        fail("forward of %d ones from first=%d: first mismatch at element %s" % (n, first, mismatch))
    else:
        print("forward of %d ones (more than one 2^16 input chunk, across index 2^32): "
              "matches dropout mask" % n)


# ---- bad arguments: non-zero exit, exactly one line on stderr ---------------

MASK_OK = ["--p", "0.5", "--seed", "1", "--stream", "2", "--count", "8"]


def with_value(option, value):
    args = list(MASK_OK)
    args[args.index(option) + 1] = value
    return ["mask"] + args


ERROR_CASES = [
    ("p is nan", with_value("--p", "nan"), ""),
    ("p is -0.1", with_value("--p", "-0.1"), ""),
    ("p is 1.5", with_value("--p", "1.5"), ""),
    ("p is abc", with_value("--p", "abc"), ""),
    ("p is empty", with_value("--p", ""), ""),
    ("p is 0.5x", with_value("--p", "0.5x"), ""),
    ("p has a leading space", with_value("--p", " 0.5"), ""),
    ("seed is 2^64", with_value("--seed", "18446744073709551616"), ""),
    ("seed is 0x1 followed by 16 zeros", with_value("--seed", "0x10000000000000000"), ""),
    ("seed is -1", with_value("--seed", "-1"), ""),
    ("seed is 1.5", with_value("--seed", "1.5"), ""),
    ("seed is 0x", with_value("--seed", "0x"), ""),
    ("stream is 99999999999999999999", with_value("--stream", "99999999999999999999"), ""),
    ("count is 12abc", with_value("--count", "12abc"), ""),
    ("missing value", ["mask", "--p", "0.5", "--seed", "1", "--stream", "2", "--count"], ""),
    ("missing --count", ["mask", "--p", "0.5", "--seed", "1", "--stream", "2"], ""),
    ("unknown option", ["mask", "--bogus"] + MASK_OK, ""),
    ("option twice", ["mask", "--seed", "3"] + MASK_OK, ""),
    ("stray argument", ["mask", "stray"] + MASK_OK, ""),
    ("first + count beyond 2^64", ["mask", "--p", "0.5", "--seed", "1", "--stream", "2",
                                   "--first", "0xffffffffffffffff", "--count", "2"], ""),
    ("unknown subcommand", ["frobnicate"], ""),
    ("unknown top-level option", ["--frobnicate"], ""),
    ("no subcommand", [], ""),
    ("flag with a value", ["forward", "--eval=1", "--p", "0.5", "--seed", "1", "--stream", "2"],
     "1\n"),
    ("unknown dtype", ["forward", "--dtype", "f128", "--p", "0.5", "--seed", "1", "--stream", "2"],
     "1\n"),
    ("bad stdin token", ["forward", "--p", "0.5", "--seed", "1", "--stream", "2"],
     "1 2\n3 abc 4\n"),
    ("stdin number out of f32 range", ["forward", "--p", "0.5", "--seed", "1", "--stream", "2"],
     "1e39\n"),
    ("bad stdin token (backward, f64)", ["backward", "--p", "0.5", "--seed", "1", "--stream", "2",
                                         "--dtype", "f64"], "1,5\n"),
    ("forward p is nan", ["forward", "--p", "nan", "--seed", "1", "--stream", "2"], "1\n"),
    ("verify with an unknown option", ["verify", "--fast"], ""),
]


def part_errors():
    for label, args, stdin in ERROR_CASES:
        rc, out, err = run(args, stdin)
        lines = err.splitlines()
        shown = "dropout " + " ".join(args)
        if rc == 0:
            fail("%s: `%s` exited 0" % (label, shown))
        elif len(lines) != 1 or not lines[0].strip():
            fail("%s: `%s` wrote %d lines on stderr: %r" % (label, shown, len(lines), err))
        else:
            print("%-34s exit %d: %s" % (label, rc, lines[0]))
    # The stdin error names the line and the token.
    rc, out, err = run(["forward", "--p", "0.5", "--seed", "1", "--stream", "2"], "1 2\n3 abc 4\n")
    if "line 2" not in err or "abc" not in err:
        fail("bad stdin token: the message should name line 2 and 'abc': %r" % err)
    # The largest values are accepted.
    for args in (["mask", "--p", "0.5", "--seed", "18446744073709551615", "--stream",
                  "0xffffffffffffffff", "--first", "0xfffffffffffffff8", "--count", "8"],
                 ["mask", "--p=1e-6", "--seed=0XFF", "--stream=0", "--count=1"]):
        rc, out, err = run(args)
        if rc != 0 or err:
            fail("`dropout %s` should succeed: %s" % (" ".join(args), err.strip()))
        else:
            print("accepted: dropout %s -> %s" % (" ".join(args), out.strip()))


# ---- help and version ------------------------------------------------------

def part_help():
    rc, out, err = run(["--help"])
    if rc != 0 or "Usage:" not in out or err:
        fail("dropout --help: exit %d, stderr %r" % (rc, err))
    commands = ["mask", "forward", "backward", "verify"]
    for command in commands:
        if command not in out:
            fail("dropout --help does not list %s" % command)
        rc, sub, err = run([command, "--help"])
        if rc != 0 or "Usage: dropout " + command not in sub or "--help" not in sub:
            fail("dropout %s --help: exit %d, output %r" % (command, rc, sub[:200]))
        else:
            print("dropout %s --help: %d lines" % (command, len(sub.splitlines())))
    rc, out, err = run(["--version"])
    if rc != 0 or "mask stream v1" not in out or "isa " not in out:
        fail("dropout --version: exit %d, output %r" % (rc, out))
    else:
        print("dropout --version: " + out.strip())


# ---- input bytes, output errors, escaped error lines (issue 10 item 7) -----

def run_bytes(args, stdin=b"", stdout=subprocess.PIPE):
    result = subprocess.run([EXE] + args, input=stdin, stdout=stdout, stderr=subprocess.PIPE)
    return result.returncode, result.stdout, result.stderr


FORWARD_OK = ["--p", "0.5", "--seed", "1", "--stream", "2"]

# Every subcommand, run with its output on /dev/full: exit non-zero, one line.
FULL_CASES = [
    ["--help"], ["-h"], ["help"], ["help", "mask"], ["--version"], ["version"],
    ["mask", "--help"], ["forward", "--help"], ["backward", "--help"], ["verify", "--help"],
    ["bench", "--help"],
    ["mask", "--p", "0.5", "--seed", "1", "--stream", "2", "--count", "64"],
    ["forward"] + FORWARD_OK, ["backward"] + FORWARD_OK,
    ["forward", "--shape", "2,2"] + FORWARD_OK,
    ["verify", "--quick"],
]


def part_io():
    # A NUL byte inside the input is an error, not the end of a number.
    for label, data in (("NUL inside a token", b"1\0garbage 2"), ("NUL alone", b"1 \0 2"),
                        ("NUL at the end", b"1 2\0"), ("NUL on line 3", b"1\n2\n3\0\n")):
        for command in (["forward"], ["backward", "--dtype", "f64"], ["forward", "--shape", "3"]):
            args = command + FORWARD_OK
            rc, out, err = run_bytes(args, data)
            lines = err.decode("ascii", "replace").splitlines()
            if rc == 0 or len(lines) != 1 or "NUL" not in err.decode("ascii", "replace"):
                fail("%s: dropout %s exited %d, stderr %r" % (label, " ".join(args), rc, err))
            else:
                print("%-20s %-22s exit %d: %s" % (label, " ".join(command), rc, lines[0]))
    rc, out, err = run_bytes(["forward"] + FORWARD_OK, b"1\0garbage 2\n3\0")
    if b"line 1" not in err:
        fail("the NUL error should name line 1: %r" % err)

    # Output that cannot be written is an error, for every subcommand.
    with open("/dev/full", "wb") as full:
        for args in FULL_CASES:
            rc, out, err = run_bytes(args, b"1 2 3\n4\n", stdout=full)
            lines = err.decode("utf-8", "replace").splitlines()
            if rc == 0 or len(lines) != 1 or "cannot write the output" not in lines[0]:
                fail("dropout %s >/dev/full: exit %d, stderr %r" % (" ".join(args), rc, err))
            else:
                print("dropout %-40s >/dev/full: exit %d: %s" % (" ".join(args), rc, lines[0]))
    # ... and a bad input with a full stdout is still reported once, as the input error.
    with open("/dev/full", "wb") as full:
        rc, out, err = run_bytes(["forward"] + FORWARD_OK, b"1 x\n", stdout=full)
    if rc == 0 or len(err.splitlines()) != 1 or b"not a number" not in err:
        fail("bad input with stdout on /dev/full: exit %d, stderr %r" % (rc, err))

    # Control characters in error lines are escaped: no forged or rewritten lines.
    hostile = [b"0.5\nfake line", b"0.5\x1b[2K\rdropout: ok", b"\x7f\x01x", b"0.5\xc2\x9b31m",
               b"\xff\xfe bad utf-8", b"\xe2\x82 cut"]
    for value in hostile:
        args = [b"mask", b"--p", value, b"--seed", b"1", b"--stream", b"2", b"--count", b"8"]
        result = subprocess.run([os.fsencode(EXE)] + args, capture_output=True)
        err = result.stderr
        body = err[:-1] if err.endswith(b"\n") else err
        bad = [c for c in body if c < 0x20 or c == 0x7f]
        try:
            body.decode("utf-8")
            invalid = b"\xc2\x9b" in body
        except UnicodeDecodeError:
            invalid = True
        if result.returncode == 0 or not err.endswith(b"\n") or bad or invalid:
            fail("--p %r: exit %d, stderr %r" % (value, result.returncode, err))
        else:
            print("escaped: %s" % err.decode("utf-8").strip())
    # Tokens from stdin are escaped too, and printable UTF-8 stays as it is.
    rc, out, err = run_bytes(["forward"] + FORWARD_OK, b"1 \x1b]0;x\x07\n")
    if rc == 0 or b"\x1b" in err or b"\x07" in err or b"\\x1b" not in err:
        fail("a stdin token with ESC and BEL: exit %d, stderr %r" % (rc, err))
    rc, out, err = run_bytes(["forward"] + FORWARD_OK, "1 \u00e9t\u00e9\n".encode())
    if rc == 0 or "\u00e9t\u00e9".encode() not in err:
        fail("printable UTF-8 should be printed as it is: %r" % err)


PARTS = {"kat": part_kat, "vectors": part_vectors, "random": part_random,
         "forward": part_forward, "errors": part_errors, "help": part_help, "io": part_io}

if __name__ == "__main__":
    PARTS[sys.argv[3]]()
    if failures:
        print("%d failure(s)" % failures)
        sys.exit(1)
    print("all passed")
