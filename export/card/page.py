"""The HTML page around a card: inline style only, no scripts, no external files."""

from __future__ import annotations

from export.card.svg import esc

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d1d1f;
margin:0;background:#f6f7f9}
main{max-width:1040px;margin:0 auto;padding:24px}
header h1{margin:0 0 4px;font-size:28px}
.version{color:#555;font-weight:400}
.alias{display:inline-block;margin-left:8px;padding:2px 10px;border-radius:12px;background:#0072B2;
color:#fff;font-size:14px;vertical-align:middle}
.sub{margin:0 0 16px;color:#555}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:12px 18px;margin:14px 0}
h2{font-size:18px;margin:4px 0 10px}
h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border:1px solid #e1e4e8;padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
thead th{background:#f0f2f5}
table.facts th{background:#f7f8fa;font-weight:600;white-space:nowrap}
code{font-size:12px;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;width:min-content}
figure.chart svg{display:block;outline:1px solid #e1e4e8}
figcaption{font-size:12px;color:#555;margin-top:4px}
.missing{color:#8a5300;background:#fff7e6;border-left:3px solid #e69f00;padding:6px 10px}
.note{color:#555;font-size:13px}
.pass{color:#00703c;font-weight:600}.fail{color:#b00020;font-weight:600}
ol.labels{columns:3;font-size:14px;margin:4px 0}
details{margin:6px 0}summary{cursor:pointer;color:#0072B2}
.side{display:grid;grid-template-columns:1fr 1fr;gap:12px}
"""


def page(title: str, body: str) -> str:
    """A whole HTML document."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
