"""The course's grader (see autograder/README.md)."""

import sys

# nbformat validates with jsonschema, which imports rfc3987_syntax (when installed, as Jupyter's
# dependencies install it) only to check "iri" string formats, which no notebook schema uses;
# compiling its grammars takes about 1.6 s in every grader process. Import it as absent.
sys.modules.setdefault("rfc3987_syntax", None)
