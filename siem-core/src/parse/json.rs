//! JSON lines: ECS passthrough, Windows events (evtx_dump nested and winlogbeat-like flat shapes), Python and Django log records.
