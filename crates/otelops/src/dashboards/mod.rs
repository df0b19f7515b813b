//! Grafana dashboards and Prometheus alert rules (to be written).
