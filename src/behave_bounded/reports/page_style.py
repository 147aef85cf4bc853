"""The HTML report's style sheet: one inline ``<style>``, no web font, no external resource; a
colour per status, shared by the badges, the counts, the legend and the timeline's bars."""

from __future__ import annotations

from behave_bounded.results import Status

STYLE = """
:root{--passed:#2f9e44;--failed:#e03131;--errored:#862e9c;--undefined:#f08c00;
--skipped:#adb5bd;--xfailed:#1c7ed6;--xpassed:#d6336c;--flaky:#fab005;--not_run:#495057}
*{box-sizing:border-box}
body{margin:0;padding:12px 20px 40px;background:#fff;color:#212529;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1360px;margin:0 auto}
h1{font-size:18px;margin:0 0 6px}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f8f9fa;border:1px solid #dee2e6;padding:6px 8px;margin:4px 0 8px;
white-space:pre-wrap;overflow-wrap:anywhere;max-height:32em;overflow:auto}
header{border-left:8px solid var(--passed);padding:6px 12px;margin-bottom:10px;background:#f8f9fa}
header.failed{border-color:var(--failed)}
.partial{background:#fff3bf;border:2px solid #f08c00;padding:8px 12px;margin:8px 0;
font-weight:600;font-size:15px}
.verdict{font-size:17px;font-weight:700;margin:2px 0 6px}
.counts{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0}
.count{border-radius:4px;padding:2px 10px;color:#fff;font-weight:600;background:var(--not_run)}
.count.zero{opacity:.35}
.meta{color:#495057;margin:4px 0 0}
details{margin:8px 0;border:1px solid #dee2e6;border-radius:4px;padding:4px 10px}
summary{cursor:pointer;font-weight:700;font-size:15px;padding:2px 0}
details details summary{font-weight:600;font-size:14px}
table{border-collapse:collapse;margin:6px 0;width:100%}
th,td{border-bottom:1px solid #e9ecef;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5}
td.n{text-align:right;white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;
font-weight:600;background:var(--not_run)}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0;color:#495057}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;
margin-right:4px}
.note{color:#495057;font-style:italic}
svg.timeline{width:100%;height:auto;display:block}
.timeline-bg{fill:#e6edf7}
.lane-bg{fill:#fff}
.lane-label,.idle,.tick-label,.group-title{font:12px system-ui,"DejaVu Sans",sans-serif;
fill:#343a40}
.lane-label{text-anchor:end}
.tick-label{text-anchor:middle;fill:#868e96;font-size:11px}
.tick{stroke:#dee2e6;stroke-width:1}
.group-title{font-weight:700}
.marker{fill:#000;stroke:#000;stroke-width:2}
.bar{stroke:none}
""" + "".join(
    f".s-{name}{{fill:var(--{name})}}.badge.s-{name},.count.s-{name},.swatch.s-{name}"
    f"{{background:var(--{name})}}"
    for name in (*(status.value for status in Status), "flaky", "not_run")
)
