//! IBM QRadar Log Event Extended Format (LEEF 1.0 and 2.0).
