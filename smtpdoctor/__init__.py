"""smtpdoctor: finds out why SMTP mail times out, and says what to change."""

__version__ = "0.1.0"


def build_kind() -> str:
    """Which build runs: "compiled" when the log-analysis modules are mypyc-compiled C
    extensions (a `pip install .` with a C compiler, see setup.py), else "pure Python".
    Found without importing them."""
    from importlib.util import find_spec

    spec = find_spec("smtpdoctor.logs.parser")
    origin = "" if spec is None or spec.origin is None else spec.origin
    return "pure Python" if origin.endswith(".py") else "compiled"
