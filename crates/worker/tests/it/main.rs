//! A coordinator and real workers on loopback (each worker in its own runtime, so that
//! "killing" one drops its listener and every connection at once).

mod callers;
mod dispatch;
mod promotion;
