"""Reports: report.json, report.html and their charts."""
