#!/usr/bin/env python3
"""Check a PowerShell script with the tree-sitter PowerShell grammar (PowerShell itself cannot
run on the test machines).

    ps_parse.py FILE.ps1                  exit 0 when it parses; else 1, listing the problems
    ps_parse.py --assignments FILE.ps1    also print top-level `$Name = <literal>` values as JSON
    ps_parse.py --versions                print the module versions (exit 3 if missing)

Problems, one per line on stderr as FILE:LINE:COLUMN: WHAT (1-based; column in characters):
  * every ERROR or MISSING node of the syntax tree;
  * every verbatim string that PowerShell reads differently from the grammar. PowerShell's
    single-quote characters are ' and U+2018-U+201B (about_Quoting_Rules; Language
    Specification 3.0, 2.3.5.2), while the grammar only knows ': a lone curly quote inside a
    grammar string ends the string in PowerShell.

--assignments decodes each top-level assignment whose whole right side is a literal: a verbatim
string, an integer, a hash literal of those (`@{ Name = 'x'; Size = 1 }`, printed as an object,
integers as their digits) or an array `@( ... )` of such hash literals (a list of objects). Verbatim strings follow PowerShell's
rules: two single-quote characters in a row stand for one (this keeps the second; agentpack
doubles with the same character, so which one is kept does not matter).
Other assignments (`$x = $null`, expressions) are left out.

Exit status: 0 ok, 1 problems found, 2 usage or unreadable file, 3 modules missing.
"""

import json
import sys

# Pinned in .ci/run; the grammar's node names (verbatim_string_characters, ...) are those of
# these versions.
PINNED = {"tree-sitter": "0.26.1", "tree-sitter-powershell": "0.26.4"}
QUOTES = "'\u2018\u2019\u201a\u201b"
BOM = b"\xef\xbb\xbf"


def load_parser():
    try:
        import tree_sitter
        import tree_sitter_powershell
    except ImportError as e:
        pins = " ".join(f"{k}=={v}" for k, v in PINNED.items())
        print(
            f"ps_parse.py: {e}: install with `python3 -m pip install {pins}`",
            file=sys.stderr,
        )
        sys.exit(3)
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def versions():
    from importlib import metadata

    load_parser()
    for name in PINNED:
        print(f"{name} {metadata.version(name)}")


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def decode_verbatim(text):
    """The value of a verbatim string token `'...'`, or None when PowerShell would not read the
    token as one string (a lone quote character inside)."""
    if len(text) < 2 or text[0] not in QUOTES or text[-1] not in QUOTES:
        return None
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c in QUOTES:
            if i + 1 >= len(body) or body[i + 1] not in QUOTES:
                return None
            c = body[i + 1]
            i += 1
        out.append(c)
        i += 1
    return "".join(out)


def single_child_chain(node):
    while node.named_child_count == 1 and node.child_count == 1:
        node = node.children[0]
    return node


class Script:
    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            print(f"ps_parse.py: {path}: {e}", file=sys.stderr)
            sys.exit(2)
        # Positions are reported in the text after the BOM, which Windows PowerShell needs.
        self.data = data[len(BOM):] if data.startswith(BOM) else data
        self.tree = load_parser().parse(self.data)

    def text(self, node):
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def where(self, node):
        row, col = node.start_point
        line = self.data.split(b"\n")[row]
        col_chars = len(line[:col].decode("utf-8", "replace"))
        return f"{self.path}:{row + 1}:{col_chars + 1}"

    def problems(self):
        found = []
        for node in walk(self.tree.root_node):
            if node.is_missing:
                found.append(f"{self.where(node)}: MISSING {node.type}")
            elif node.type == "ERROR":
                found.append(f"{self.where(node)}: ERROR near {self.text(node)[:40]!r}")
            elif node.type == "verbatim_string_characters":
                if decode_verbatim(self.text(node)) is None:
                    found.append(
                        f"{self.where(node)}: verbatim string with a lone quote character "
                        f"(PowerShell ends the string there): {self.text(node)[:40]!r}"
                    )
        return found

    def assignments(self):
        values = {}
        statements = [c for c in self.tree.root_node.children if c.type == "statement_list"]
        for statements_node in statements:
            for stmt in statements_node.children:
                assign = single_child_chain(stmt)
                if assign.type != "assignment_expression":
                    continue
                left = single_child_chain(assign.children[0])
                op = assign.children[1] if assign.child_count > 2 else None
                value = single_child_chain(assign.children[-1])
                if left.type != "variable" or op is None or self.text(op) != "=":
                    continue
                decoded = self.literal(value)
                if decoded is not None:
                    values[self.text(left)[1:]] = decoded
        return values

    def literal(self, node):
        """A verbatim string's value, an integer's digits, a hash literal of literals as an
        object, or an array `@( ... )` of hash literals as a list; None for anything else."""
        if node.type == "verbatim_string_characters":
            return decode_verbatim(self.text(node))
        if node.type == "decimal_integer_literal":
            return self.text(node)
        if node.type == "hash_literal_expression":
            table = {}
            for body in (c for c in node.children if c.type == "hash_literal_body"):
                for entry in (c for c in body.children if c.type == "hash_entry"):
                    key = single_child_chain(entry.children[0])
                    value = self.literal(single_child_chain(entry.children[2]))
                    if key.type != "simple_name" or not isinstance(value, str):
                        return None
                    table[self.text(key)] = value
            return table
        if node.type != "array_expression":
            return None
        items = []
        for body in (c for c in node.children if c.type == "statement_list"):
            for stmt in body.children:
                item = self.literal(single_child_chain(stmt))
                if not isinstance(item, dict):
                    return None
                items.append(item)
        return items

def main(argv):
    args = argv[1:]
    if args == ["--versions"]:
        versions()
        return 0
    want_assignments = bool(args) and args[0] == "--assignments"
    if want_assignments:
        args = args[1:]
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    script = Script(args[0])
    problems = script.problems()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    if want_assignments:
        print(json.dumps(script.assignments(), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
