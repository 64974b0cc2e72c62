"""Tests of a manual page (standard library only).

    python3 test_man.py --build-dir DIR --work DIR --page NAME --program EXE
                        --version V [--subcommands] [--env VAR,VAR,...]
                        [--also NAME=EXE ...]

1. `cmake --install DIR --component man` into a fresh prefix under --work:
   the page must land in share/man/man1/NAME.1.
2. `man --warnings=w` (every groff warning) renders the installed page, by
   path (`man -l`) and by name through the prefix's man path (`man -M`),
   with exit status 0, nothing on stderr and the sections a manual page
   needs; ENVIRONMENT describes each --env variable.  Each --also NAME
   (a program the page documents too) renders the same page by name.
3. The page's .TH names "dropout V" (the project version).
4. Every option that `EXE --help` prints (and each --also program's) is an
   item (.TP) of the page's OPTIONS section; with --subcommands, every command listed under
   "Commands:" has a subsection ".SS "dropout CMD"" (several commands may
   share one: "dropout forward, dropout backward") in which every option
   printed by `EXE CMD --help` is an item.  And the other way round: every
   --option item of the page belongs to the program or subcommand it is
   listed under, so a removed option cannot linger in the page.

An option is any token "--name" in the help text, so an option added to a
program without a man page entry fails this test.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

failures = 0


def fail(message):
    global failures
    failures += 1
    print("FAIL:", message)


def run(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    return result.returncode, result.stdout, result.stderr


OPTION = re.compile(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)")


def help_options(text):
    return set(OPTION.findall(text))


def unroff(line):
    """The text of a roff line: macro name, font escapes and quotes removed."""
    line = re.sub(r"^\.(B|I|R|BI|BR|IB|IR|RB|RI)\s+", "", line)
    line = re.sub(r"\\f(\[[A-Z]*\]|[BIRP])", "", line)
    line = line.replace("\\-", "-").replace("\\(aq", "'").replace("\\&", "").replace('"', "")
    return line.strip()


def parse_page(path):
    """{(section, subsection): [item tag names]}, the .TH line and the
    subsection headings of COMMANDS."""
    items, th, commands = {}, None, []
    section = subsection = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for k, line in enumerate(lines):
        if line.startswith(".TH "):
            th = line
        elif line.startswith(".SH "):
            section, subsection = unroff(line[4:]), None
        elif line.startswith(".SS "):
            subsection = unroff(line[4:])
            if section == "COMMANDS":
                commands.append(subsection)
        elif line.startswith(".TP") and k + 1 < len(lines):
            tag = unroff(lines[k + 1])
            names = re.findall(r"(?:^|, )(--?[a-z0-9][a-z0-9-]*|[a-z]+)(?=,|\s|$)", tag)
            items.setdefault((section, subsection), []).extend(names)
    return items, th, commands


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--page", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--subcommands", action="store_true")
    parser.add_argument("--env", default="")
    parser.add_argument("--also", action="append", default=[], metavar="NAME=EXE",
                        help="another program this page documents: NAME.1 is installed as a "
                             "link to the page, and EXE --help's options are OPTIONS items too")
    args = parser.parse_args()

    # ---- 1. installed by cmake --install -------------------------------------
    shutil.rmtree(args.work, ignore_errors=True)
    prefix = os.path.join(args.work, "prefix")
    rc, out, err = run(["cmake", "--install", args.build_dir, "--prefix", prefix,
                        "--component", "man"])
    if rc != 0:
        fail("cmake --install --component man: exit %d: %s" % (rc, err.strip()))
    page = os.path.join(prefix, "share", "man", "man1", args.page + ".1")
    if not os.path.isfile(page):
        fail("%s was not installed" % page)
        return
    print("installed: " + os.path.relpath(page, args.work))

    # ---- 2. rendered by man without warnings ----------------------------------
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    rendered = None
    for how, command in (("man -l", ["man", "--warnings=w", "-l", page]),
                         ("man -M", ["man", "--warnings=w", "-M",
                                     os.path.join(prefix, "share", "man"), "1", args.page])):
        rc, out, err = run(command, env)
        if rc != 0 or err or not out.strip():
            fail("%s %s: exit %d, stderr: %s" % (how, args.page, rc, err.strip() or "(empty)"))
        else:
            print("%s %s: %d lines, no warnings" % (how, args.page, len(out.splitlines())))
            rendered = rendered or out
    if rendered is None:
        return
    also = [item.split("=", 1) for item in args.also]
    for name, _ in also:
        rc, out, err = run(["man", "--warnings=w", "-M", os.path.join(prefix, "share", "man"),
                            "1", name], env)
        if rc != 0 or err or out != rendered:
            fail("man -M %s: exit %d, stderr %s; it should show %s(1)"
                 % (name, rc, err.strip() or "(empty)", args.page))
        else:
            print("man -M %s: shows %s(1)" % (name, args.page))
    headings = [line for line in rendered.splitlines() if re.match(r"^[A-Z][A-Z ]+$", line)]
    required = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT",
                "EXAMPLES", "SEE ALSO"] + (["COMMANDS"] if args.subcommands else [])
    for name in required:
        if name not in headings:
            fail("%s(1) has no %s section (it has %s)" % (args.page, name, ", ".join(headings)))
    environment = rendered.split("\nENVIRONMENT\n", 1)[-1].split("\nEXAMPLES\n", 1)[0]
    for var in filter(None, args.env.split(",")):
        if not re.search(r"^ {7}%s\b" % re.escape(var), environment, re.M):
            fail("%s(1): ENVIRONMENT does not describe %s" % (args.page, var))

    # ---- 3. the version -------------------------------------------------------
    items, th, command_headings = parse_page(page)
    if th is None or ('"dropout %s"' % args.version) not in th:
        fail("%s(1): .TH should name \"dropout %s\": %s" % (args.page, args.version, th))

    # ---- 4. every option of --help is in the page, and nothing else ----------
    rc, top, err = run([args.program, "--help"])
    if rc != 0 or not top.strip():
        fail("%s --help: exit %d, stderr %s" % (args.program, rc, err.strip()))
        return
    groups = [("OPTIONS", None, args.page, help_options(top))]
    # An MPI program's --help runs MPI_Init, whose plugins (OpenMPI) leak at
    # exit: not this test's concern, so LeakSanitizer is off for it.
    quiet_leaks = dict(os.environ)
    quiet_leaks["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    for name, program in also:
        rc, text, err = run([program, "--help"], quiet_leaks)
        if rc != 0 or not text.strip():
            fail("%s --help: exit %d, stderr %s" % (program, rc, err.strip()))
        else:
            groups.append(("OPTIONS", None, name, help_options(text)))
    if args.subcommands:
        listing = top.split("Commands:", 1)
        if len(listing) != 2:
            fail("%s --help has no 'Commands:' list" % args.program)
            return
        commands = re.findall(r"^  ([a-z][a-z0-9-]*)\s", listing[1], re.M)
        if not commands:
            fail("no commands found in %s --help" % args.program)
        # ".SS "dropout forward, dropout backward"" documents both commands.
        subsections = {heading: [name.split()[-1] for name in heading.split(", ")]
                       for heading in command_headings}
        for command in commands:
            owner = [s for s, names in subsections.items() if command in names]
            if not owner:
                fail("%s(1) has no subsection for '%s %s' (.SS \"%s %s\")"
                     % (args.page, args.page, command, args.page, command))
                continue
            rc, text, err = run([args.program, command, "--help"])
            if rc != 0 or not text.strip():
                fail("%s %s --help: exit %d, stderr %s" % (args.program, command, rc,
                                                           err.strip()))
                continue
            groups.append(("COMMANDS", owner[0], args.page + " " + command, help_options(text)))
        for heading, names in subsections.items():
            for name in names:
                if name not in commands:
                    fail("%s(1): subsection '%s' names '%s', which '%s --help' does not list"
                         % (args.page, heading, name, args.page))
    # A subsection shared by several commands: the union of their options.
    wanted = {}
    for section, subsection, who, options in groups:
        wanted.setdefault((section, subsection), [set(), []])
        wanted[(section, subsection)][0].update(options)
        wanted[(section, subsection)][1].append((who, options))
    checked = 0
    for key, (union, owners) in wanted.items():
        documented = set(items.get(key, []))
        where = key[1] or key[0]
        for who, options in owners:
            for option in sorted(options - documented):
                fail("'%s --help' prints %s, which is not an item of %s in %s(1)"
                     % (who, option, where, args.page))
            checked += len(options)
        for option in sorted(o for o in documented - union if o.startswith("--")):
            fail("%s(1) documents %s under %s, but no --help there prints it"
                 % (args.page, option, where))
    print("%d options of --help found as items of %s(1), in %d sections"
          % (checked, args.page, len(wanted)))


if __name__ == "__main__":
    main()
    if failures:
        print("%d failure(s)" % failures)
        sys.exit(1)
    print("all passed")
