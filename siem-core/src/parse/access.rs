//! Apache and nginx access and error logs.
