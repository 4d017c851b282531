//! A closed standard output ends the program quietly, as it does `cat` or `ls`.
//!
//! Rust starts every program with SIGPIPE ignored, so writing to a pipe whose reader has gone
//! (`synth-city history | head -1`) returns an error, and `println!` panics on it. Commands that
//! only print get the Unix default back: the write ends the process by SIGPIPE, with no message.
//! Services (miner, bridge, worker, autopilot) keep it ignored: a peer that hangs up must be an
//! error they handle, never the end of the process.

/// Restores the default SIGPIPE action for this process (no-op off Unix).
pub fn die_quietly_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: called once from `main` before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE and `signal` touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
