"""KPI and workload reports over the case data (leads and ops)."""
