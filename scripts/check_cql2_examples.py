"""Parse the OGC CQL2 standard's example filters and check that each text filter gives its JSON pair's tree.

Usage: check_cql2_examples.py DIR

DIR holds the standard's examples (cql2/standard/schema/examples in opengeospatial/ogcapi-features),
with text/NAME.txt and json/NAME.json; an alternative spelling NAME-alt01.txt pairs with NAME.json.
The examples are not shipped here (they are the standard's, not ours), hence a command rather than a
test: it is run by hand against a checkout of the standard, and exits 1 if any example fails.
It checks parsing and text/JSON agreement only: the examples name properties we do not have.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from heritage_map.cql2 import parse_json, parse_text
from heritage_map.errors import InvalidParameter


def _parse(parse, source: str):
    """Return (tree, None), or (None, the parser's message)."""
    try:
        return parse(source), None
    except InvalidParameter as exc:
        return None, exc.message


def check(folder: Path) -> tuple[int, int, int, list[str]]:
    """Return (examples parsed, examples, pairs agreeing, problems) for the examples in `folder`."""
    texts = sorted((folder / "text").glob("*.txt"))
    parsed = agreed = 0
    problems = []
    for path in texts:
        name = path.stem
        pair = folder / "json" / (re.sub(r"-alt\d+$", "", name) + ".json")
        text_tree, text_error = _parse(parse_text, path.read_text(encoding="utf-8").strip())
        json_tree, json_error = _parse(parse_json, pair.read_text(encoding="utf-8")) if pair.exists() \
            else (None, f"no {pair.name}")
        for kind, error in (("text", text_error), ("json", json_error)):
            if error:
                problems.append(f"{name} ({kind}): {error}")
        if text_error or json_error:
            continue
        parsed += 1
        if text_tree == json_tree:
            agreed += 1
        else:
            problems.append(f"{name}: text and JSON differ:\n  text {text_tree}\n  json {json_tree}")
    return parsed, len(texts), agreed, problems


def main(argv: list[str]) -> int:
    """Run the check on the folder named in `argv` and print what it found."""
    if len(argv) != 2 or not (Path(argv[1]) / "text").is_dir():
        print(__doc__.strip(), file=sys.stderr)
        return 2
    parsed, total, agreed, problems = check(Path(argv[1]))
    for problem in problems:
        print(problem)
    print(f"{parsed} of {total} examples parse; text and JSON agree on {agreed} pairs")
    return 0 if total and parsed == agreed == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
