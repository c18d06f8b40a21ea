//! key=value and logfmt lines (iptables, FortiGate-style devices).
