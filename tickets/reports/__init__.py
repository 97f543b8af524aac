"""Read-only reports for supervisors: SLA metrics, fraud signals on an appeal, CSV exports."""
