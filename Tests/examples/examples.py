#!/usr/bin/env python3
"""The shell examples of LightScope's documents, pulled out mechanically, and their tests.

Every command a user is shown (README.md, docs/*.md, the man page's EXAMPLES) is run by a
test, and its output compared, so that the documents cannot drift from the code:

  examples.py check           every example has a test that names it, and every test's
                              example still exists (scripts/test.sh and swift test run this)
  examples.py list            the examples, where they are and what runs them
  examples.py show ID         one example's commands and expected output
  examples.py run ID [--cd DIR] [-- PREFIX...]
                              run its commands in DIR (through PREFIX, e.g. nsenter into
                              a container) and compare their output with the document's
  examples.py config-snippets the ```ini blocks, NUL-separated, for `lightscope check-config`

How a document marks an example (the marker is invisible in the rendered page):

  Markdown:  <!-- example: ID -->  on the line before a ```sh or ```console block
  man page:  .\\" example: ID       before the lines it covers in .SH EXAMPLES

Tests/examples/manifest maps each ID to the test that runs it (see its header). A shell
block without a marker, a marker without a manifest line, a manifest line whose test does
not name its ID, or an untagged ``` block are errors.
"""

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHELL_LANGUAGES = {"sh", "shell", "bash", "console", "shell-session", "zsh"}
# Every command runs as root in the tests: `sudo` is the identity (`sudo -u USER` is runuser).
SUDO_SHIM = 'sudo() { if [ "$1" = -u ]; then u=$2; shift 2; runuser -u "$u" -- "$@"; else "$@"; fi; }\n'
MARKER = re.compile(r"^\s*<!--\s*example:\s*([\w.-]+)\s*-->\s*$")
MAN_MARKER = re.compile(r'^\.\\"\s*example:\s*([\w.-]+)\s*$')


class Example:
    def __init__(self, id, path, line, console, text):
        self.id, self.path, self.line, self.console = id, path, line, console
        self.commands, self.outputs = parse_console(text) if console else parse_script(text)

    def where(self):
        return f"{self.path}:{self.line}"


def parse_console(text):
    """`$ command` lines (a trailing backslash continues one), each followed by its output."""
    commands, outputs = [], []
    continuing = False
    for line in text.splitlines():
        if continuing:
            commands[-1] += "\n" + line
        elif line.startswith("$ "):
            commands.append(line[2:])
            outputs.append([])
        elif commands:
            outputs[-1].append(line)
        continuing = bool(commands) and line.endswith("\\") and not outputs[-1]
    return commands, outputs


def parse_script(text):
    """A whole block is one script; full-line comments and blank lines are not commands."""
    kept = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return ["\n".join(kept)], [None]


def fenced_blocks(path):
    """(language, first line number, text, marker id or None) for each ``` block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^(\s*)```(\S*)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        indent, language = len(fence.group(1)), fence.group(2)
        marker = MARKER.match(lines[index - 1]) if index > 0 else None
        start = index + 1
        index = start
        while index < len(lines) and not re.match(r"^\s*```\s*$", lines[index]):
            index += 1
        body = "\n".join(line[indent:] for line in lines[start:index])
        yield language, start, body, marker.group(1) if marker else None
        index += 1


def man_examples(path, shown_as):
    """(id, line, text) for each marked group of lines in the .nf/.fi blocks of the man
    page's EXAMPLES section (the prose around them is not a command)."""
    groups, problems, current, in_examples, unfilled = [], [], None, False, False
    for number, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        if line.startswith(".SH"):
            in_examples, current = line.strip() == ".SH EXAMPLES", None
            continue
        if not in_examples:
            continue
        marker = MAN_MARKER.match(line)
        if line.startswith((".nf", ".fi")):
            unfilled, current = line.startswith(".nf"), None
        elif marker:
            current = [marker.group(1), number + 1, []]
            groups.append(current)
        elif not unfilled or line.startswith((".", "'")):
            continue
        elif current is None:
            problems.append(f"{shown_as}:{number}: an example without a marker (.\\\" example: ID): {line}")
        else:
            current[2].append(unescape_roff(line))
    return [(id, line, "\n".join(text)) for id, line, text in groups], problems


def unescape_roff(line):
    return line.replace("\\-", "-").replace("\\(aq", "'").replace("\\&", "").replace("\\e", "\\")


def documents(root):
    paths = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        paths += sorted(os.path.join(docs, name) for name in os.listdir(docs) if name.endswith(".md"))
    return [path for path in paths if os.path.exists(path)]


def collect(root):
    """All examples, the ```ini snippets, and what is wrong with the documents' markup."""
    examples, snippets, problems = [], [], []
    for path in documents(root):
        relative = os.path.relpath(path, root)
        for language, line, body, marker in fenced_blocks(path):
            if language == "":
                problems.append(f"{relative}:{line}: a ``` block without a language: tag it sh or console "
                                "(a command, with a marker), ini (LightScope config) or text (anything else)")
            elif language in SHELL_LANGUAGES:
                if marker is None:
                    problems.append(f"{relative}:{line}: a ```{language} block without a test: put "
                                    "<!-- example: ID --> on the line before it and ID in Tests/examples/manifest")
                else:
                    examples.append(Example(marker, relative, line, language == "console", body))
            elif language == "ini":
                snippets.append((f"{relative}:{line}", body))
    man = os.path.join(root, "packaging", "lightscope.8")
    if os.path.exists(man):
        groups, man_problems = man_examples(man, "packaging/lightscope.8")
        problems += man_problems
        examples += [Example(id, "packaging/lightscope.8", line, False, text) for id, line, text in groups]
    seen = {}
    for example in examples:
        if example.id in seen:
            problems.append(f"{example.where()}: example id '{example.id}' is also used at {seen[example.id]}")
        seen[example.id] = example.where()
    return examples, snippets, problems


def read_manifest(root):
    """{id: (test, [options])} from Tests/examples/manifest."""
    manifest = {}
    with open(os.path.join(root, "Tests", "examples", "manifest"), encoding="utf-8") as lines:
        for line in lines:
            words = line.split("#", 1)[0].split()
            if words:
                manifest[words[0]] = (words[1] if len(words) > 1 else "", words[2:])
    return manifest


def test_names_example(root, test, id, commands):
    """None if `test` exists and runs example `id`, else what is wrong."""
    kind, _, name = test.partition(":")
    if kind == "system":
        for path in sorted(os.listdir(os.path.join(root, "Tests", "system"))):
            if path.endswith(".sh"):
                text = open(os.path.join(root, "Tests", "system", path), encoding="utf-8").read()
                body = re.search(rf"^{re.escape(name)}\(\) \{{\n(.*?)^\}}", text, re.S | re.M)
                if body:
                    return None if re.search(rf"\bdoc_example {re.escape(id)}\b", body.group(1)) \
                        else f"{name} in Tests/system/{path} does not run 'doc_example {id}'"
        return f"no function {name}() in Tests/system/*.sh"
    if kind == "cli":
        class_name, _, method = name.partition(".")
        for directory, _, files in os.walk(os.path.join(root, "Tests")):
            for file in files:
                if not file.endswith(".swift"):
                    continue
                text = open(os.path.join(directory, file), encoding="utf-8").read()
                if not re.search(rf"\bclass {re.escape(class_name)}\b", text):
                    continue
                body = re.search(rf"func {re.escape(method)}\(\)[^{{]*\{{\n(.*?)^    \}}", text, re.S | re.M)
                if not body:
                    return f"no test {method}() in class {class_name}"
                return None if f'"{id}"' in body.group(1) else f"{class_name}.{method} does not run example \"{id}\""
        return f"no test class {class_name} under Tests/"
    if kind == "script":
        path = os.path.join(root, name)
        if not os.path.exists(path):
            return f"no script {name}"
        text = open(path, encoding="utf-8").read()
        for command in commands:
            for line in command.splitlines():
                line = re.sub(r"^sudo\s+", "", line.strip())
                if line not in text:
                    return f"{name} does not run '{line}' as the example shows it"
        return None
    return f"unknown test '{test}': use system:FUNCTION, cli:Class.method or script:PATH"


def check(root):
    examples, _, problems = collect(root)
    manifest = read_manifest(root)
    documented = {example.id for example in examples}
    for example in examples:
        if example.id not in manifest:
            problems.append(f"{example.where()}: example '{example.id}' has no line in Tests/examples/manifest")
            continue
        problem = test_names_example(root, manifest[example.id][0], example.id, example.commands)
        if problem:
            problems.append(f"{example.where()}: example '{example.id}': {problem}")
    for id in sorted(set(manifest) - documented):
        problems.append(f"Tests/examples/manifest: '{id}' is no longer an example in any document: remove it and its test")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"{len(examples)} examples, each run by its test")
    return 1 if problems else 0


# --- running and comparing ----------------------------------------------------------------

NORMALISERS = {
    "time": [
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", "<time>"),
        (r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) <time>( [A-Z]{2,5})?", "<time>"),
    ],
    "duration": [
        (r"\b\d+(\.\d+)?(us|ms|s|min|h|d)( \d+(\.\d+)?(us|ms|s|min|h|d))*\b", "<duration>"),
        (r"\b(\d+[dhm])+(\d+s)?\b", "<duration>"),
    ],
    "pid": [(r"\b(pid|PID|process) \d+\b", r"\1 <pid>"), (r"\bMainPID=\d+", "MainPID=<pid>")],
    "size": [(r"\b\d+(\.\d+)? ?(B|KiB|MiB|GiB|kB|MB|GB)\b", "<size>")],
    "port": [(r"(\d+\.\d+\.\d+\.\d+|\]):\d+ ->", r"\1:<port> ->")],
    "number": [(r"\b\d+(\.\d+)?\b", "<n>")],
}
ORDER = ("time", "duration", "pid", "size", "port", "number")
TERMINAL_CONTROL = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\r|[^\x1b\r]+|\x1b")


def terminal_lines(raw):
    """What a terminal shows of `raw`: a carriage return goes back to the start of the line,
    erase-line (ESC [K) clears from there, colours and other controls show nothing."""
    lines = []
    for text in raw.decode("utf-8", "backslashreplace").split("\n"):
        line, cursor = "", 0
        for match in TERMINAL_CONTROL.finditer(text):
            piece = match.group(0)
            if piece == "\r":
                cursor = 0
            elif match.group(2) == "K":
                line = "" if match.group(1) == "2" else line[:cursor]
            elif not piece.startswith("\x1b"):
                line = line[:cursor] + piece + line[cursor + len(piece):]
                cursor += len(piece)
        lines.append(line.rstrip())
    return lines


def normalised(lines, kinds):
    result = []
    for line in lines:
        for kind in ORDER:
            if kind in kinds:
                for pattern, replacement in NORMALISERS[kind]:
                    line = re.sub(pattern, replacement, line)
        result.append(re.sub(r"[ \t]+", " ", line.rstrip()))
    while result and result[-1] == "":
        result.pop()
    return result


def matches(expected, actual):
    """`expected` may hold `...` lines: any number of lines there."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def run_in_terminal(argv, seconds):
    """Runs argv with a pseudo-terminal as stdout and stderr, as a reader would see it.
    Returns (exit status or None if still running after `seconds`, raw output)."""
    controller, terminal = pty.openpty()
    environment = dict(os.environ, SYSTEMD_PAGER="", PAGER="cat", SYSTEMD_COLORS="0", TERM="dumb")
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
                               env=environment, start_new_session=True)
    os.close(terminal)
    output, deadline = b"", time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.killpg(process.pid, signal.SIGTERM)
            os.close(controller)
            process.wait()
            return None, output
        ready, _, _ = select.select([controller], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            chunk = b""
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(), output


def run(root, id, directory, prefix):
    examples = {example.id: example for example in collect(root)[0]}
    if id not in examples:
        print(f"error: no example '{id}' in the documents", file=sys.stderr)
        return 2
    example = examples[id]
    options = read_manifest(root).get(id, ("", []))[1]
    follow = next((float(option.split("=", 1)[1]) for option in options if option.startswith("follow=")), None)
    failed = False
    commands = example.commands
    if follow is not None:  # each command on its own: one that follows a journal never ends
        commands = [line for command in commands for line in command.splitlines()]
    for index, command in enumerate(commands):
        print(f"$ {command}")
        script = SUDO_SHIM + (f"cd '{directory}' || exit\n" if directory else "") \
            + ("" if example.console else "set -e\n") + command
        status, raw = run_in_terminal(prefix + ["sh", "-c", script], follow or 120)
        actual = terminal_lines(raw)
        print("\n".join(line for line in actual if line), flush=True)
        expected = example.outputs[index] if example.console else None
        if expected is not None:
            if not matches(normalised(expected, options), normalised(actual, options)):
                failed = True
                print(f"FAIL: the output differs from {example.where()} (after normalising {', '.join(options) or 'nothing'}):")
                print("  expected:\n" + "\n".join("    " + line for line in normalised(expected, options)))
                print("  actual:\n" + "\n".join("    " + line for line in normalised(actual, options)))
        elif status not in (0, None):
            failed = True
            print(f"FAIL: exit status {status} (from {example.where()})")
        elif status is None and follow is None:
            failed = True
            print(f"FAIL: still running after 120 s (from {example.where()})")
    return 1 if failed else 0


def main(arguments):
    root = os.environ.get("LIGHTSCOPE_DOCS_ROOT", ROOT)
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = arguments[0], arguments[1:]
    if command == "check":
        return check(root)
    if command == "list":
        manifest = read_manifest(root)
        for example in collect(root)[0]:
            print(f"{example.id:28} {example.where():32} {manifest.get(example.id, ('(no test)',))[0]}")
        return 0
    if command == "show" and len(rest) == 1:
        for example in collect(root)[0]:
            if example.id == rest[0]:
                for index, command_text in enumerate(example.commands):
                    print(f"$ {command_text}")
                    print("\n".join(example.outputs[index] or []))
                return 0
        return 2
    if command == "config-snippets":
        for where, body in collect(root)[1]:
            sys.stdout.write(f"{where}\n{body}\n\0")
        return 0
    if command == "run" and rest:
        id, directory, prefix = rest[0], None, []
        rest = rest[1:]
        if rest[:1] == ["--cd"] and len(rest) >= 2:
            directory, rest = rest[1], rest[2:]
        if rest[:1] == ["--"]:
            prefix = rest[1:]
        return run(root, id, directory, prefix)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
