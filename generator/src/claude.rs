//! The claude-code agent's building blocks: the real Claude Code CLI, headless, in the task's
//! workspace. A task runs rounds: the first starts a session with the user's prompt; after each
//! round the gates run, and a failing gate resumes the same session with its output as the next
//! prompt, a bounded number of times.
//!
//! - [`invocation`]: the command line and environment of a round (pure);
//! - [`stream`]: the CLI's stream-json output read into events and a round's outcome (pure);
//! - [`decide`]: what comes after a round and after the gates: verify, repair, retry, deliver or
//!   fail with a reason (pure);
//! - [`run`]: one round as a process group whose output streams to the event log;
//! - [`session`]: the session saved to the artifact store and restored for a follow-up;
//! - [`agent`]: the loop that runs rounds and gates until a decision ends it.
//!
//! It must never pass the generator's own environment to the CLI beyond the model credentials,
//! nor let those credentials reach the event log or result.
pub(crate) mod agent;
pub(crate) mod decide;
pub(crate) mod invocation;
pub(crate) mod run;
pub(crate) mod session;
pub(crate) mod stream;
