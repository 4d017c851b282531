//! The autopilot end to end on the shared data, with a Pyth stub on loopback and compressed
//! time: sync → research → promote → hot swap verified by a signed request; a stop in the
//! middle; a restart that resumes; the deploy files.

mod common;
mod deploy;
mod pyth_stub;
mod service;
