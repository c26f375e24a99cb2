"""Output formats. Each module renders a finished `engine.Report`."""

FORMATS = ("console", "sarif", "json", "github")


def render(fmt: str, report, **options) -> str:
    """The report in a file format (everything but the console)."""
    if fmt == "sarif":
        from .sarif import render as render_sarif

        return render_sarif(report, **options)
    if fmt == "json":
        from .json import render as render_json

        return render_json(report, **options)
    if fmt == "github":
        from .github import render as render_github

        return render_github(report, **options)
    raise ValueError(f"unknown output format {fmt!r}")
