"""`dropout mask|forward|backward --device opencl` print exactly what
`--device cpu` prints (standard library only).

    python3 test_opencl_cli.py DROPOUT_EXE

Independent random cases with large seeds, streams and offsets and tie-heavy
p, every dtype, inputs across the CLI's chunk boundaries; `dropout --version`
lists the OpenCL devices; a missing runtime (OCL_ICD_VENDORS pointing at an
empty directory), a device index that does not exist and --device opencl
with the family's options are one error line and a non-zero exit; the
OpenCL bench runs.  Prints what it compared; exits non-zero on any failure.
"""
import os
import random
import subprocess
import sys
import tempfile

EXE = sys.argv[1]
failures = 0
rng = random.Random(20261201)


def fail(message):
    global failures
    failures += 1
    if failures <= 10:
        print("FAIL:", message)


def run(args, stdin="", env=None):
    result = subprocess.run([EXE] + args, input=stdin, capture_output=True, text=True,
                            env=env)
    return result.returncode, result.stdout, result.stderr


def same_on_both(args, stdin="", what=""):
    """Run on cpu and opencl; the outputs must be identical, byte for byte."""
    rc_cpu, out_cpu, err_cpu = run(args + ["--device", "cpu"], stdin)
    rc_cl, out_cl, err_cl = run(args + ["--device", "opencl"], stdin)
    if rc_cpu != 0 or rc_cl != 0:
        fail("%s: exit %d/%d: %s %s" % (what, rc_cpu, rc_cl, err_cpu.strip(), err_cl.strip()))
    elif out_cpu != out_cl:
        lines_cpu, lines_cl = out_cpu.splitlines(), out_cl.splitlines()
        at = next((k for k, (a, b) in enumerate(zip(lines_cpu, lines_cl)) if a != b),
                  min(len(lines_cpu), len(lines_cl)))
        fail("%s: outputs differ (%d vs %d bytes), first at line %d" %
             (what, len(out_cpu), len(out_cl), at + 1))
    return len(out_cpu)


TIE_HEAVY = [0.1, 0.3, 0.123456789]


def random_p(k):
    choices = TIE_HEAVY + [0.0, 1.0, 0.5, rng.random()]
    return choices[k % len(choices)]


def part_mask():
    compared = 0
    for k in range(8):
        count = rng.randrange(1, 5000) if k != 3 else 3 * (1 << 20) + 5  # CLI chunks of 2^20
        seed, stream = rng.getrandbits(64), rng.getrandbits(64) | (1 << 32) * (k % 2)
        first = [rng.getrandbits(20), (1 << 36) - rng.randrange(2000), rng.getrandbits(63),
                 (1 << 64) - count - rng.randrange(40)][k % 4]
        p = random_p(k)
        args = ["mask", "--p", repr(p), "--seed", hex(seed), "--stream", hex(stream),
                "--first", str(first), "--count", str(count)]
        compared += same_on_both(args, what="mask " + " ".join(args[1:]))
    print("mask: 8 random cases, %d hex digits identical on cpu and opencl" % compared)


def numbers(count, dtype):
    special = ["nan", "-nan", "inf", "-inf", "-0", "0", "1e-40", "65504", "3e38"]
    out = []
    for _ in range(count):
        r = rng.random()
        if r < 0.05:
            out.append(rng.choice(special if dtype in ("f32", "f64") else special[:7]))
        else:
            out.append(repr(rng.uniform(-1000, 1000)))
    return "\n".join(out) + "\n"


def part_forward():
    compared = 0
    dtypes = ["f32", "f64", "bf16", "f16"]
    for k in range(8):
        dtype = dtypes[k % 4]
        count = rng.randrange(1, 3000) if k != 1 else 70000  # the CLI reads 2^16 at a time
        command = "backward" if k % 3 == 2 else "forward"
        args = [command, "--p", repr(random_p(k)), "--seed", hex(rng.getrandbits(64)),
                "--stream", hex(rng.getrandbits(64)), "--first",
                str(rng.getrandbits(62) if k % 2 else (1 << 32) - rng.randrange(100)),
                "--dtype", dtype]
        if k == 5:
            args.append("--eval")
        compared += same_on_both(args, numbers(count, dtype), " ".join(args))
    print("forward/backward: 8 random cases (every dtype, eval, specials), %d output bytes "
          "identical on cpu and opencl" % compared)


def one_error_line(args, env=None, expect=""):
    rc, out, err = run(args, "1 2 3\n", env)
    lines = err.splitlines()
    if rc == 0 or len(lines) != 1 or expect not in err or out:
        fail("%s: expected one error line containing %r and a non-zero exit, got exit %d, "
             "stderr %r, stdout %r" % (" ".join(args), expect, rc, err, out[:80]))


def part_errors():
    rc, out, err = run(["--version"])
    if rc != 0 or "device opencl 0:" not in out or "device cpu" not in out:
        fail("--version does not list the devices: %r" % out)
    with tempfile.TemporaryDirectory() as empty:
        env = dict(os.environ, OCL_ICD_VENDORS=empty)
        for command in (["mask", "--count", "5"], ["forward"], ["backward"]):
            one_error_line(command + ["--p", "0.5", "--seed", "1", "--stream", "2", "--device",
                                      "opencl"], env, "no OpenCL runtime: CL_PLATFORM_NOT_FOUND_KHR")
        rc, out, err = run(["--version"], env=env)
        if rc != 0 or "device opencl: none" not in out:
            fail("--version without a runtime: exit %d, %r" % (rc, out))
    base = ["--p", "0.5", "--seed", "1", "--stream", "2"]
    one_error_line(["mask", "--count", "5", "--device", "opencl", "--cl-device", "99"] + base,
                   expect="--cl-device 99")
    one_error_line(["forward", "--device", "opencl", "--shape", "3"] + base, expect="--device")
    one_error_line(["forward", "--device", "gpu"] + base, expect="--device")
    rc, out, err = run(["bench", "--device", "opencl", "--sizes", "65536", "--repeats", "3"])
    if rc != 0 or "forward" not in out or "copy" not in out:
        fail("bench --device opencl: exit %d, %s %s" % (rc, out, err))
    print("errors: --version lists devices; no runtime, --cl-device 99, --shape, --device gpu "
          "are one line and a non-zero exit; bench --device opencl runs")


part_mask()
part_forward()
part_errors()
print("opencl_cli: %s" % ("FAILED" if failures else "OK"))
sys.exit(1 if failures else 0)
