//! Integration tests of the `agents` crate: a real chat-completions server on 127.0.0.1
//! replaying scripted conversations, and the offline pipeline over an in-memory backend.

mod fake_backend;
mod llm_server;

mod agent_loop;
mod batch;
mod client;
mod compute_tools;
mod offline;
mod orchestrator;
mod planner_choice;
mod service_tools;
mod writers;
