//! ArcSight Common Event Format (CEF).
